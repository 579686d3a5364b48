package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.MODEL;
import static dev.evergreen.server.ServerFixture.MULTI_CLASS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.serving.InputBatch;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KServeV1Test {
  /** A model with a registered version but no champion, so no version serves it. */
  private static final String IDLE_MODEL = "flights-idle";

  private static final String PREDICT = "/v1/models/" + MODEL + ":predict";

  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
    ModelVersion trained = fixture.evergreen.registry().versions(MODEL).get(0);
    fixture
        .evergreen
        .registry()
        .register(
            new ModelVersion(
                IDLE_MODEL,
                0,
                trained.artifactKey(),
                trained.artifactSha256(),
                null,
                null,
                Map.of(),
                null,
                Instant.now()),
            "test");
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private HttpResponse<String> predict(String path, String body) throws Exception {
    return ProtocolRequests.post(fixture, path, fixture.viewerSecret, "application/json", body);
  }

  private InputBatch rows() {
    return fixture.binaryCheck.inputs();
  }

  private void assertPredictionsEqualV2(HttpResponse<String> response, int rows) throws Exception {
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type")).contains("application/json");
    JsonNode body = ServerFixture.json(response);
    assertThat(body.size()).isEqualTo(1);
    JsonNode predictions = body.get("predictions");
    JsonNode expected = ProtocolRequests.v2Scores(fixture, MODEL, rows(), rows);
    assertThat(predictions).hasSize(rows);
    for (int row = 0; row < rows; row++) {
      assertThat(predictions.get(row).isNumber()).isTrue();
      assertThat(predictions.get(row).asDouble()).isEqualTo(expected.get(row).asDouble());
    }
  }

  @Test
  void instancesAsArraysMatchV2() throws Exception {
    // The shape of KServe's V1 example, {"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5,
    // 1.6]]},
    // with this model's inputs in signature order.
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    request.set("instances", ProtocolRequests.arrays(rows(), 4));

    assertPredictionsEqualV2(predict(PREDICT, request.toString()), 4);
  }

  @Test
  void instancesAsObjectsMatchV2() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    request.set("instances", ProtocolRequests.records(rows(), 3));

    assertPredictionsEqualV2(predict(PREDICT, request.toString()), 3);
  }

  @Test
  void inputsAsColumnsMatchV2() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    request.set("inputs", ProtocolRequests.columns(rows(), 3));

    assertPredictionsEqualV2(predict(PREDICT, request.toString()), 3);
  }

  @Test
  void inputsAsRowsMatchV2() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    request.set("inputs", ProtocolRequests.records(rows(), 2));

    assertPredictionsEqualV2(predict(PREDICT, request.toString()), 2);
  }

  @Test
  void literalRequestBodyIsScored() throws Exception {
    String body =
        """
        {"instances": [
          {"distance": 733, "origin": "BOS", "destination": "ORD", "date": "2001-03-05T07:15:00"},
          {"distance": 1587, "origin": "SFO", "destination": "JFK", "date": "2001-03-09T18:40:00"}
        ]}""";
    String v2Body =
        """
        {"inputs": [
          {"name": "distance", "datatype": "FP64", "shape": [2], "data": [733, 1587]},
          {"name": "origin", "datatype": "BYTES", "shape": [2], "data": ["BOS", "SFO"]},
          {"name": "destination", "datatype": "BYTES", "shape": [2], "data": ["ORD", "JFK"]},
          {"name": "date", "datatype": "BYTES", "shape": [2],
           "data": ["2001-03-05T07:15:00", "2001-03-09T18:40:00"]}]}""";

    HttpResponse<String> response = predict(PREDICT, body);
    HttpResponse<String> v2 =
        fixture.send("POST", "/v2/models/" + MODEL + "/infer", fixture.viewerSecret, v2Body);

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode predictions = ServerFixture.json(response).get("predictions");
    JsonNode expected = ServerFixture.json(v2).get("outputs").get(0).get("data");
    assertThat(predictions).hasSize(2);
    assertThat(predictions.get(0).asDouble()).isEqualTo(expected.get(0).asDouble());
    assertThat(predictions.get(1).asDouble()).isEqualTo(expected.get(1).asDouble());
    assertThat(predictions.get(0).asDouble()).isBetween(0.0, 1.0);
  }

  @Test
  void multiClassPredictsArrayPerRow() throws Exception {
    InputBatch batch = fixture.multiClassCheck.inputs();
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    request.set("instances", ProtocolRequests.records(batch, 2));

    HttpResponse<String> response =
        predict("/v1/models/" + MULTI_CLASS + ":predict", request.toString());

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode predictions = ServerFixture.json(response).get("predictions");
    JsonNode expected = ProtocolRequests.v2Scores(fixture, MULTI_CLASS, batch, 2);
    assertThat(predictions).hasSize(2);
    for (int row = 0; row < 2; row++) {
      assertThat(predictions.get(row)).hasSize(3);
      for (int k = 0; k < 3; k++) {
        assertThat(predictions.get(row).get(k).asDouble())
            .isEqualTo(expected.get(row * 3 + k).asDouble());
      }
    }
  }

  @Test
  void missingValuesAreAccepted() throws Exception {
    String body =
        "{\"instances\": [{\"distance\": null, \"origin\": \"BOS\", \"destination\": null,"
            + " \"date\": \"2001-03-05T07:15:00\"}]}";

    HttpResponse<String> response = predict(PREDICT, body);

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(ServerFixture.json(response).get("predictions")).hasSize(1);
  }

  @Test
  void modelStatusReportsReady() throws Exception {
    HttpResponse<String> response =
        fixture.send("GET", "/v1/models/" + MODEL, fixture.viewerSecret, null);

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode body = ServerFixture.json(response);
    assertThat(body.get("name").asText()).isEqualTo(MODEL);
    assertThat(body.get("ready").asBoolean()).isTrue();
    assertThat(body.size()).isEqualTo(2);
  }

  @Test
  void unknownModelIsNotFound() throws Exception {
    HttpResponse<String> status =
        fixture.send("GET", "/v1/models/no-such-model", fixture.viewerSecret, null);
    HttpResponse<String> prediction =
        predict("/v1/models/no-such-model:predict", "{\"instances\": []}");

    assertThat(status.statusCode()).isEqualTo(404);
    assertThat(ProtocolRequests.error(status)).contains("model 'no-such-model' not found");
    assertThat(prediction.statusCode()).isEqualTo(404);
    assertThat(ProtocolRequests.error(prediction)).contains("model 'no-such-model' not found");
  }

  @Test
  void modelWithoutServingVersionIsUnavailable() throws Exception {
    HttpResponse<String> status =
        fixture.send("GET", "/v1/models/" + IDLE_MODEL, fixture.viewerSecret, null);
    HttpResponse<String> prediction =
        predict("/v1/models/" + IDLE_MODEL + ":predict", "{\"instances\": []}");

    assertThat(status.statusCode()).isEqualTo(503);
    assertThat(ProtocolRequests.error(status)).contains("has no version serving");
    assertThat(prediction.statusCode()).isEqualTo(503);
    assertThat(ProtocolRequests.error(prediction)).contains("has no version serving");
  }

  @Test
  void unknownInputIsRejected() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    ArrayNode instances = ProtocolRequests.records(rows(), 1);
    ((ObjectNode) instances.get(0)).put("distanse", 100);
    request.set("instances", instances);

    HttpResponse<String> response = predict(PREDICT, request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ServerFixture.json(response).size()).isEqualTo(1);
    assertThat(ProtocolRequests.error(response))
        .contains("instances[0] has the unknown input 'distanse'")
        .contains("expects inputs distance, origin, destination, date");
  }

  @Test
  void missingInputIsRejected() throws Exception {
    String body = "{\"instances\": [{\"distance\": 100, \"origin\": \"BOS\", \"date\": null}]}";

    HttpResponse<String> response = predict(PREDICT, body);

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response)).contains("missing input 'destination' (BYTES)");
  }

  @Test
  void shortArrayRowIsRejected() throws Exception {
    HttpResponse<String> response = predict(PREDICT, "{\"instances\": [[733, \"BOS\"]]}");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("instances[0] has 2 values")
        .contains("takes 4 inputs in the order distance, origin, destination, date");
  }

  @Test
  void wrongValueTypeNamesRowAndInput() throws Exception {
    String body =
        "{\"instances\": [{\"distance\": \"far\", \"origin\": \"BOS\", \"destination\": \"ORD\","
            + " \"date\": null}]}";

    HttpResponse<String> response = predict(PREDICT, body);

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("instances[0].distance is the string \"far\" but input 'distance' takes numbers");
  }

  @Test
  void bodyNeedsInstancesOrInputs() throws Exception {
    HttpResponse<String> neither = predict(PREDICT, "{}");
    HttpResponse<String> both = predict(PREDICT, "{\"instances\": [], \"inputs\": []}");
    HttpResponse<String> unknown = predict(PREDICT, "{\"rows\": []}");

    assertThat(neither.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(neither)).contains("exactly one of 'instances' and 'inputs'");
    assertThat(both.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(both)).contains("got both");
    assertThat(unknown.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(unknown)).contains("unknown field 'rows'");
  }

  @Test
  void malformedJsonNamesPosition() throws Exception {
    HttpResponse<String> response = predict(PREDICT, "{\"instances\": [");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response)).contains("not valid JSON at line 1");
  }

  @Test
  void predictRequiresToken() throws Exception {
    HttpResponse<String> response =
        ProtocolRequests.post(fixture, PREDICT, null, "application/json", "{\"instances\": []}");

    assertThat(response.statusCode()).isEqualTo(401);
    assertThat(ProtocolRequests.error(response)).contains("missing bearer token");
  }

  @Test
  void metricsCountV1Requests() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    request.set("instances", ProtocolRequests.records(rows(), 1));
    predict(PREDICT, request.toString());
    predict(PREDICT, "{}");

    String text = fixture.send("GET", "/metrics", fixture.viewerSecret, null).body();

    assertThat(text)
        .containsPattern(
            "evergreen_inference_requests_total\\{model=\"flights\",outcome=\"ok\","
                + "protocol=\"v1\",version=\"1\"} [1-9]");
    assertThat(text)
        .containsPattern(
            "evergreen_inference_requests_total\\{model=\"flights\",outcome=\"invalid\","
                + "protocol=\"v1\",version=\"1\"} [1-9]");
  }
}
