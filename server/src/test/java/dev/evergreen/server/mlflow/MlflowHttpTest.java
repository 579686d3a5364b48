package dev.evergreen.server.mlflow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.model.ModelVersion;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Raw HTTP requests for what the MLflow Java client does not send, and for error codes. */
class MlflowHttpTest {
  private static final String API = "/api/2.0/mlflow";

  @TempDir static Path dir;

  private static MlflowServer server;

  @BeforeAll
  static void start() {
    server = new MlflowServer(dir);
    for (int version = 1; version <= 2; version++) {
      server
          .evergreen
          .registry()
          .register(
              new ModelVersion(
                  "fraud",
                  0,
                  "models/fraud/" + version,
                  "ab".repeat(32),
                  null,
                  "snap" + version,
                  Map.of("auc", 0.8),
                  null,
                  Instant.ofEpochMilli(1_000L * version)),
              "test");
    }
    server.evergreen.registry().moveAlias("fraud", "staging", 2, "test", "for the test");
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void ajaxPrefixServesSameApi() throws Exception {
    HttpResponse<String> response =
        server.send(
            "GET",
            "/ajax-api/2.0/mlflow/experiments/get?experiment_id=0",
            server.viewerSecret,
            null);

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode experiment = MlflowServer.json(response).get("experiment");
    assertThat(experiment.get("experiment_id").asText()).isEqualTo("0");
    assertThat(experiment.get("name").asText()).isEqualTo("Default");
  }

  @Test
  void int64AsStringAndRunUuidAccepted() throws Exception {
    String runId = createRun("{\"experiment_id\": \"0\", \"start_time\": \"1700000000000\"}");

    HttpResponse<String> logged =
        post(
            "/runs/log-metric",
            "{\"run_uuid\": \""
                + runId
                + "\", \"key\": \"m\", \"value\": \"Infinity\", \"timestamp\": \"5\","
                + " \"step\": 2}");
    assertThat(logged.statusCode()).isEqualTo(200);

    JsonNode run = getRun(runId);
    assertThat(run.at("/info/start_time").asLong()).isEqualTo(1_700_000_000_000L);
    JsonNode metric = run.at("/data/metrics/0");
    assertThat(metric.get("key").asText()).isEqualTo("m");
    assertThat(metric.get("value").asText()).isEqualTo("Infinity");
    assertThat(metric.get("timestamp").asLong()).isEqualTo(5);
    assertThat(metric.get("step").asLong()).isEqualTo(2);
  }

  @Test
  void keysThatAreNotPathUniqueAreRejected() throws Exception {
    String runId = createRun("{}");
    String[][] cases = {
      {"/runs/log-metric", "\"key\": \"../bad\", \"value\": 1, \"timestamp\": 1"},
      {"/runs/log-parameter", "\"key\": \"bad/..//k\", \"value\": \"v\""},
      {"/runs/set-tag", "\"key\": \"/root\", \"value\": \"v\""},
      {"/runs/log-metric", "\"key\": \"a<b\", \"value\": 1, \"timestamp\": 1"}
    };
    for (String[] call : cases) {
      HttpResponse<String> response =
          post(call[0], "{\"run_id\": \"" + runId + "\", " + call[1] + "}");

      assertThat(response.statusCode()).as(call[1]).isEqualTo(400);
      assertThat(MlflowServer.json(response).get("error_code").asText())
          .isEqualTo("INVALID_PARAMETER_VALUE");
      assertThat(MlflowServer.json(response).get("message").asText()).contains("invalid");
    }
    HttpResponse<String> fine =
        post(
            "/runs/log-metric",
            "{\"run_id\": \""
                + runId
                + "\", \"key\": \"train/auc: fold 1\", \"value\": 1, \"timestamp\": 1}");
    assertThat(fine.statusCode()).as(fine.body()).isEqualTo(200);
    assertThat(getRun(runId).at("/data/metrics")).hasSize(1);
  }

  @Test
  void logBatchOverLimitsIsRejected() throws Exception {
    String runId = createRun("{}");
    for (String[] limit :
        new String[][] {{"metrics", "1001"}, {"params", "101"}, {"tags", "101"}}) {
      ObjectNode body = MlflowServer.JSON.createObjectNode();
      body.put("run_id", runId);
      ArrayNode items = body.putArray(limit[0]);
      for (int i = 0; i < Integer.parseInt(limit[1]); i++) {
        ObjectNode item = items.addObject();
        item.put("key", "k" + i);
        item.put("value", limit[0].equals("metrics") ? "1" : "v");
        item.put("timestamp", 1);
      }

      HttpResponse<String> response = post("/runs/log-batch", body.toString());

      assertThat(response.statusCode()).as(limit[0]).isEqualTo(400);
      assertThat(MlflowServer.json(response).get("error_code").asText())
          .isEqualTo("INVALID_PARAMETER_VALUE");
    }
    assertThat(getRun(runId).at("/data/metrics")).isEmpty();
  }

  @Test
  void missingRunReturnsResourceDoesNotExist() throws Exception {
    HttpResponse<String> response =
        server.send("GET", API + "/runs/get?run_id=" + "0".repeat(32), server.viewerSecret, null);

    assertThat(response.statusCode()).isEqualTo(404);
    JsonNode error = MlflowServer.json(response);
    assertThat(error.get("error_code").asText()).isEqualTo("RESOURCE_DOES_NOT_EXIST");
    assertThat(error.get("message").asText()).contains("0".repeat(32));
  }

  @Test
  void invalidFilterReturnsInvalidParameterValue() throws Exception {
    HttpResponse<String> response =
        post("/runs/search", "{\"experiment_ids\": [\"0\"], \"filter\": \"metrics.auc >> 1\"}");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(MlflowServer.json(response).get("error_code").asText())
        .isEqualTo("INVALID_PARAMETER_VALUE");
  }

  @Test
  void runsSearchRejectsOrderingOnText() throws Exception {
    String experimentId =
        MlflowServer.json(post("/experiments/create", "{\"name\": \"ordering-on-text\"}"))
            .get("experiment_id")
            .asText();
    String runId = createRun("{\"experiment_id\": \"" + experimentId + "\"}");
    assertThat(
            post(
                    "/runs/log-batch",
                    "{\"run_id\": \""
                        + runId
                        + "\", \"params\": [{\"key\": \"depth\", \"value\": \"6\"}],"
                        + " \"tags\": [{\"key\": \"team\", \"value\": \"t3\"}]}")
                .statusCode())
        .isEqualTo(200);
    String[][] cases = {
      {"params.depth > '3'", "param 'depth'", ">"},
      {"tags.team > 't2'", "tag 'team'", ">"},
      {"attributes.status > 'A'", "attribute 'status'", ">"},
      {"params.depth <= '9'", "param 'depth'", "<="},
      // ILIKE with a character outside ASCII is matched in memory, not in SQL.
      {"params.depth >= '3' AND attributes.run_name ILIKE 'é%'", "param 'depth'", ">="},
    };
    for (String[] c : cases) {
      ObjectNode body = MlflowServer.JSON.createObjectNode();
      body.putArray("experiment_ids").add(experimentId);
      body.put("filter", c[0]);

      HttpResponse<String> response = post("/runs/search", body.toString());

      assertThat(response.statusCode()).as(c[0]).isEqualTo(400);
      JsonNode error = MlflowServer.json(response);
      assertThat(error.get("error_code").asText()).as(c[0]).isEqualTo("INVALID_PARAMETER_VALUE");
      assertThat(error.get("message").asText())
          .as(c[0])
          .contains(c[1])
          .contains("'" + c[2] + "'")
          .contains("=, !=, LIKE, ILIKE, IN, NOT IN");
    }
    ObjectNode equal = MlflowServer.JSON.createObjectNode();
    equal.putArray("experiment_ids").add(experimentId);
    equal.put("filter", "params.depth = '6' AND tags.team LIKE 't%'");
    HttpResponse<String> matched = post("/runs/search", equal.toString());
    assertThat(matched.statusCode()).isEqualTo(200);
    assertThat(MlflowServer.json(matched).at("/runs/0/info/run_id").asText()).isEqualTo(runId);
  }

  @Test
  void runsSearchRejectsOrderingOnTextWithoutRuns() throws Exception {
    String experimentId =
        MlflowServer.json(post("/experiments/create", "{\"name\": \"no-runs\"}"))
            .get("experiment_id")
            .asText();
    ObjectNode body = MlflowServer.JSON.createObjectNode();
    body.putArray("experiment_ids").add(experimentId);
    body.put("filter", "params.depth > '3' AND attributes.run_name ILIKE 'é%'");

    HttpResponse<String> response = post("/runs/search", body.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(MlflowServer.json(response).get("error_code").asText())
        .isEqualTo("INVALID_PARAMETER_VALUE");
  }

  @Test
  void missingTokenIsUnauthenticated() throws Exception {
    HttpResponse<String> response =
        server.send("GET", API + "/experiments/get?experiment_id=0", null, null);

    assertThat(response.statusCode()).isEqualTo(401);
    assertThat(MlflowServer.json(response).get("error_code").asText()).isEqualTo("UNAUTHENTICATED");
    assertThat(MlflowServer.json(response).get("message").asText()).contains("bearer token");
  }

  @Test
  void viewerWriteIsPermissionDenied() throws Exception {
    HttpResponse<String> response =
        server.send(
            "POST", API + "/experiments/create", server.viewerSecret, "{\"name\": \"denied\"}");

    assertThat(response.statusCode()).isEqualTo(403);
    assertThat(MlflowServer.json(response).get("error_code").asText())
        .isEqualTo("PERMISSION_DENIED");
    assertThat(MlflowServer.json(response).get("message").asText()).contains("operator");
  }

  @Test
  void unknownEndpointIsEndpointNotFound() throws Exception {
    HttpResponse<String> response =
        server.send("GET", API + "/no-such-endpoint", server.viewerSecret, null);

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(MlflowServer.json(response).get("error_code").asText())
        .isEqualTo("ENDPOINT_NOT_FOUND");
  }

  @Test
  void registeredModelMapsVersionsAndAliases() throws Exception {
    HttpResponse<String> response =
        server.send("GET", API + "/registered-models/get?name=fraud", server.viewerSecret, null);

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode model = MlflowServer.json(response).get("registered_model");
    assertThat(model.get("name").asText()).isEqualTo("fraud");
    assertThat(model.get("creation_timestamp").asLong()).isEqualTo(1_000L);
    assertThat(model.get("last_updated_timestamp").asLong()).isEqualTo(2_000L);
    assertThat(model.at("/latest_versions/0/version").asText()).isEqualTo("2");
    assertThat(model.at("/aliases/0/alias").asText()).isEqualTo("staging");
    assertThat(model.at("/aliases/0/version").asText()).isEqualTo("2");
  }

  @Test
  void modelVersionByAliasIsFound() throws Exception {
    HttpResponse<String> response =
        server.send(
            "GET",
            API + "/registered-models/alias?name=fraud&alias=staging",
            server.viewerSecret,
            null);

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode version = MlflowServer.json(response).get("model_version");
    assertThat(version.get("name").asText()).isEqualTo("fraud");
    assertThat(version.get("version").asText()).isEqualTo("2");
    assertThat(version.get("status").asText()).isEqualTo("READY");
    assertThat(version.get("aliases").get(0).asText()).isEqualTo("staging");
    assertThat(version.get("source").asText()).isEqualTo("models/fraud/2");

    HttpResponse<String> missing =
        server.send(
            "GET",
            API + "/registered-models/alias?name=fraud&alias=nope",
            server.viewerSecret,
            null);
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(MlflowServer.json(missing).get("error_code").asText())
        .isEqualTo("RESOURCE_DOES_NOT_EXIST");
  }

  @Test
  void registeredModelsSearchFiltersByName() throws Exception {
    HttpResponse<String> found =
        server.send(
            "GET",
            API + "/registered-models/search?filter=name%20LIKE%20%27fr%25%27",
            server.viewerSecret,
            null);
    HttpResponse<String> none =
        server.send(
            "GET",
            API + "/registered-models/search?filter=name%20%3D%20%27other%27",
            server.viewerSecret,
            null);

    assertThat(found.statusCode()).isEqualTo(200);
    assertThat(MlflowServer.json(found).get("registered_models")).hasSize(1);
    assertThat(MlflowServer.json(found).at("/registered_models/0/name").asText())
        .isEqualTo("fraud");
    assertThat(MlflowServer.json(none).get("registered_models")).isEmpty();
  }

  private static String createRun(String body) throws Exception {
    HttpResponse<String> response = post("/runs/create", body);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return MlflowServer.json(response).at("/run/info/run_id").asText();
  }

  private static JsonNode getRun(String runId) throws Exception {
    HttpResponse<String> response =
        server.send("GET", API + "/runs/get?run_id=" + runId, server.viewerSecret, null);
    assertThat(response.statusCode()).isEqualTo(200);
    return MlflowServer.json(response).get("run");
  }

  private static HttpResponse<String> post(String path, String body) throws Exception {
    return server.send("POST", API + path, server.operatorSecret, body);
  }
}
