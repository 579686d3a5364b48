package dev.evergreen.cli;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.serving.external.ExternalFormat;
import dev.evergreen.core.serving.external.ExternalModels;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Reads the model registry and registers models trained elsewhere. */
@Command(
    name = "models",
    mixinStandardHelpOptions = true,
    description =
        "List registered models, their versions, aliases and alias history; register model files"
            + " trained elsewhere.",
    subcommands = {
      ModelsCommand.ListModels.class,
      ModelsCommand.ShowModel.class,
      ModelsCommand.History.class,
      ModelsCommand.Register.class
    })
final class ModelsCommand {
  @Command(name = "list", mixinStandardHelpOptions = true, description = "List models.")
  static final class ListModels implements Callable<Integer> {
    @Mixin HomeOption home;

    @Override
    public Integer call() throws Exception {
      try (Evergreen evergreen = Home.openExisting(home.resolve(), new SimpleMeterRegistry())) {
        for (String model : evergreen.registry().models()) {
          System.out.println(
              model
                  + "  versions="
                  + evergreen.registry().versions(model).size()
                  + "  "
                  + aliases(evergreen.registry().aliases(model)));
        }
      }
      return 0;
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "Show the versions of a model with their metrics and aliases.")
  static final class ShowModel implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL")
    String model;

    @Mixin HomeOption home;

    @Override
    public Integer call() throws Exception {
      try (Evergreen evergreen = Home.openExisting(home.resolve(), new SimpleMeterRegistry())) {
        Map<String, Integer> aliases = evergreen.registry().aliases(model);
        var versions = evergreen.registry().versions(model);
        if (versions.isEmpty()) {
          throw EvergreenException.notFound(
              "model '" + model + "' is not registered; list models with `evergreen models list`");
        }
        System.out.println("model " + model + "  " + aliases(aliases));
        for (ModelVersion version : versions) {
          String tags =
              aliases.entrySet().stream()
                  .filter(e -> e.getValue() == version.version())
                  .map(Map.Entry::getKey)
                  .sorted()
                  .collect(Collectors.joining(","));
          System.out.printf(
              "  version %d  run %s  snapshot %s  %s%s%n",
              version.version(),
              version.runId() == null ? "-" : version.runId(),
              version.snapshotId() == null ? "-" : version.snapshotId().substring(0, 12),
              Formats.numbers(version.metrics()),
              tags.isEmpty() ? "" : "  [" + tags + "]");
        }
      }
      return 0;
    }
  }

  @Command(
      name = "history",
      mixinStandardHelpOptions = true,
      description = "Show every alias move of a model: who, when, why.")
  static final class History implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL")
    String model;

    @Mixin HomeOption home;

    @Override
    public Integer call() throws Exception {
      try (Evergreen evergreen = Home.openExisting(home.resolve(), new SimpleMeterRegistry())) {
        for (AliasMove move : evergreen.registry().aliasHistory(model)) {
          System.out.printf(
              "%s  %s  %s -> %s  by %s: %s%n",
              move.at(),
              move.alias(),
              move.fromVersion() == null ? "none" : move.fromVersion(),
              move.toVersion() == null ? "none" : move.toVersion(),
              move.actor(),
              move.reason());
        }
      }
      return 0;
    }
  }

  @Command(
      name = "register",
      mixinStandardHelpOptions = true,
      description = {
        "Register a model file trained elsewhere as a new version of MODEL. The file is loaded and"
            + " scored once before anything is stored, so a file that does not load or does not"
            + " match its signature is not registered.",
        "Deploy it afterwards with `POST /api/v1/models/MODEL/deploy` or by moving the champion"
            + " alias. Format of the signature and check files: docs/models.md."
      })
  static final class Register implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "Registered model name.")
    String model;

    @Parameters(index = "1", paramLabel = "FILE", description = "The model file.")
    Path file;

    @Option(
        names = "--format",
        required = true,
        paramLabel = "FORMAT",
        description = "Model file format: xgboost-json, xgboost-ubj or onnx.")
    String format;

    @Option(
        names = "--signature",
        required = true,
        paramLabel = "FILE",
        description = "JSON file declaring the input tensors and the served output.")
    Path signature;

    @Option(
        names = "--check",
        paramLabel = "FILE",
        description =
            "JSON file with input rows and the scores expected for them. Without it, the scores"
                + " of one all-zero row are recorded at registration and checked on every"
                + " deploy.")
    Path check;

    @Mixin HomeOption home;

    @Override
    public Integer call() throws Exception {
      ExternalFormat modelFormat = ExternalFormat.fromId(format);
      ExternalModels.Registration request =
          new ExternalModels.Registration(
              model,
              modelFormat,
              readInput(file, "model file"),
              file.getFileName().toString(),
              readInput(signature, "signature file"),
              signature.toString(),
              check == null ? null : readInput(check, "check file"),
              check == null ? null : check.toString());
      try (Evergreen evergreen = Home.open(home.resolve(), new SimpleMeterRegistry())) {
        ModelVersion version =
            new ExternalModels(
                    evergreen.artifacts(),
                    evergreen.registry(),
                    evergreen.clock(),
                    evergreen.settings().checkTolerance())
                .register(request, Main.actor());
        System.out.println(
            "registered "
                + version.model()
                + " version "
                + version.version()
                + " ("
                + modelFormat.id()
                + ", SHA-256 "
                + version.artifactSha256()
                + ")");
      }
      return 0;
    }

    private static byte[] readInput(Path path, String role) {
      try {
        return Files.readAllBytes(path);
      } catch (NoSuchFileException e) {
        throw EvergreenException.invalid(role + " " + path + " does not exist");
      } catch (IOException e) {
        throw EvergreenException.invalid("cannot read " + role + " " + path + ": " + e);
      }
    }
  }

  static String aliases(Map<String, Integer> aliases) {
    return aliases.entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .map(e -> e.getKey() + "=" + e.getValue())
        .collect(Collectors.joining(" "));
  }
}
