package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.run.Run;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.pipeline.LandingWatcher;
import dev.evergreen.core.pipeline.RegisteredPipeline;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two batches landed under the same name, on a real SQLite home: the landing folder's {@code
 * processed/} keeps both files, and each run's source names the file its batch was moved to.
 */
class LandingProcessedTest {
  @TempDir Path work;

  @Test
  void sameNameLandedTwiceKeepsBothFiles() throws Exception {
    Path home = work.resolve("home");
    Path pipelineFile = FlightBatches.pipeline(work.resolve("pipeline"), 10);
    Path january = FlightBatches.month(work.resolve("batches"), 1, 5_000, null);
    Path february = FlightBatches.month(work.resolve("batches"), 2, 5_000, null);
    String firstId;
    String secondId;
    Path processed;
    try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry());
        LandingWatcher watcher =
            new LandingWatcher(evergreen.pipelines(), evergreen.clock(), "watcher")) {
      RegisteredPipeline pipeline = evergreen.pipelines().register(pipelineFile);
      Path landing = Files.createDirectories(pipeline.landingFolder());
      processed = landing.resolve(LandingWatcher.PROCESSED);
      watcher.start(Duration.ofMillis(50));

      firstId = land(evergreen, january, landing, processed.resolve("batch.parquet"));
      secondId = land(evergreen, february, landing, processed.resolve("batch-1.parquet"));
    }

    assertThat(Files.mismatch(processed.resolve("batch.parquet"), january)).isEqualTo(-1L);
    assertThat(Files.mismatch(processed.resolve("batch-1.parquet"), february)).isEqualTo(-1L);
    try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
      Run first = evergreen.store().findRun(firstId).orElseThrow();
      Run second = evergreen.store().findRun(secondId).orElseThrow();
      assertThat(first.source())
          .isEqualTo(processed.resolve("batch.parquet").toAbsolutePath().toString());
      assertThat(second.source())
          .isEqualTo(processed.resolve("batch-1.parquet").toAbsolutePath().toString());
      assertThat(first.snapshotId()).isNotEqualTo(second.snapshotId());
    }
    String showOutput = runsShow(secondId, home);
    assertThat(showOutput)
        .contains("source:   " + processed.resolve("batch-1.parquet").toAbsolutePath());
  }

  /**
   * Renames a batch into the landing folder as {@code batch.parquet} and waits until the watcher
   * has moved it to {@code expected} and recorded that path as the run's source. Returns the run
   * id.
   */
  private static String land(Evergreen evergreen, Path batch, Path landing, Path expected)
      throws Exception {
    Path part = landing.resolve("batch.parquet.part");
    Files.copy(batch, part);
    Files.move(part, landing.resolve("batch.parquet"));
    String source = expected.toAbsolutePath().toString();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline) {
      Optional<Run> run =
          evergreen.store().listRuns(null, 10).stream()
              .filter(r -> r.source().equals(source) && r.status().isTerminal())
              .findFirst();
      if (run.isPresent()) {
        assertThat(expected).exists();
        assertThat(landing.resolve("batch.parquet")).doesNotExist();
        return run.get().id();
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no finished run with source " + source + " within 120 s");
  }

  private static String runsShow(String runId, Path home) {
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      assertThat(Main.execute("runs", "show", runId, "--home", home.toString())).isZero();
      return captured.toString(StandardCharsets.UTF_8);
    } finally {
      System.setOut(original);
    }
  }
}
