package dev.evergreen.store.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.core.tracking.Experiment;
import dev.evergreen.core.tracking.LifecycleStage;
import dev.evergreen.core.tracking.MetricPoint;
import dev.evergreen.core.tracking.TrackedRun;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteTrackingStoreTest {
  @TempDir Path dir;

  private SqliteMetadataStore metadata;
  private SqliteTrackingStore tracking;

  @BeforeEach
  void open() {
    metadata = SqliteMetadataStore.open(dir.resolve("evergreen.db"));
    tracking = new SqliteTrackingStore(metadata);
  }

  @AfterEach
  void close() {
    metadata.close();
  }

  @Test
  void defaultExperimentExistsAfterMigration() {
    Experiment experiment = tracking.findExperiment("0").orElseThrow();

    assertThat(experiment.name()).isEqualTo(Experiment.DEFAULT_NAME);
    assertThat(experiment.lifecycleStage()).isEqualTo(LifecycleStage.ACTIVE);
    assertThat(tracking.findExperimentByName("Default")).contains(experiment);
  }

  @Test
  void experimentNamesAreUnique() {
    Experiment first =
        tracking.insertExperiment("e", "", null, Map.of("k", "v"), Instant.ofEpochMilli(5));

    assertThat(first.id()).isEqualTo("1");
    assertThat(first.tags()).containsExactly(Map.entry("k", "v"));
    assertThatThrownBy(() -> tracking.insertExperiment("e", "", null, Map.of(), Instant.EPOCH))
        .isInstanceOfSatisfying(
            EvergreenException.class,
            e -> assertThat(e.kind()).isEqualTo(ErrorKind.ALREADY_EXISTS));
    Experiment second = tracking.insertExperiment("f", "", "pipe", Map.of(), Instant.EPOCH);
    assertThatThrownBy(() -> tracking.updateExperiment(second.withName("e", Instant.EPOCH)))
        .isInstanceOfSatisfying(
            EvergreenException.class,
            e -> assertThat(e.kind()).isEqualTo(ErrorKind.ALREADY_EXISTS));
    assertThat(tracking.findExperimentByPipeline("pipe")).contains(second);
    assertThat(tracking.listExperiments())
        .extracting(Experiment::name)
        .containsExactly("Default", "e", "f");
  }

  @Test
  void metricsKeepHistoryAndLatestPoint() {
    insertRun("a".repeat(32));
    tracking.logMetrics(
        "a".repeat(32),
        List.of(
            new MetricPoint("loss", 0.9, 100, 0),
            new MetricPoint("loss", Double.NaN, 50, 2),
            new MetricPoint("loss", 0.4, 200, 1),
            new MetricPoint("inf", Double.NEGATIVE_INFINITY, 1, 0)));

    List<MetricPoint> history = tracking.metricHistory("a".repeat(32), "loss");
    assertThat(history).extracting(MetricPoint::timestamp).containsExactly(100L, 50L, 200L);
    assertThat(history.get(1).value()).isNaN();
    TrackedRun run = tracking.findRun("a".repeat(32)).orElseThrow();
    assertThat(run.metric("loss")).as("the highest step wins over later timestamps").isNaN();
    assertThat(run.metric("inf")).isEqualTo(Double.NEGATIVE_INFINITY);
  }

  @Test
  void paramsCannotChangeValue() {
    insertRun("b".repeat(32));
    tracking.logParams("b".repeat(32), Map.of("lr", "0.1"));
    tracking.logParams("b".repeat(32), Map.of("lr", "0.1"));

    assertThatThrownBy(() -> tracking.logParams("b".repeat(32), Map.of("lr", "0.2")))
        .isInstanceOfSatisfying(
            EvergreenException.class,
            e -> {
              assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
              assertThat(e.getMessage()).contains("'lr'").contains("0.1").contains("0.2");
            });
    assertThat(tracking.findRun("b".repeat(32)).orElseThrow().params())
        .containsExactly(Map.entry("lr", "0.1"));
  }

  @Test
  void tagsReplaceAndDelete() {
    insertRun("c".repeat(32));
    tracking.setTags("c".repeat(32), Map.of("t", "1"));
    tracking.setTags("c".repeat(32), Map.of("t", "2"));

    assertThat(tracking.findRun("c".repeat(32)).orElseThrow().tags()).containsEntry("t", "2");
    assertThat(tracking.deleteTag("c".repeat(32), "t")).isTrue();
    assertThat(tracking.deleteTag("c".repeat(32), "t")).isFalse();
  }

  @Test
  void updateRunStoresStatusAndStage() {
    TrackedRun run = insertRun("d".repeat(32));
    TrackedRun finished =
        new TrackedRun(
            run.id(),
            run.experimentId(),
            "renamed",
            run.userId(),
            RunStatus.FINISHED,
            run.startTime(),
            Instant.ofEpochMilli(9_000),
            run.artifactUri(),
            LifecycleStage.DELETED,
            List.of(),
            Map.of(),
            Map.of(),
            false);

    tracking.updateRun(finished);

    TrackedRun stored = tracking.findRun(run.id()).orElseThrow();
    assertThat(stored.name()).isEqualTo("renamed");
    assertThat(stored.status()).isEqualTo(RunStatus.FINISHED);
    assertThat(stored.endTime()).isEqualTo(Instant.ofEpochMilli(9_000));
    assertThat(stored.lifecycleStage()).isEqualTo(LifecycleStage.DELETED);
    assertThat(tracking.listRuns(List.of("0")))
        .extracting(TrackedRun::id)
        .containsExactly(run.id());
    assertThat(tracking.listRuns(List.of("7", "not-a-number"))).isEmpty();
  }

  private TrackedRun insertRun(String id) {
    TrackedRun run =
        new TrackedRun(
            id,
            "0",
            "run",
            "user",
            RunStatus.RUNNING,
            Instant.ofEpochMilli(1_000),
            null,
            "",
            LifecycleStage.ACTIVE,
            List.of(),
            Map.of(),
            Map.of("mlflow.runName", "run"),
            false);
    tracking.insertRun(run);
    return run;
  }
}
