package dev.evergreen.cli;

import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.Evergreen;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** Reads the model registry. */
@Command(
    name = "models",
    mixinStandardHelpOptions = true,
    description = "List registered models, their versions, aliases and alias history.",
    subcommands = {
      ModelsCommand.ListModels.class,
      ModelsCommand.ShowModel.class,
      ModelsCommand.History.class
    })
final class ModelsCommand {
  @Command(name = "list", mixinStandardHelpOptions = true, description = "List models.")
  static final class ListModels implements Callable<Integer> {
    @Mixin HomeOption home;

    @Override
    public Integer call() throws Exception {
      try (Evergreen evergreen = Home.open(home.resolve(), new SimpleMeterRegistry())) {
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
      try (Evergreen evergreen = Home.open(home.resolve(), new SimpleMeterRegistry())) {
        Map<String, Integer> aliases = evergreen.registry().aliases(model);
        var versions = evergreen.registry().versions(model);
        if (versions.isEmpty()) {
          throw dev.evergreen.api.EvergreenException.notFound(
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
              version.runId(),
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
      try (Evergreen evergreen = Home.open(home.resolve(), new SimpleMeterRegistry())) {
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

  static String aliases(Map<String, Integer> aliases) {
    return aliases.entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .map(e -> e.getKey() + "=" + e.getValue())
        .collect(Collectors.joining(" "));
  }
}
