package dev.evergreen.server.mlflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mlflow.api.proto.Service;
import org.mlflow.tracking.MlflowClient;
import org.mlflow.tracking.MlflowHttpException;

/**
 * {@code runs/log-inputs}. The MLflow Java client 2.17.2 has no method for it, so requests go
 * through its {@code sendPost}, and runs are read back with its parser of MLflow's run message.
 */
class MlflowInputsTest {
  @TempDir static Path dir;

  private static MlflowServer server;
  private static MlflowClient client;

  @BeforeAll
  static void start() {
    server = new MlflowServer(dir);
    client = server.client();
  }

  @AfterAll
  static void stop() {
    client.close();
    server.close();
  }

  @Test
  void logInputsShowsInGetRun() {
    String runId = client.createRun("0").getRunId();

    client.sendPost(
        "runs/log-inputs",
        "{\"run_id\": \""
            + runId
            + "\", \"datasets\": [{\"tags\": [{\"key\": \"mlflow.data.context\","
            + " \"value\": \"training\"}], \"dataset\": {\"name\": \"flights\","
            + " \"digest\": \"a1b2c3\", \"source_type\": \"local\","
            + " \"source\": \"{\\\"uri\\\": \\\"/data/flights.parquet\\\"}\","
            + " \"schema\": \"{\\\"mlflow_colspec\\\": []}\","
            + " \"profile\": \"{\\\"num_rows\\\": 10}\"}},"
            + " {\"dataset\": {\"name\": \"holdout\", \"digest\": \"d4e5\","
            + " \"source_type\": \"http\", \"source\": \"{}\"}}]}");

    List<Service.DatasetInput> inputs = client.getRun(runId).getInputs().getDatasetInputsList();
    assertThat(inputs).hasSize(2);
    Service.Dataset flights = inputs.get(0).getDataset();
    assertThat(flights.getName()).isEqualTo("flights");
    assertThat(flights.getDigest()).isEqualTo("a1b2c3");
    assertThat(flights.getSourceType()).isEqualTo("local");
    assertThat(flights.getSource()).isEqualTo("{\"uri\": \"/data/flights.parquet\"}");
    assertThat(flights.getSchema()).isEqualTo("{\"mlflow_colspec\": []}");
    assertThat(flights.getProfile()).isEqualTo("{\"num_rows\": 10}");
    assertThat(inputs.get(0).getTagsList())
        .extracting(Service.InputTag::getKey, Service.InputTag::getValue)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("mlflow.data.context", "training"));
    Service.Dataset holdout = inputs.get(1).getDataset();
    assertThat(holdout.getName()).isEqualTo("holdout");
    assertThat(holdout.hasSchema()).isFalse();
    assertThat(holdout.hasProfile()).isFalse();
    assertThat(inputs.get(1).getTagsList()).isEmpty();
  }

  @Test
  void logSameInputTwiceKeepsOne() {
    String runId = client.createRun("0").getRunId();
    String body =
        "{\"run_id\": \""
            + runId
            + "\", \"datasets\": [{\"tags\": [{\"key\": \"mlflow.data.context\", \"value\": \"%s\"}],"
            + " \"dataset\": {\"name\": \"d\", \"digest\": \"1\", \"source_type\": \"local\","
            + " \"source\": \"{}\"}}]}";

    client.sendPost("runs/log-inputs", body.formatted("training"));
    client.sendPost("runs/log-inputs", body.formatted("eval"));

    List<Service.DatasetInput> inputs = client.getRun(runId).getInputs().getDatasetInputsList();
    assertThat(inputs).hasSize(1);
    assertThat(inputs.get(0).getTags(0).getValue()).isEqualTo("training");
  }

  @Test
  void datasetSharedWithinExperiment() {
    String experimentId = client.createExperiment("inputs-shared");
    String first = client.createRun(experimentId).getRunId();
    String second = client.createRun(experimentId).getRunId();
    String body =
        "{\"run_id\": \"%s\", \"datasets\": [{\"dataset\": {\"name\": \"d\", \"digest\": \"1\","
            + " \"source_type\": \"local\", \"source\": \"%s\"}}]}";

    client.sendPost("runs/log-inputs", body.formatted(first, "first-source"));
    client.sendPost("runs/log-inputs", body.formatted(second, "second-source"));

    // As in MLflow, the first logging of a name and digest in an experiment fixes its fields.
    Service.Dataset dataset = client.getRun(second).getInputs().getDatasetInputs(0).getDataset();
    assertThat(dataset.getSource()).isEqualTo("first-source");
  }

  @Test
  void searchRunsReturnsInputs() {
    String experimentId = client.createExperiment("inputs-search");
    String runId = client.createRun(experimentId).getRunId();
    client.sendPost(
        "runs/log-inputs",
        "{\"run_id\": \""
            + runId
            + "\", \"datasets\": [{\"dataset\": {\"name\": \"s\", \"digest\": \"9\","
            + " \"source_type\": \"local\", \"source\": \"{}\"}}]}");

    List<Service.Run> runs =
        client.searchRuns(List.of(experimentId), "", Service.ViewType.ACTIVE_ONLY, 10).getItems();

    assertThat(runs).hasSize(1);
    assertThat(runs.get(0).getInputs().getDatasetInputs(0).getDataset().getName()).isEqualTo("s");
  }

  @Test
  void missingDatasetFieldRejected() {
    String runId = client.createRun("0").getRunId();

    assertThatThrownBy(
            () ->
                client.sendPost(
                    "runs/log-inputs",
                    "{\"run_id\": \""
                        + runId
                        + "\", \"datasets\": [{\"dataset\": {\"name\": \"d\", \"digest\": \"1\","
                        + " \"source_type\": \"local\"}}]}"))
        .isInstanceOfSatisfying(
            MlflowHttpException.class,
            e -> {
              assertThat(e.getStatusCode()).isEqualTo(400);
              assertThat(e.getBodyMessage()).contains("INVALID_PARAMETER_VALUE").contains("source");
            });
  }

  @Test
  void tooLongDigestRejected() {
    String runId = client.createRun("0").getRunId();

    assertThatThrownBy(
            () ->
                client.sendPost(
                    "runs/log-inputs",
                    "{\"run_id\": \""
                        + runId
                        + "\", \"datasets\": [{\"dataset\": {\"name\": \"d\", \"digest\": \""
                        + "0".repeat(37)
                        + "\", \"source_type\": \"local\", \"source\": \"{}\"}}]}"))
        .isInstanceOfSatisfying(
            MlflowHttpException.class,
            e -> {
              assertThat(e.getStatusCode()).isEqualTo(400);
              assertThat(e.getBodyMessage()).contains("dataset digest").contains("36");
            });
  }

  @Test
  void logInputsNeedsOperatorRole() throws Exception {
    String runId = client.createRun("0").getRunId();

    HttpResponse<String> response =
        server.send(
            "POST",
            "/api/2.0/mlflow/runs/log-inputs",
            server.viewerSecret,
            "{\"run_id\": \"" + runId + "\", \"datasets\": []}");

    assertThat(response.statusCode()).isEqualTo(403);
  }

  @Test
  void getRunOverHttpHasDatasetInputsField() throws Exception {
    String runId = client.createRun("0").getRunId();
    client.sendPost(
        "runs/log-inputs",
        "{\"run_id\": \""
            + runId
            + "\", \"datasets\": [{\"tags\": [{\"key\": \"k\", \"value\": \"v\"}],"
            + " \"dataset\": {\"name\": \"h\", \"digest\": \"7\", \"source_type\": \"local\","
            + " \"source\": \"{}\"}}]}");

    JsonNode run =
        MlflowServer.json(
                server.send(
                    "GET", "/api/2.0/mlflow/runs/get?run_id=" + runId, server.viewerSecret, null))
            .get("run");

    JsonNode input = run.get("inputs").get("dataset_inputs").get(0);
    assertThat(input.get("dataset").get("name").asText()).isEqualTo("h");
    Map<String, String> tags =
        java.util.stream.StreamSupport.stream(input.get("tags").spliterator(), false)
            .collect(Collectors.toMap(t -> t.get("key").asText(), t -> t.get("value").asText()));
    assertThat(tags).containsExactly(Map.entry("k", "v"));
  }
}
