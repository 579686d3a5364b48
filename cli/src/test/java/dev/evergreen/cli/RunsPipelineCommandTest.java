package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code evergreen runs pipeline}: the pipeline file a run trained with, after the file changed.
 */
class RunsPipelineCommandTest {
  @TempDir Path work;

  private static String execute(String... args) {
    StringWriter out = new StringWriter();
    picocli.CommandLine line = Main.commandLine();
    line.setOut(new PrintWriter(out, true));
    int exit = line.execute(args);
    assertThat(exit).as(String.join(" ", args)).isZero();
    return out.toString();
  }

  @Test
  void printsPipelineAsTheRunUsedIt() throws Exception {
    Path home = work.resolve("home");
    Path pipeline = FlightBatches.pipeline(work.resolve("pipeline"), 10);
    String original = Files.readString(pipeline);
    Path january = FlightBatches.month(work.resolve("batches"), 1, 4_000, null);
    String summary =
        execute("run", pipeline.toString(), "--data", january.toString(), "--home", "" + home);
    Matcher runId = Pattern.compile("^run ([0-9a-f]+) of pipeline").matcher(summary);
    assertThat(runId.find()).as(summary).isTrue();

    Files.writeString(pipeline, original.replace("rounds: 10", "rounds: 99"));
    String printed = execute("runs", "pipeline", runId.group(1), "--home", "" + home);

    assertThat(original).contains("rounds: 10");
    assertThat(printed).isEqualTo(original);
  }
}
