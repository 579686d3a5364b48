package dev.evergreen.core.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestEvergreens;
import dev.evergreen.core.testing.TestPipelines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A blue-green run whose champion moves after its gate compared with it, as when another process
 * promotes its own version between this run's evaluation and its deploy.
 */
class ChampionMovedRunTest {
  private static final String MODEL = "flights-delay";

  @TempDir Path work;

  private InMemoryMetadataStore store;
  private Evergreen evergreen;
  private Path pipelineFile;

  @BeforeEach
  void open() throws Exception {
    store = new InMemoryMetadataStore();
    evergreen = TestEvergreens.open(store, work, Clock.systemUTC());
    evergreen.deployments().serveNoTraffic();
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
  void runKeepsChampionThatMovedAfterItsGate() {
    assertThat(run(1).outcome()).isEqualTo(RunOutcome.PROMOTED);
    assertThat(run(2).outcome()).isEqualTo(RunOutcome.PROMOTED);
    // Registering version 3 comes after the third run's gate and before its deploy.
    store.afterModelVersionInsert(
        version -> {
          if (version.version() == 3) {
            evergreen
                .registry()
                .moveAlias(MODEL, Aliases.CHAMPION, 1, "other-run", "promoted elsewhere");
          }
        });

    Run third = run(3);

    assertThat(third.status()).isEqualTo(RunStatus.FINISHED);
    assertThat(third.outcome()).isEqualTo(RunOutcome.CHAMPION_KEPT);
    assertThat(third.reason())
        .startsWith(
            "version 3 registered as challenger; it passed the gate against version 2, but the"
                + " champion moved while this run trained: alias 'champion' of model"
                + " 'flights-delay' points at version 1, no longer at version 2 (moved by"
                + " other-run: promoted elsewhere); run the pipeline again to compare it with the"
                + " new champion");
    assertThat(evergreen.registry().aliases(MODEL))
        .containsEntry(Aliases.CHAMPION, 1)
        .containsEntry(Aliases.CHALLENGER, 3);
  }

  private Run run(int month) {
    Path file = work.resolve("month-" + month + ".parquet");
    if (!Files.exists(file)) {
      TestDuckDb.flightsMonth(file, month, 4_000);
    }
    return evergreen.pipelines().run(pipelineFile, file, "tester");
  }
}
