package dev.evergreen.cli;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.PipelineSpecs;
import dev.evergreen.api.run.Run;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.pipeline.RegisteredPipeline;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Runs a pipeline once on one data file, for shells and CI jobs. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Run a pipeline on one data file: snapshot, validate, train, evaluate, register, deploy.",
      "A running server with the same --home notices a new champion within a second and"
          + " switches to it."
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:the challenger passed the gate: it is the new champion, or its canary or shadow"
          + " started or was stored for the server",
      "1:the run failed (a canary or shadow of the model already runs or is stored, for one),"
          + " or the data file or a setting such as the pseudonym key is missing",
      "2:invalid usage",
      "3:the data was rejected: validation failed, or the file cannot be read as the pipeline"
          + " declares it (malformed CSV, wrong encoding, a missing column)",
      "4:the gate kept the champion",
      "6:no version was promoted: the challenger failed the gate, such as a floor, and the model"
          + " has no champion, so none of its versions serves"
    })
final class RunCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "PIPELINE", description = "Pipeline YAML file.")
  Path pipeline;

  @Option(
      names = "--data",
      paramLabel = "FILE",
      description =
          "CSV or Parquet file holding the batch (default: source.file of the pipeline, resolved"
              + " against the pipeline file's folder).")
  Path data;

  @Mixin HomeOption home;

  @Spec CommandSpec command;

  @Override
  public Integer call() throws Exception {
    Path batch = data == null ? sourceFile() : data;
    if (!Files.isRegularFile(batch)) {
      throw EvergreenException.notFound(
          "data file "
              + batch.toAbsolutePath()
              + " does not exist or is not a file; pass an existing CSV or Parquet file with"
              + " --data");
    }
    try (Evergreen evergreen = Home.open(home.resolve(), new SimpleMeterRegistry())) {
      // This process exits after the run, so the server that serves the home deploys the version.
      evergreen.deployments().serveNoTraffic();
      // Without a server on the home, nothing else marks the runs of a killed `evergreen run`.
      evergreen.pipelines().failInterruptedRuns(Main.actor());
      Run run = evergreen.pipelines().run(pipeline, batch, Main.actor());
      PrintWriter out = command.commandLine().getOut();
      out.println(Formats.runSummary(run));
      // A CI log shows only this output, so an accepted batch's warnings belong in it.
      evergreen
          .store()
          .findValidationReport(run.id())
          .ifPresent(report -> out.print(Formats.warnings(report, run.id())));
      out.flush();
      return run.outcome().exitCode();
    }
  }

  /** Returns the pipeline's {@code source.file}, for pipelines that name their batch. */
  private Path sourceFile() {
    PipelineSpec spec = PipelineSpecs.load(pipeline);
    String file = spec.source() == null ? null : spec.source().file();
    if (file == null || file.isBlank()) {
      throw new ParameterException(
          command.commandLine(),
          "pipeline "
              + pipeline
              + " has no source.file, so --data FILE must name the batch to run on");
    }
    return new RegisteredPipeline(spec, pipeline.toAbsolutePath(), null).resolve(file);
  }
}
