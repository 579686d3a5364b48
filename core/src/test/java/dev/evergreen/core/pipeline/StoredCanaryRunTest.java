package dev.evergreen.core.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.pipeline.CanarySpec;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.store.TrafficSettings;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestEvergreens;
import dev.evergreen.core.testing.TestPipelines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A blue-green run while the store contains a canary of the model: the run fails before the
 * champion alias moves, whether its process serves the model or not.
 */
class StoredCanaryRunTest {
  private static final String MODEL = "flights-delay";

  @TempDir Path work;

  private Evergreen evergreen;
  private Path pipelineFile;

  @BeforeEach
  void open() throws Exception {
    evergreen = TestEvergreens.open(work);
    pipelineFile = work.resolve("pipeline").resolve("flights.yaml");
    Files.createDirectories(pipelineFile.getParent());
    // A negative margin makes the gate promote every challenger, so each run reaches the deploy.
    Files.writeString(
        pipelineFile,
        TestPipelines.flightsYaml("")
            .replace("  metric: auc\n", "  metric: auc\n  minImprovement: -1\n"));
  }

  @AfterEach
  void close() {
    evergreen.close();
  }

  @Test
  void runOutsideServerKeepsChampionWhileCanaryStored() {
    evergreen.deployments().serveNoTraffic();
    promote(1, 1);
    promote(2, 2);
    // The canary that a server runs is in the store, where this process reads it.
    evergreen.deployments().requestCanary(MODEL, 1, CanarySpec.DEFAULT, 2, "tester");

    Run run = evergreen.pipelines().run(pipelineFile, month(3), "tester");

    assertThat(run.status()).isEqualTo(RunStatus.FAILED);
    assertThat(run.outcome()).isEqualTo(RunOutcome.FAILED);
    assertThat(run.reason())
        .contains("version 1 of model 'flights-delay' runs or is stored as a canary")
        .contains("version 3, registered as the challenger, was not deployed")
        .contains("champion stays version 2")
        .contains("promote or abort the canary")
        .contains("deploy version 3");
    assertThat(evergreen.registry().aliases(MODEL))
        .containsEntry(Aliases.CHAMPION, 2)
        .containsEntry(Aliases.CHALLENGER, 3);
    assertThat(evergreen.registry().version(MODEL, 3)).isPresent();
    TrafficSettings stored = evergreen.store().trafficSettings(MODEL).orElseThrow();
    assertThat(stored.canary().version()).isEqualTo(1);
  }

  @Test
  void runInServerLeavesChampionAliasUnmoved() {
    promote(1, 1);
    promote(2, 2);
    evergreen.deployments().startCanary(MODEL, 1, CanarySpec.DEFAULT, "tester");
    int movesBefore = championMoves().size();

    Run run = evergreen.pipelines().run(pipelineFile, month(3), "tester");

    assertThat(championMoves()).hasSize(movesBefore);
    assertThat(run.outcome()).isEqualTo(RunOutcome.FAILED);
    assertThat(run.reason()).contains("version 1 of model 'flights-delay' runs or is stored");
    assertThat(evergreen.registry().aliases(MODEL)).containsEntry(Aliases.CHAMPION, 2);
    assertThat(evergreen.deployments().serving(MODEL).orElseThrow().active().version())
        .isEqualTo(2);
    assertThat(evergreen.deployments().serving(MODEL).orElseThrow().canary().model().version())
        .isEqualTo(1);
  }

  private void promote(int month, int expectedVersion) {
    Run run = evergreen.pipelines().run(pipelineFile, month(month), "tester");
    assertThat(run.outcome()).as(run.reason()).isEqualTo(RunOutcome.PROMOTED);
    assertThat(evergreen.registry().aliases(MODEL))
        .containsEntry(Aliases.CHAMPION, expectedVersion);
  }

  private List<AliasMove> championMoves() {
    return evergreen.registry().aliasHistory(MODEL).stream()
        .filter(move -> move.alias().equals(Aliases.CHAMPION))
        .toList();
  }

  private Path month(int month) {
    Path file = work.resolve("month-" + month + ".parquet");
    if (!Files.exists(file)) {
      TestDuckDb.flightsMonth(file, month, 4_000);
    }
    return file;
  }
}
