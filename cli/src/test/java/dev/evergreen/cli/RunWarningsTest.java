package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code evergreen run} prints for an accepted batch that raised validation warnings. */
class RunWarningsTest {
  @TempDir Path work;

  private record Output(int exitCode, String out) {}

  private static Output run(Path pipeline, Path data, Path home) {
    StringWriter out = new StringWriter();
    picocli.CommandLine line = Main.commandLine();
    line.setOut(new PrintWriter(out, true));
    int exit =
        line.execute("run", pipeline.toString(), "--data", data.toString(), "--home", "" + home);
    return new Output(exit, out.toString());
  }

  @Test
  void acceptedBatchPrintsItsWarnings() throws Exception {
    Path home = work.resolve("home");
    Path pipeline = FlightBatches.pipeline(work.resolve("pipeline"), 10);
    Path january = FlightBatches.month(work.resolve("batches"), 1, 4_000, null);
    // The same flights with four times the distance: accepted, but drifted past the warning PSI.
    Path drifted = FlightBatches.month(work.resolve("batches"), 1, 4_000, "distance * 4");
    Output first = run(pipeline, january, home);

    Output second = run(pipeline, drifted, home);

    assertThat(first.out()).doesNotContain("warnings:");
    assertThat(second.exitCode()).isNotEqualTo(1).isNotEqualTo(3);
    assertThat(second.out()).contains("  warnings: ");
    assertThat(second.out()).contains("distance");
  }
}
