package dev.evergreen.server.mlflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestPipelines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mlflow.api.proto.Service;
import org.mlflow.tracking.MlflowClient;
import org.mlflow.tracking.MlflowHttpException;

/** An Evergreen pipeline run is visible to the MLflow client, mapped from the run record. */
class MlflowPipelineRunTest {
  @TempDir Path dir;

  @Test
  void pipelineRunVisibleThroughClient() throws Exception {
    Path pipelineFile = dir.resolve("pipeline").resolve("flights.yaml");
    Files.createDirectories(pipelineFile.getParent());
    Files.writeString(
        pipelineFile,
        TestPipelines.flightsYaml("validation:\n  inferRules: true\n")
            .replace("landing: landing", "landing: landing\n  stableSeconds: 0"));
    Path data = TestDuckDb.flightsMonth(dir.resolve("month-1.parquet"), 1, 3_000);

    try (MlflowServer server = new MlflowServer(dir.resolve("home"));
        MlflowClient client = server.client()) {
      Run run = server.evergreen.pipelines().run(pipelineFile, data, "tester");
      assertThat(run.status()).isEqualTo(RunStatus.FINISHED);

      Optional<Service.Experiment> experiment = client.getExperimentByName(run.pipeline());
      assertThat(experiment).isPresent();
      Service.Run mapped = client.getRun(run.id());

      Service.RunInfo info = mapped.getInfo();
      assertThat(info.getRunId()).isEqualTo(run.id());
      assertThat(info.getExperimentId()).isEqualTo(experiment.get().getExperimentId());
      assertThat(info.getStatus()).isEqualTo(Service.RunStatus.FINISHED);
      assertThat(info.getStartTime()).isEqualTo(run.startedAt().toEpochMilli());
      assertThat(info.getEndTime()).isEqualTo(run.finishedAt().toEpochMilli());
      assertThat(info.getUserId()).isEqualTo("tester");

      Map<String, Double> metrics = new LinkedHashMap<>();
      mapped.getData().getMetricsList().forEach(m -> metrics.put(m.getKey(), m.getValue()));
      assertThat(metrics).isEqualTo(run.metrics());

      Map<String, String> tags = new LinkedHashMap<>();
      mapped.getData().getTagsList().forEach(t -> tags.put(t.getKey(), t.getValue()));
      assertThat(tags).containsEntry("evergreen.snapshot_id", run.snapshotId());
      assertThat(tags).containsEntry("evergreen.pipeline", run.pipeline());
      if (run.provenance().gitCommit() != null) {
        assertThat(tags).containsEntry("mlflow.source.git.commit", run.provenance().gitCommit());
      }

      Map<String, String> params = new LinkedHashMap<>();
      mapped.getData().getParamsList().forEach(p -> params.put(p.getKey(), p.getValue()));
      assertThat(params)
          .containsEntry("split_seed", run.provenance().seeds().get("split").toString())
          .containsEntry("trainer_seed", run.provenance().seeds().get("trainer").toString())
          .containsEntry("trainer.rounds", "5")
          .containsEntry("trainer.objective", "binary:logistic");

      List<Service.Run> found =
          client
              .searchRuns(
                  List.of(experiment.get().getExperimentId()),
                  "metrics.auc > 0 AND tags.`evergreen.snapshot_id` = '" + run.snapshotId() + "'",
                  Service.ViewType.ACTIVE_ONLY,
                  10)
              .getItems();
      assertThat(found).extracting(r -> r.getInfo().getRunId()).containsExactly(run.id());

      assertThatThrownBy(() -> client.logMetric(run.id(), "auc", 0.1))
          .isInstanceOfSatisfying(
              MlflowHttpException.class, e -> assertThat(e.getStatusCode()).isEqualTo(400));
    }
  }
}
