package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.MODEL;
import static dev.evergreen.server.ServerFixture.MULTI_CLASS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.TensorSpec;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class InferenceTest {
  private static final double TOLERANCE = 1e-5;

  /** Inputs of the flight models, as the model loader derives them from the encoding. */
  private static final List<TensorSpec> INPUTS =
      List.of(
          new TensorSpec("distance", "FP64", List.of(-1L)),
          new TensorSpec("origin", "BYTES", List.of(-1L)),
          new TensorSpec("destination", "BYTES", List.of(-1L)),
          new TensorSpec("date", "BYTES", List.of(-1L)));

  private Path dir;

  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    this.dir = dir;
    fixture = new ServerFixture(dir);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private HttpResponse<String> infer(String path, String body) throws Exception {
    return fixture.send("POST", path, fixture.viewerSecret, body);
  }

  private static ObjectNode checkRequest(CheckSet checkSet, int rows) {
    return ServerFixture.inferRequest(checkSet.inputs(), INPUTS, rows);
  }

  private static String error(HttpResponse<String> response) throws Exception {
    return ServerFixture.json(response).get("error").asText();
  }

  @Test
  void serverMetadataNamesEvergreen() throws Exception {
    HttpResponse<String> response = fixture.send("GET", "/v2", fixture.viewerSecret, null);

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode metadata = ServerFixture.json(response);
    assertThat(metadata.get("name").asText()).isEqualTo("evergreen");
    assertThat(metadata.get("version").asText()).isNotBlank();
    assertThat(metadata.get("extensions").isArray()).isTrue();
    assertThat(metadata.get("extensions")).isEmpty();
  }

  @Test
  void modelMetadataListsSignature() throws Exception {
    HttpResponse<String> response =
        fixture.send("GET", "/v2/models/" + MODEL, fixture.viewerSecret, null);

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode metadata = ServerFixture.json(response);
    assertThat(metadata.get("name").asText()).isEqualTo(MODEL);
    assertThat(metadata.get("platform").asText()).isEqualTo("xgboost");
    assertThat(metadata.get("versions").get(0).asText()).isEqualTo("1");
    JsonNode inputs = metadata.get("inputs");
    assertThat(inputs).hasSize(INPUTS.size());
    for (int i = 0; i < INPUTS.size(); i++) {
      assertThat(inputs.get(i).get("name").asText()).isEqualTo(INPUTS.get(i).name());
      assertThat(inputs.get(i).get("datatype").asText()).isEqualTo(INPUTS.get(i).datatype());
      assertThat(inputs.get(i).get("shape").get(0).asLong()).isEqualTo(-1L);
    }
    JsonNode output = metadata.get("outputs").get(0);
    assertThat(output.get("name").asText()).isEqualTo("probability");
    assertThat(output.get("datatype").asText()).isEqualTo("FP64");
  }

  @Test
  void unknownModelIsNotFound() throws Exception {
    HttpResponse<String> metadata =
        fixture.send("GET", "/v2/models/no-such-model", fixture.viewerSecret, null);
    HttpResponse<String> inference = infer("/v2/models/no-such-model/infer", "{}");

    assertThat(metadata.statusCode()).isEqualTo(404);
    assertThat(error(metadata)).contains("model 'no-such-model' not found");
    assertThat(inference.statusCode()).isEqualTo(404);
  }

  @Test
  void modelReadyReportsVersion() throws Exception {
    HttpResponse<String> response =
        fixture.send("GET", "/v2/models/" + MODEL + "/ready", fixture.viewerSecret, null);

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(ServerFixture.json(response).get("ready").asBoolean()).isTrue();
    assertThat(ServerFixture.json(response).get("version").asText()).isEqualTo("1");
  }

  @Test
  void inferMatchesXgboostScores() throws Exception {
    int rows = 5;
    ObjectNode request = checkRequest(fixture.binaryCheck, rows);
    request.put("id", "request-42");

    HttpResponse<String> response = infer("/v2/models/" + MODEL + "/infer", request.toString());

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type")).contains("application/json");
    JsonNode body = ServerFixture.json(response);
    assertThat(body.get("model_name").asText()).isEqualTo(MODEL);
    assertThat(body.get("model_version").asText()).isEqualTo("1");
    assertThat(body.get("id").asText()).isEqualTo("request-42");
    JsonNode output = body.get("outputs").get(0);
    assertThat(output.get("name").asText()).isEqualTo("probability");
    assertThat(output.get("datatype").asText()).isEqualTo("FP64");
    assertThat(output.get("shape")).hasSize(1);
    assertThat(output.get("shape").get(0).asInt()).isEqualTo(rows);
    JsonNode data = output.get("data");
    assertThat(data).hasSize(rows);
    for (int row = 0; row < rows; row++) {
      assertThat(data.get(row).asDouble())
          .isCloseTo(fixture.binaryCheck.expected()[row], within(TOLERANCE));
    }
  }

  @Test
  void inferWithoutIdOmitsId() throws Exception {
    HttpResponse<String> response =
        infer("/v2/models/" + MODEL + "/infer", checkRequest(fixture.binaryCheck, 1).toString());

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(ServerFixture.json(response).has("id")).isFalse();
  }

  @Test
  void multiClassOutputHasTwoDimensions() throws Exception {
    int rows = 3;
    HttpResponse<String> response =
        infer(
            "/v2/models/" + MULTI_CLASS + "/infer",
            checkRequest(fixture.multiClassCheck, rows).toString());

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode output = ServerFixture.json(response).get("outputs").get(0);
    assertThat(output.get("name").asText()).isEqualTo("probabilities");
    assertThat(output.get("shape").get(0).asInt()).isEqualTo(rows);
    assertThat(output.get("shape").get(1).asInt()).isEqualTo(3);
    JsonNode data = output.get("data");
    assertThat(data).hasSize(rows * 3);
    for (int i = 0; i < rows * 3; i++) {
      assertThat(data.get(i).asDouble())
          .isCloseTo(fixture.multiClassCheck.expected()[i], within(TOLERANCE));
    }
  }

  @Test
  void nestedDataAndIntegerTypesAreAccepted() throws Exception {
    ObjectNode request = checkRequest(fixture.binaryCheck, 2);
    ObjectNode distance = (ObjectNode) request.get("inputs").get(0);
    ArrayNode nested = ServerFixture.JSON.createArrayNode();
    for (JsonNode value : distance.get("data")) {
      nested.addArray().add(value.asLong());
    }
    distance.set("data", nested);
    distance.putArray("shape").add(2).add(1);
    distance.put("datatype", "INT64");

    HttpResponse<String> response = infer("/v2/models/" + MODEL + "/infer", request.toString());

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode data = ServerFixture.json(response).get("outputs").get(0).get("data");
    assertThat(data.get(0).asDouble())
        .isCloseTo(fixture.binaryCheck.expected()[0], within(TOLERANCE));
  }

  @Test
  void versionedInferUsesLoadedVersion() throws Exception {
    HttpResponse<String> loaded =
        infer(
            "/v2/models/" + MODEL + "/versions/1/infer",
            checkRequest(fixture.binaryCheck, 1).toString());
    HttpResponse<String> notLoaded =
        infer(
            "/v2/models/" + MODEL + "/versions/7/infer",
            checkRequest(fixture.binaryCheck, 1).toString());

    assertThat(loaded.statusCode()).isEqualTo(200);
    assertThat(ServerFixture.json(loaded).get("model_version").asText()).isEqualTo("1");
    assertThat(notLoaded.statusCode()).isEqualTo(404);
    assertThat(error(notLoaded))
        .contains("version 7 of model 'flights' is not loaded")
        .contains("loaded versions: 1 (active)");
  }

  @Test
  void malformedJsonNamesPosition() throws Exception {
    HttpResponse<String> response =
        infer("/v2/models/" + MODEL + "/infer", "{\"inputs\": [ {\"name\": }");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(error(response)).contains("not valid JSON at line 1, column");
  }

  @Test
  void unclosedArrayOmitsJacksonSource() throws Exception {
    HttpResponse<String> response = infer("/v2/models/" + MODEL + "/infer", "{\"inputs\": [");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(error(response)).contains("not valid JSON at line 1, column 13");
    assertThat(error(response)).contains("expected close marker for Array");
    assertThat(error(response)).doesNotContain("Source:");
  }

  @Test
  void wrongShapeNamesInput() throws Exception {
    ObjectNode request = checkRequest(fixture.binaryCheck, 2);
    ((ObjectNode) request.get("inputs").get(0)).putArray("shape").add(3);

    HttpResponse<String> response = infer("/v2/models/" + MODEL + "/infer", request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(error(response))
        .contains("input 'distance' has shape [3], which is 3 elements, but its data has 2");
  }

  @Test
  void unknownInputIsRejected() throws Exception {
    ObjectNode request = checkRequest(fixture.binaryCheck, 1);
    ((ObjectNode) request.get("inputs").get(0)).put("name", "distanse");

    HttpResponse<String> response = infer("/v2/models/" + MODEL + "/infer", request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(error(response))
        .contains("unknown input 'distanse'")
        .contains("distance, origin, destination, date");
  }

  @Test
  void missingInputIsRejected() throws Exception {
    ObjectNode request = checkRequest(fixture.binaryCheck, 1);
    ((ArrayNode) request.get("inputs")).remove(3);

    HttpResponse<String> response = infer("/v2/models/" + MODEL + "/infer", request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(error(response)).contains("missing input 'date'");
  }

  @Test
  void stringInNumericInputIsRejected() throws Exception {
    ObjectNode request = checkRequest(fixture.binaryCheck, 2);
    ArrayNode data = (ArrayNode) request.get("inputs").get(0).get("data");
    data.set(1, ServerFixture.JSON.getNodeFactory().textNode("far"));

    HttpResponse<String> response = infer("/v2/models/" + MODEL + "/infer", request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(error(response))
        .contains("input 'distance' (FP64) contains the string \"far\" at data index 1");
  }

  @Test
  void numericDatatypeForTextInputIsRejected() throws Exception {
    ObjectNode request = checkRequest(fixture.binaryCheck, 1);
    ((ObjectNode) request.get("inputs").get(1)).put("datatype", "FP64");

    HttpResponse<String> response = infer("/v2/models/" + MODEL + "/infer", request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(error(response))
        .contains("input 'origin' has datatype FP64 but the model expects strings");
  }

  @Test
  void unequalRowCountsAreRejected() throws Exception {
    ObjectNode request = checkRequest(fixture.binaryCheck, 2);
    ObjectNode origin = (ObjectNode) request.get("inputs").get(1);
    ((ArrayNode) origin.get("data")).remove(1);
    origin.putArray("shape").add(1);

    HttpResponse<String> response = infer("/v2/models/" + MODEL + "/infer", request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(error(response)).contains("input 'origin' has 1 rows but input 'distance' has 2");
  }

  @Test
  void fractionalIntegerIsRejected() throws Exception {
    ObjectNode request = checkRequest(fixture.binaryCheck, 1);
    ObjectNode distance = (ObjectNode) request.get("inputs").get(0);
    distance.put("datatype", "INT32");
    distance.putArray("data").add(1.5);

    HttpResponse<String> response = infer("/v2/models/" + MODEL + "/infer", request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(error(response)).contains("1.5 at data index 0 is not an integer");
  }

  @Test
  void bodyOverLimitIsRejected() throws Exception {
    String padding = "x".repeat((int) HttpErrors.MAX_BODY_BYTES + 1024);
    HttpRequest request =
        HttpRequest.newBuilder(fixture.uri("/v2/models/" + MODEL + "/infer"))
            .header("Authorization", "Bearer " + fixture.viewerSecret)
            .POST(HttpRequest.BodyPublishers.ofString("{\"id\": \"" + padding + "\"}"))
            .build();

    HttpResponse<String> response =
        fixture.http.send(request, HttpResponse.BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(413);
    assertThat(error(response)).contains("larger than the limit of 8 MiB");
  }

  @Test
  void metricsCountInferenceRequests() throws Exception {
    infer("/v2/models/" + MODEL + "/infer", checkRequest(fixture.binaryCheck, 1).toString());
    infer("/v2/models/" + MODEL + "/infer", "{\"inputs\": []}");

    HttpResponse<String> response = fixture.send("GET", "/metrics", fixture.viewerSecret, null);

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type"))
        .contains("text/plain; version=0.0.4; charset=utf-8");
    String text = response.body();
    assertThat(text)
        .containsPattern(
            "evergreen_inference_requests_total\\{[^}]*model=\"flights\",outcome=\"ok\","
                + "protocol=\"v2\",version=\"1\"} [1-9]");
    assertThat(text)
        .containsPattern(
            "evergreen_inference_requests_total\\{[^}]*model=\"flights\",outcome=\"invalid\","
                + "protocol=\"v2\",version=\"1\"} [1-9]");
    assertThat(text).contains("evergreen_inference_duration_seconds_bucket{");
    assertThat(text).contains("evergreen_model_load_duration_seconds");
    assertThat(text).contains("evergreen_deployment_switches_total");
  }
}
