package dev.evergreen.server.mlflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.registry.ModelRegistry;
import dev.evergreen.core.store.DeploymentEvent;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestPipelines;
import java.net.http.HttpResponse;
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

      List<Service.DatasetInput> inputs = mapped.getInputs().getDatasetInputsList();
      assertThat(inputs).hasSize(1);
      Service.Dataset dataset = inputs.get(0).getDataset();
      assertThat(dataset.getName()).isEqualTo("month-1.parquet");
      assertThat(dataset.getDigest()).isEqualTo(run.snapshotId().substring(0, 12));
      assertThat(dataset.getSourceType()).isEqualTo("local");
      assertThat(dataset.getSource()).contains(data.toUri().toString());
      assertThat(dataset.getSchema()).contains("\"name\":\"distance\"");
      assertThat(dataset.getProfile()).isEqualTo("{\"num_rows\":3000}");
      assertThat(inputs.get(0).getTagsList())
          .anySatisfy(
              tag -> {
                assertThat(tag.getKey()).isEqualTo("mlflow.data.context");
                assertThat(tag.getValue()).isEqualTo("training");
              });

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

  @Test
  void runKeepsItsPipelineAfterFileEdit() throws Exception {
    Path pipelineFile = dir.resolve("pipeline").resolve("flights.yaml");
    Files.createDirectories(pipelineFile.getParent());
    String original = TestPipelines.flightsYaml("");
    Files.writeString(pipelineFile, original);
    Path data = TestDuckDb.flightsMonth(dir.resolve("month-1.parquet"), 1, 3_000);

    try (MlflowServer server = new MlflowServer(dir.resolve("home"));
        MlflowClient client = server.client()) {
      Run run = server.evergreen.pipelines().run(pipelineFile, data, "tester");
      Files.writeString(pipelineFile, original.replace("rounds: 5", "rounds: 50"));

      Map<String, String> params = new LinkedHashMap<>();
      client
          .getRun(run.id())
          .getData()
          .getParamsList()
          .forEach(p -> params.put(p.getKey(), p.getValue()));
      HttpResponse<String> stored =
          server.send("GET", "/api/v1/runs/" + run.id() + "/pipeline", server.viewerSecret, null);

      assertThat(original).contains("rounds: 5");
      assertThat(params).containsEntry("trainer.rounds", "5");
      assertThat(stored.statusCode()).isEqualTo(200);
      assertThat(stored.headers().firstValue("content-type")).hasValue("application/yaml");
      assertThat(stored.body()).isEqualTo(original);
    }
  }

  @Test
  void championAliasThroughMlflowDeploys() throws Exception {
    Path pipelineFile = dir.resolve("pipeline").resolve("flights.yaml");
    Files.createDirectories(pipelineFile.getParent());
    Files.writeString(
        pipelineFile,
        TestPipelines.flightsYaml("validation:\n  inferRules: true\n")
            .replace("landing: landing", "landing: landing\n  stableSeconds: 0"));
    Path january = TestDuckDb.flightsMonth(dir.resolve("month-1.parquet"), 1, 3_000);
    Path february = TestDuckDb.flightsMonth(dir.resolve("month-2.parquet"), 2, 3_000);

    try (MlflowServer server = new MlflowServer(dir.resolve("home"));
        MlflowClient client = server.client()) {
      ModelRegistry registry = server.evergreen.registry();
      Run first = server.evergreen.pipelines().run(pipelineFile, january, "tester");
      Run second = server.evergreen.pipelines().run(pipelineFile, february, "tester");
      assertThat(first.status()).isEqualTo(RunStatus.FINISHED);
      assertThat(second.status()).isEqualTo(RunStatus.FINISHED);
      String model = registry.models().get(0);
      assertThat(registry.versions(model)).hasSize(2);
      int champion = registry.aliases(model).get(Aliases.CHAMPION);
      int other = champion == 1 ? 2 : 1;
      int movesBefore = registry.aliasHistory(model).size();

      client.sendPost(
          "registered-models/alias",
          "{\"name\": \"" + model + "\", \"alias\": \"champion\", \"version\": \"" + other + "\"}");

      assertThat(registry.aliases(model)).containsEntry(Aliases.CHAMPION, other);
      assertThat(server.evergreen.deployments().serving(model)).isPresent();
      assertThat(server.evergreen.deployments().serving(model).get().active().version())
          .isEqualTo(other);
      List<AliasMove> moves = registry.aliasHistory(model);
      assertThat(moves).hasSize(movesBefore + 1);
      AliasMove move = moves.get(moves.size() - 1);
      assertThat(move.alias()).isEqualTo(Aliases.CHAMPION);
      assertThat(move.fromVersion()).isEqualTo(champion);
      assertThat(move.toVersion()).isEqualTo(other);
      assertThat(move.actor()).isEqualTo("mlflow-operator");
      List<DeploymentEvent> events = server.evergreen.store().listDeploymentEvents(model);
      DeploymentEvent event = events.get(events.size() - 1);
      assertThat(event.kind()).isEqualTo("switch");
      assertThat(event.version()).isEqualTo(other);
      assertThat(event.previousVersion()).isEqualTo(champion);
      assertThat(event.actor()).isEqualTo("mlflow-operator");
      List<AuditEntry> switched =
          server.evergreen.store().listAuditEntries(0, 100_000).stream()
              .filter(entry -> entry.action().equals(AuditActions.DEPLOYMENT_SWITCHED))
              .filter(entry -> entry.actor().equals("mlflow-operator"))
              .toList();
      assertThat(switched).hasSize(1);
      assertThat(switched.get(0).targets()).containsEntry("version", Integer.toString(other));

      HttpResponse<String> deleteAlias =
          server.send(
              "DELETE",
              "/api/2.0/mlflow/registered-models/alias",
              server.operatorSecret,
              "{\"name\": \"" + model + "\", \"alias\": \"champion\"}");
      assertThat(deleteAlias.statusCode()).isEqualTo(400);
      assertThat(MlflowServer.json(deleteAlias).get("error_code").asText())
          .isEqualTo("INVALID_PARAMETER_VALUE");
      HttpResponse<String> deleteVersion =
          server.send(
              "DELETE",
              "/api/2.0/mlflow/model-versions/delete",
              server.operatorSecret,
              "{\"name\": \"" + model + "\", \"version\": \"" + other + "\"}");
      assertThat(deleteVersion.statusCode()).isEqualTo(400);
      assertThat(MlflowServer.json(deleteVersion).get("error_code").asText())
          .isEqualTo("INVALID_PARAMETER_VALUE");
      assertThat(MlflowServer.json(deleteVersion).get("message").asText()).contains("'champion'");
      HttpResponse<String> rename =
          server.send(
              "POST",
              "/api/2.0/mlflow/registered-models/rename",
              server.operatorSecret,
              "{\"name\": \"" + model + "\", \"new_name\": \"renamed\"}");
      assertThat(rename.statusCode()).isEqualTo(400);
      assertThat(registry.aliases(model)).containsEntry(Aliases.CHAMPION, other);

      client.sendPost(
          "model-versions/create", "{\"name\": \"" + model + "\", \"source\": \"s3://x\"}");
      assertThatThrownBy(
              () ->
                  client.sendPost(
                      "registered-models/alias",
                      "{\"name\": \"" + model + "\", \"alias\": \"champion\", \"version\": \"3\"}"))
          .isInstanceOfSatisfying(
              MlflowHttpException.class,
              e -> {
                assertThat(e.getStatusCode()).isEqualTo(400);
                assertThat(e.getBodyMessage()).contains("INVALID_PARAMETER_VALUE");
              });
      assertThat(server.evergreen.deployments().serving(model).get().active().version())
          .isEqualTo(other);
    }
  }
}
