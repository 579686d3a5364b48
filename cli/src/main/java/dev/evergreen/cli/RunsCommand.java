package dev.evergreen.cli;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.PipelineSpecs;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.validation.Anomaly;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.pipeline.RecordedPipelines;
import dev.evergreen.core.validation.HtmlReport;
import dev.evergreen.core.validation.StoredRunReport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Reads pipeline runs. */
@Command(
    name = "runs",
    mixinStandardHelpOptions = true,
    description = {
      "List pipeline runs, show one with its validation report, or write that report as HTML.",
      "The list, show and report subcommands first mark runs whose process on this host has"
          + " stopped, such as a killed `evergreen run`, as FAILED, as a starting server does."
    },
    subcommands = {
      RunsCommand.ListRuns.class,
      RunsCommand.ShowRun.class,
      RunsCommand.PipelineOfRun.class,
      RunsCommand.ReportRun.class
    })
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
      try (Evergreen evergreen = Home.openExisting(home.resolve(), new SimpleMeterRegistry())) {
        evergreen.pipelines().failInterruptedRuns(Main.actor());
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
      try (Evergreen evergreen = Home.openExisting(home.resolve(), new SimpleMeterRegistry())) {
        evergreen.pipelines().failInterruptedRuns(Main.actor());
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

  @Command(
      name = "pipeline",
      mixinStandardHelpOptions = true,
      description =
          "Print the pipeline file that a run trained with, as the store keeps it, even after the"
              + " file changed.")
  static final class PipelineOfRun implements Callable<Integer> {
    @Parameters(paramLabel = "RUN_ID")
    String id;

    @Mixin HomeOption home;

    @Spec CommandSpec command;

    @Override
    public Integer call() throws Exception {
      try (Evergreen evergreen = Home.openExisting(home.resolve(), new SimpleMeterRegistry())) {
        Run run =
            evergreen
                .store()
                .findRun(id)
                .orElseThrow(
                    () ->
                        EvergreenException.notFound(
                            "run '" + id + "' not found; list runs with `evergreen runs list`"));
        PrintWriter out = command.commandLine().getOut();
        out.print(
            new String(
                RecordedPipelines.require(evergreen.artifacts(), run), StandardCharsets.UTF_8));
        out.flush();
      }
      return 0;
    }
  }

  @Command(
      name = "report",
      mixinStandardHelpOptions = true,
      description =
          "Write the validation report of a stored run as one self-contained HTML file: the"
              + " verdict, the failed constraints with example rows, the drift and a chart of each"
              + " feature in the reference and the run's batch.")
  static final class ReportRun implements Callable<Integer> {
    @Parameters(paramLabel = "RUN_ID")
    String id;

    @Option(names = "--html", paramLabel = "FILE", required = true, description = "File to write.")
    Path html;

    @Option(
        names = "--pipeline",
        paramLabel = "FILE",
        description =
            "Pipeline file whose features are charted; without it, the file recorded in the run's"
                + " provenance if it still exists, else every column of the batch.")
    Path pipeline;

    @Mixin HomeOption home;

    @Override
    public Integer call() throws Exception {
      try (Evergreen evergreen = Home.openExisting(home.resolve(), new SimpleMeterRegistry())) {
        evergreen.pipelines().failInterruptedRuns(Main.actor());
        PipelineSpec spec = pipelineOf(evergreen);
        HtmlReport report =
            StoredRunReport.of(
                evergreen.store(),
                evergreen.artifacts(),
                evergreen.snapshots(),
                evergreen.settings().threads(),
                id,
                spec);
        Files.writeString(html, report.render(), StandardCharsets.UTF_8);
        System.out.println("wrote the report of run " + id + " to " + html);
      }
      return 0;
    }

    private PipelineSpec pipelineOf(Evergreen evergreen) {
      if (pipeline != null) {
        return PipelineSpecs.load(pipeline);
      }
      return evergreen
          .store()
          .findRun(id)
          .map(Run::provenance)
          .map(p -> p.pipelinePath() == null ? null : Path.of(p.pipelinePath()))
          .filter(Files::isRegularFile)
          .map(PipelineSpecs::load)
          .orElse(null);
    }
  }
}
