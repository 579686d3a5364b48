package dev.evergreen.cli;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.validation.Anomaly;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.core.Evergreen;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Reads pipeline runs. */
@Command(
    name = "runs",
    mixinStandardHelpOptions = true,
    description = "List pipeline runs or show one with its validation report.",
    subcommands = {RunsCommand.ListRuns.class, RunsCommand.ShowRun.class})
final class RunsCommand {
  @Command(name = "list", mixinStandardHelpOptions = true, description = "List runs, newest first.")
  static final class ListRuns implements Callable<Integer> {
    @Mixin HomeOption home;

    @Option(names = "--pipeline", description = "Only runs of this pipeline.")
    String pipeline;

    @Option(
        names = "--limit",
        defaultValue = "20",
        description = "Maximum runs (default: ${DEFAULT-VALUE}).")
    int limit;

    @Override
    public Integer call() throws Exception {
      try (Evergreen evergreen = Home.open(home.resolve(), new SimpleMeterRegistry())) {
        for (Run run : evergreen.store().listRuns(pipeline, limit)) {
          System.out.printf(
              "%s  %-16s %-9s %-14s %s%n",
              run.id(),
              run.pipeline(),
              run.status(),
              run.outcome() == null ? "-" : run.outcome(),
              run.startedAt());
        }
      }
      return 0;
    }
  }

  @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one run.")
  static final class ShowRun implements Callable<Integer> {
    @Parameters(paramLabel = "RUN_ID")
    String id;

    @Mixin HomeOption home;

    @Override
    public Integer call() throws Exception {
      try (Evergreen evergreen = Home.open(home.resolve(), new SimpleMeterRegistry())) {
        Run run =
            evergreen
                .store()
                .findRun(id)
                .orElseThrow(
                    () ->
                        EvergreenException.notFound(
                            "run '" + id + "' not found; list runs with `evergreen runs list`"));
        System.out.println(Formats.runSummary(run));
        ValidationReport report = evergreen.store().findValidationReport(id).orElse(null);
        if (report != null) {
          System.out.println("  validation: " + (report.accepted() ? "accepted" : "rejected"));
          for (Anomaly anomaly : report.anomalies()) {
            System.out.println("    " + anomaly.describe());
          }
          report
              .drift()
              .forEach(d -> System.out.printf("    psi %s = %.4f%n", d.feature(), d.psi()));
        }
      }
      return 0;
    }
  }
}
