package dev.evergreen.cli;

import dev.evergreen.api.run.Run;
import dev.evergreen.core.Evergreen;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

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
      "0:the challenger was promoted to champion",
      "1:the run failed",
      "2:invalid usage",
      "3:validation rejected the data",
      "4:the gate kept the champion"
    })
final class RunCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "PIPELINE", description = "Pipeline YAML file.")
  Path pipeline;

  @Option(
      names = "--data",
      required = true,
      paramLabel = "FILE",
      description = "CSV or Parquet file holding the batch.")
  Path data;

  @Mixin HomeOption home;

  @Override
  public Integer call() throws Exception {
    try (Evergreen evergreen = Home.open(home.resolve(), new SimpleMeterRegistry())) {
      Run run = evergreen.pipelines().run(pipeline, data, Main.actor());
      System.out.println(Formats.runSummary(run));
      return run.outcome().exitCode();
    }
  }
}
