package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.core.Evergreen;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A challenger below a floor of the gate: without a champion nothing serves, which {@code evergreen
 * run} reports with its own outcome and exit code; with a champion, the champion is kept.
 */
class GateFloorExitCodeTest {
  private static final int EXIT_NO_CHAMPION = 6;

  @TempDir Path work;

  @Test
  void firstVersionBelowFloorHasNoChampion() throws Exception {
    Path home = work.resolve("home");
    Path strict = strictPipeline();
    Path batch = FlightBatches.month(work.resolve("batches"), 1, 5_000, null);

    int exit = ContinuousTrainingLoopTest.run(strict, batch, home);

    assertThat(exit).isEqualTo(EXIT_NO_CHAMPION);
    assertThat(RunOutcome.NO_CHAMPION.exitCode()).isEqualTo(EXIT_NO_CHAMPION);
    try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
      Run run = evergreen.store().listRuns("flights-delay", 1).get(0);
      assertThat(run.status()).isEqualTo(RunStatus.FINISHED);
      assertThat(run.outcome()).isEqualTo(RunOutcome.NO_CHAMPION);
      assertThat(run.reason()).startsWith("no version promoted");
      assertThat(run.reason()).contains("has no champion");
      assertThat(run.reason()).contains("floor auc >= 0.9900 failed");
      assertThat(run.reason()).doesNotContain("champion kept");
      assertThat(evergreen.registry().aliases("flights-delay"))
          .containsEntry(Aliases.CHALLENGER, 1)
          .doesNotContainKey(Aliases.CHAMPION);
    }
  }

  @Test
  void championKeptWhenLaterVersionBelowFloor() throws Exception {
    Path home = work.resolve("home");
    Path lenient = FlightBatches.pipeline(work.resolve("lenient"), 10);
    Path strict = strictPipeline();
    Path batch = FlightBatches.month(work.resolve("batches"), 1, 5_000, null);
    assertThat(ContinuousTrainingLoopTest.run(lenient, batch, home))
        .isEqualTo(RunOutcome.PROMOTED.exitCode());

    int exit = ContinuousTrainingLoopTest.run(strict, batch, home);

    assertThat(exit).isEqualTo(RunOutcome.CHAMPION_KEPT.exitCode());
    assertThat(exit).isEqualTo(4);
    try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
      Run run = evergreen.store().listRuns("flights-delay", 1).get(0);
      assertThat(run.outcome()).isEqualTo(RunOutcome.CHAMPION_KEPT);
      assertThat(run.reason()).contains("champion kept").contains("floor auc >= 0.9900 failed");
      assertThat(evergreen.registry().aliases("flights-delay"))
          .containsEntry(Aliases.CHAMPION, 1)
          .containsEntry(Aliases.CHALLENGER, 2);
    }
  }

  /** Writes the test pipeline with an AUC floor of 0.99, which no model of this data reaches. */
  private Path strictPipeline() throws Exception {
    Path file = FlightBatches.pipeline(work.resolve("strict"), 10);
    String yaml = Files.readString(file);
    assertThat(yaml).contains("auc: 0.55");
    Files.writeString(file, yaml.replace("auc: 0.55", "auc: 0.99"));
    return file;
  }
}
