package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.MODEL;
import static dev.evergreen.server.ServerFixture.MULTI_CLASS;
import static dev.evergreen.server.ServerFixture.TWO_VERSIONS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.TensorSpec;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MlflowScoringTest {
  private static final String INVOCATIONS = "/invocations?model=" + MODEL;

  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private HttpResponse<String> invoke(String path, String contentType, String body)
      throws Exception {
    return ProtocolRequests.post(fixture, path, fixture.viewerSecret, contentType, body);
  }

  private HttpResponse<String> invokeJson(String body) throws Exception {
    return invoke(INVOCATIONS, "application/json", body);
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
  void dataframeSplitMatchesV2() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    ObjectNode split = request.putObject("dataframe_split");
    ProtocolRequests.INPUTS.forEach(spec -> split.withArray("columns").add(spec.name()));
    split.set("data", ProtocolRequests.arrays(rows(), 4));

    assertPredictionsEqualV2(invokeJson(request.toString()), 4);
  }

  @Test
  void dataframeSplitFollowsColumnOrder() throws Exception {
    List<TensorSpec> reversed = ProtocolRequests.INPUTS.reversed();
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    ObjectNode split = request.putObject("dataframe_split");
    split.putArray("index").add(0).add(1);
    reversed.forEach(spec -> split.withArray("columns").add(spec.name()));
    for (int row = 0; row < 2; row++) {
      var values = split.withArray("data").addArray();
      for (TensorSpec spec : reversed) {
        values.add(ProtocolRequests.value(rows(), spec, row));
      }
    }

    assertPredictionsEqualV2(invokeJson(request.toString()), 2);
  }

  @Test
  void dataframeRecordsMatchV2() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    request.set("dataframe_records", ProtocolRequests.records(rows(), 3));

    assertPredictionsEqualV2(invokeJson(request.toString()), 3);
  }

  @Test
  void instancesMatchV2() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    request.set("instances", ProtocolRequests.records(rows(), 3));

    assertPredictionsEqualV2(invokeJson(request.toString()), 3);
  }

  @Test
  void inputsAsColumnsMatchV2() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    request.set("inputs", ProtocolRequests.columns(rows(), 3));

    assertPredictionsEqualV2(invokeJson(request.toString()), 3);
  }

  @Test
  void paramsAreAccepted() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    request.set("dataframe_records", ProtocolRequests.records(rows(), 2));
    request.putObject("params").put("threshold", 0.5);

    assertPredictionsEqualV2(invokeJson(request.toString()), 2);
  }

  @Test
  void csvMatchesV2() throws Exception {
    int rows = 4;
    StringBuilder csv = new StringBuilder("distance,origin,destination,date\n");
    for (int i = 0; i < rows; i++) {
      int row = i;
      List<String> fields =
          ProtocolRequests.INPUTS.stream()
              .map(spec -> ProtocolRequests.value(rows(), spec, row))
              .map(value -> value.isNull() ? "" : value.asText())
              .toList();
      csv.append(String.join(",", fields)).append('\n');
    }

    assertPredictionsEqualV2(invoke(INVOCATIONS, "text/csv", csv.toString()), rows);
  }

  @Test
  void csvWithInvalidUtf8IsRejected() throws Exception {
    byte[] csv =
        "distance,origin,destination,date\n733,SEA,S\u00c9A,2001-03-01T07:00:00\n"
            .getBytes(StandardCharsets.ISO_8859_1);
    HttpRequest request =
        HttpRequest.newBuilder(fixture.uri(INVOCATIONS))
            .header("Authorization", "Bearer " + fixture.viewerSecret)
            .header("Content-Type", "text/csv")
            .POST(HttpRequest.BodyPublishers.ofByteArray(csv))
            .build();

    HttpResponse<String> response =
        HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.body()).contains("the CSV body is not valid UTF-8 at byte 42");
  }

  @Test
  void csvQuotingAndCrlfAreRead() throws Exception {
    String csv =
        "\"origin\",distance,destination,date\r\n"
            + "\"BOS\",733,\"ORD\",2001-03-05T07:15:00\r\n"
            + "SFO,1587,JFK,\"2001-03-09T18:40:00\"\r\n";
    String records =
        """
        {"dataframe_records": [
          {"distance": 733, "origin": "BOS", "destination": "ORD", "date": "2001-03-05T07:15:00"},
          {"distance": 1587, "origin": "SFO", "destination": "JFK", "date": "2001-03-09T18:40:00"}
        ]}""";

    HttpResponse<String> fromCsv = invoke(INVOCATIONS, "text/csv; charset=utf-8", csv);
    HttpResponse<String> fromJson = invokeJson(records);

    assertThat(fromCsv.statusCode()).isEqualTo(200);
    assertThat(fromJson.statusCode()).isEqualTo(200);
    JsonNode csvPredictions = ServerFixture.json(fromCsv).get("predictions");
    JsonNode jsonPredictions = ServerFixture.json(fromJson).get("predictions");
    assertThat(csvPredictions).hasSize(2);
    assertThat(csvPredictions.get(0).asDouble()).isEqualTo(jsonPredictions.get(0).asDouble());
    assertThat(csvPredictions.get(1).asDouble()).isEqualTo(jsonPredictions.get(1).asDouble());
  }

  @Test
  void csvBadNumberNamesLineAndColumn() throws Exception {
    String csv = "distance,origin,destination,date\n733,BOS,ORD,\nfar,SFO,JFK,\n";

    HttpResponse<String> response = invoke(INVOCATIONS, "text/csv", csv);

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("CSV line 3, column 'distance' is \"far\" but input 'distance' takes numbers");
  }

  @Test
  void csvShortRecordIsRejected() throws Exception {
    String csv = "distance,origin,destination,date\n733,BOS\n";

    HttpResponse<String> response = invoke(INVOCATIONS, "text/csv", csv);

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("CSV line 2 has 2 fields but the header has 4");
  }

  @Test
  void extraColumnsAreIgnored() throws Exception {
    String plain = "distance,origin,destination,date\n733,BOS,ORD,2001-03-05T07:15:00\n";
    String extra =
        "customer_id,distance,origin,destination,date,delay\n"
            + "c-17,733,BOS,ORD,2001-03-05T07:15:00,1\n";
    String split =
        "{\"dataframe_split\": {\"columns\": [\"customer_id\", \"distance\", \"origin\","
            + " \"destination\", \"date\"], \"data\": [[\"c-17\", 733, \"BOS\", \"ORD\","
            + " \"2001-03-05T07:15:00\"]]}}";
    String records =
        "{\"dataframe_records\": [{\"customer_id\": \"c-17\", \"distance\": 733, \"origin\":"
            + " \"BOS\", \"destination\": \"ORD\", \"date\": \"2001-03-05T07:15:00\","
            + " \"delay\": 1}]}";

    HttpResponse<String> expected = invoke(INVOCATIONS, "text/csv", plain);

    assertThat(expected.statusCode()).isEqualTo(200);
    for (HttpResponse<String> response :
        List.of(invoke(INVOCATIONS, "text/csv", extra), invokeJson(split), invokeJson(records))) {
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(ServerFixture.json(response)).isEqualTo(ServerFixture.json(expected));
    }
  }

  @Test
  void errorsCarryMlflowFields() throws Exception {
    HttpResponse<String> invalid = invoke(INVOCATIONS, "text/csv", "distance\nfar\n");
    HttpResponse<String> anonymous =
        ProtocolRequests.post(fixture, INVOCATIONS, null, "text/csv", "distance\n1\n");

    JsonNode invalidBody = ServerFixture.json(invalid);
    assertThat(invalid.statusCode()).isEqualTo(400);
    assertThat(invalidBody.get("error_code").asText()).isEqualTo("BAD_REQUEST");
    assertThat(invalidBody.get("message").asText()).isEqualTo(invalidBody.get("error").asText());
    assertThat(invalidBody.get("message").asText()).contains("'distance'");
    JsonNode anonymousBody = ServerFixture.json(anonymous);
    assertThat(anonymous.statusCode()).isEqualTo(401);
    assertThat(anonymousBody.get("error_code").asText()).isEqualTo("UNAUTHENTICATED");
    assertThat(anonymousBody.get("message").asText()).isNotBlank();
  }

  @Test
  void misspeltColumnNamesMissingInput() throws Exception {
    String csv = "distanse,origin,destination,date\n733,BOS,ORD,\n";

    HttpResponse<String> response = invoke(INVOCATIONS, "text/csv", csv);

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("missing input 'distance'")
        .endsWith("; the request's columns 'distanse' name no input and were ignored");
  }

  @Test
  void multiClassPredictsArrayPerRow() throws Exception {
    InputBatch batch = fixture.multiClassCheck.inputs();
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    request.set("dataframe_records", ProtocolRequests.records(batch, 2));

    HttpResponse<String> response =
        invoke("/invocations?model=" + MULTI_CLASS, "application/json", request.toString());

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
  void severalModelsNeedModelParameter() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    request.set("dataframe_records", ProtocolRequests.records(rows(), 1));

    HttpResponse<String> response = invoke("/invocations", "application/json", request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("serves 3 models")
        .contains(MODEL)
        .contains(TWO_VERSIONS)
        .contains(MULTI_CLASS)
        .contains("/invocations?model=NAME");
  }

  @Test
  void onlyServingModelIsChosen() {
    assertThat(MlflowScoringApi.onlyServingModel(List.of(MODEL))).isEqualTo(MODEL);
    assertThatThrownBy(() -> MlflowScoringApi.onlyServingModel(List.of()))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.UNAVAILABLE))
        .hasMessageContaining("no model has a serving version");
  }

  @Test
  void unknownModelIsNotFound() throws Exception {
    HttpResponse<String> response =
        invoke("/invocations?model=no-such-model", "application/json", "{\"instances\": []}");

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(ProtocolRequests.error(response)).contains("model 'no-such-model' not found");
  }

  @Test
  void bodyNeedsExactlyOneFormat() throws Exception {
    HttpResponse<String> none = invokeJson("{}");
    HttpResponse<String> two = invokeJson("{\"instances\": [], \"inputs\": []}");
    HttpResponse<String> unknown = invokeJson("{\"dataframe\": []}");

    assertThat(none.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(none))
        .contains("send exactly one of dataframe_split, dataframe_records, instances, inputs");
    assertThat(two.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(two)).contains("has both 'instances' and 'inputs'");
    assertThat(unknown.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(unknown)).contains("unknown field 'dataframe'");
  }

  @Test
  void splitRowWidthIsChecked() throws Exception {
    String body =
        "{\"dataframe_split\": {\"columns\": [\"distance\", \"origin\", \"destination\","
            + " \"date\"], \"data\": [[733, \"BOS\", \"ORD\"]]}}";

    HttpResponse<String> response = invokeJson(body);

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("dataframe_split.data[0] must be an array of 4 values");
  }

  @Test
  void unsupportedContentTypeIsRejected() throws Exception {
    HttpResponse<String> response = invoke(INVOCATIONS, "text/plain", "distance\n1\n");

    assertThat(response.statusCode()).isEqualTo(415);
    assertThat(ProtocolRequests.error(response))
        .contains("Content-Type 'text/plain' is not supported; send application/json or text/csv");
  }

  @Test
  void nonUtf8CharsetIsRejected() throws Exception {
    HttpResponse<String> response =
        invoke(INVOCATIONS, "text/csv; charset=ISO-8859-1", "distance\n1\n");

    assertThat(response.statusCode()).isEqualTo(415);
    assertThat(ProtocolRequests.error(response))
        .contains("charset 'iso-8859-1' is not supported; send the body as UTF-8");
  }

  @Test
  void invocationsRequireToken() throws Exception {
    HttpResponse<String> response =
        ProtocolRequests.post(fixture, INVOCATIONS, null, "application/json", "{}");

    assertThat(response.statusCode()).isEqualTo(401);
  }

  @Test
  void pingAndHealthNeedNoToken() throws Exception {
    for (String path : List.of("/ping", "/health", "/ping?model=" + MODEL)) {
      HttpResponse<String> response = fixture.send("GET", path, null, null);

      assertThat(response.statusCode()).as(path).isEqualTo(200);
      assertThat(response.body()).as(path).isEqualTo("\n");
    }
  }

  @Test
  void pingOfModelWithoutVersionIsUnavailable() throws Exception {
    HttpResponse<String> response = fixture.send("GET", "/ping?model=no-such-model", null, null);

    assertThat(response.statusCode()).isEqualTo(503);
    assertThat(ProtocolRequests.error(response)).contains("'no-such-model' has no serving version");
  }

  @Test
  void versionMatchesServerMetadata() throws Exception {
    HttpResponse<String> version = fixture.send("GET", "/version", fixture.viewerSecret, null);
    HttpResponse<String> metadata = fixture.send("GET", "/v2", fixture.viewerSecret, null);
    HttpResponse<String> anonymous = fixture.send("GET", "/version", null, null);

    assertThat(version.statusCode()).isEqualTo(200);
    assertThat(version.body())
        .isEqualTo(ServerFixture.json(metadata).get("version").asText())
        .isNotBlank();
    assertThat(anonymous.statusCode()).isEqualTo(401);
  }

  @Test
  void metricsCountMlflowRequests() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    request.set("dataframe_records", ProtocolRequests.records(rows(), 1));
    invokeJson(request.toString());
    invokeJson("{}");

    String text = fixture.send("GET", "/metrics", fixture.viewerSecret, null).body();

    assertThat(text)
        .containsPattern(
            "evergreen_inference_requests_total\\{model=\"flights\",outcome=\"ok\","
                + "protocol=\"mlflow\",version=\"1\"} [1-9]");
    assertThat(text)
        .containsPattern(
            "evergreen_inference_requests_total\\{model=\"flights\",outcome=\"invalid\","
                + "protocol=\"mlflow\",version=\"1\"} [1-9]");
  }
}
