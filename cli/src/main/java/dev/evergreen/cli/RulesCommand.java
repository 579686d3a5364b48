package dev.evergreen.cli;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.store.PipelineState;
import dev.evergreen.core.validation.InferredRules;
import dev.evergreen.core.validation.InferredRules.Entry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Lists, declares and resets the validation rules that a pipeline inferred from its data. */
@Command(
    name = "rules",
    mixinStandardHelpOptions = true,
    description = {
      "Show, declare or reset the validation rules a pipeline inferred from its first accepted"
          + " batch (validation.inferRules). See docs/validation.md."
    },
    subcommands = {
      RulesCommand.ListRules.class,
      RulesCommand.DeclareRules.class,
      RulesCommand.ResetRules.class
    })
final class RulesCommand {
  private RulesCommand() {}

  /** The pipeline argument and the options that every rules subcommand takes. */
  abstract static class PipelineArgument {
    @Parameters(
        paramLabel = "PIPELINE",
        description = "Pipeline name: the name field of the pipeline file.")
    String pipeline;

    @Mixin HomeOption home;

    @Spec CommandSpec command;
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description =
          "List the inferred rules of PIPELINE: column, rule, severity, value, and the snapshot"
              + " they were inferred from.")
  static final class ListRules extends PipelineArgument implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
      PrintWriter out = command.commandLine().getOut();
      try (Evergreen evergreen = Home.openExisting(home.resolve(), new SimpleMeterRegistry())) {
        Optional<PipelineState> state = findState(evergreen, pipeline);
        if (state.isEmpty()) {
          out.println(noStateYet(pipeline));
          return 0;
        }
        out.println(header(evergreen, pipeline, state.get()));
        List<Entry> entries = InferredRules.entries(state.get().inferredRules());
        if (entries.isEmpty()) {
          out.println(
              "no rules were inferred: validation.inferRules was false, or no column qualified");
          return 0;
        }
        print(entries, out);
        out.flush();
      }
      return 0;
    }

    private static void print(List<Entry> entries, PrintWriter out) {
      int columnWidth = "column".length();
      for (Entry entry : entries) {
        columnWidth = Math.max(columnWidth, entry.column().length());
      }
      String format = "%-" + columnWidth + "s  %-14s  %-8s  %s%n";
      out.printf(format, "column", "rule", "severity", "value");
      for (Entry entry : entries) {
        out.printf(format, entry.column(), entry.rule(), entry.severity().text(), entry.value());
      }
    }
  }

  @Command(
      name = "declare",
      mixinStandardHelpOptions = true,
      description =
          "Print the inferred rules of PIPELINE as a validation.rules section to copy into the"
              + " pipeline file. A declared rule replaces the inferred rule of the same column and"
              + " kind.")
  static final class DeclareRules extends PipelineArgument implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
      PrintWriter out = command.commandLine().getOut();
      try (Evergreen evergreen = Home.openExisting(home.resolve(), new SimpleMeterRegistry())) {
        Optional<PipelineState> state = findState(evergreen, pipeline);
        if (state.isEmpty()) {
          throw EvergreenException.notFound(noStateYet(pipeline));
        }
        out.print(InferredRules.declarationYaml(pipeline, state.get()));
        out.flush();
      }
      return 0;
    }
  }

  @Command(
      name = "reset",
      mixinStandardHelpOptions = true,
      description = {
        "Delete the inferred rules and the drift reference of PIPELINE. Its next accepted batch"
            + " becomes the reference, and rules are inferred from it again.",
        "The reset is recorded in the audit log. A running server applies it from its next run."
      })
  static final class ResetRules extends PipelineArgument implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
      PrintWriter out = command.commandLine().getOut();
      try (Evergreen evergreen = Home.openExisting(home.resolve(), new SimpleMeterRegistry())) {
        findState(evergreen, pipeline);
        Optional<PipelineState> deleted =
            InferredRules.reset(evergreen.store(), evergreen.audit(), pipeline, Main.actor());
        if (deleted.isEmpty()) {
          out.println(noStateYet(pipeline) + "; nothing to reset");
          return 0;
        }
        int rules = InferredRules.entries(deleted.get().inferredRules()).size();
        out.println(
            "reset pipeline '"
                + pipeline
                + "': deleted "
                + rules
                + (rules == 1 ? " rule" : " rules")
                + " inferred from snapshot "
                + deleted.get().referenceSnapshotId()
                + "; the next accepted batch becomes the reference and rules are inferred from it");
      }
      return 0;
    }
  }

  /**
   * Returns the pipeline's stored state, empty when no batch of it has been accepted yet.
   *
   * @throws EvergreenException NOT_FOUND when the data directory has no run of the pipeline
   */
  static Optional<PipelineState> findState(Evergreen evergreen, String pipeline) {
    Optional<PipelineState> state = evergreen.store().findPipelineState(pipeline);
    if (state.isEmpty() && evergreen.store().listRuns(pipeline, 1).isEmpty()) {
      throw EvergreenException.notFound(
          "pipeline '"
              + pipeline
              + "' has no runs in this data directory; pass the name field of the pipeline file"
              + " and the --home the pipeline runs in");
    }
    return state;
  }

  private static String noStateYet(String pipeline) {
    return "pipeline '"
        + pipeline
        + "' has no inferred rules yet: no batch has been accepted since it started or was reset";
  }

  private static String header(Evergreen evergreen, String pipeline, PipelineState state) {
    Optional<Snapshot> reference = evergreen.store().findSnapshot(state.referenceSnapshotId());
    return "pipeline '"
        + pipeline
        + "': rules inferred from snapshot "
        + state.referenceSnapshotId()
        + reference.map(s -> " (" + s.source() + ", " + s.createdAt() + ")").orElse("");
  }
}
