package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.MODEL;
import static dev.evergreen.server.ServerFixture.MULTI_CLASS;
import static dev.evergreen.server.ServerFixture.TWO_VERSIONS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.core.serving.TensorSpec;
import dev.evergreen.server.grpc.InferTensorContents;
import dev.evergreen.server.grpc.ModelInferRequest;
import dev.evergreen.server.grpc.ModelInferRequest.InferInputTensor;
import dev.evergreen.server.grpc.ModelInferResponse;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Sends requests of zero rows over every inference protocol. Each returns 200 with no predictions,
 * but a format that names its inputs apart from the rows must still name every input.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ZeroRowRequestsTest {
  private static final String INVOCATIONS = "/invocations?model=" + MODEL;
  private static final String PREDICT = "/v1/models/" + MODEL + ":predict";
  private static final String COLUMNS = "[\"distance\", \"origin\", \"destination\", \"date\"]";

  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private HttpResponse<String> post(String path, String contentType, String body) throws Exception {
    return ProtocolRequests.post(fixture, path, fixture.viewerSecret, contentType, body);
  }

  /** Returns a V2 request with a tensor of the given shape and no data for every input. */
  private static String emptyInferRequest(String... shape) {
    return emptyInferRequest(java.util.Arrays.stream(shape).mapToInt(Integer::parseInt).toArray());
  }

  /** Returns a V2 request with a tensor of the given shape and no data for every input. */
  private static String emptyInferRequest(int... shape) {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    ArrayNode inputs = request.putArray("inputs");
    for (TensorSpec spec : ProtocolRequests.INPUTS) {
      ObjectNode tensor = inputs.addObject();
      tensor.put("name", spec.name());
      tensor.put("datatype", spec.datatype());
      ArrayNode dimensions = tensor.putArray("shape");
      for (int dimension : shape) {
        dimensions.add(dimension);
      }
      tensor.putArray("data");
    }
    return request.toString();
  }

  private static void assertNoPredictions(HttpResponse<String> response) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode predictions = ServerFixture.json(response).get("predictions");
    assertThat(predictions.isArray()).as(response.body()).isTrue();
    assertThat(predictions).isEmpty();
  }

  private static void assertNoOutputRows(HttpResponse<String> response) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode output = ServerFixture.json(response).get("outputs").get(0);
    assertThat(output.get("shape").get(0).asInt()).isZero();
    assertThat(output.get("data")).isEmpty();
  }

  @Test
  void v2ShapeZeroIsScoredEmpty() throws Exception {
    HttpResponse<String> response =
        post("/v2/models/" + MODEL + "/infer", "application/json", emptyInferRequest(0));

    assertNoOutputRows(response);
  }

  @Test
  void v2ShapeZeroByOneIsScoredEmpty() throws Exception {
    HttpResponse<String> response =
        post("/v2/models/" + MODEL + "/infer", "application/json", emptyInferRequest(0, 1));

    assertNoOutputRows(response);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"[0, 2]", "[0, 0]", "[0, 5, 7]"})
  void v2ZeroRowsOfWrongShapeAreRejected(String shape) throws Exception {
    HttpResponse<String> response =
        post(
            "/v2/models/" + MODEL + "/infer",
            "application/json",
            emptyInferRequest(shape.replaceAll("[\\[\\] ]", "").split(",")));

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response)).contains("[rows] or [rows, 1]");
  }

  @Test
  void v2MultiClassZeroRowsIsScoredEmpty() throws Exception {
    HttpResponse<String> response =
        post("/v2/models/" + MULTI_CLASS + "/infer", "application/json", emptyInferRequest(0));

    assertNoOutputRows(response);
  }

  @Test
  void v2ZeroRowsStillNeedEveryInput() throws Exception {
    HttpResponse<String> response =
        post("/v2/models/" + MODEL + "/infer", "application/json", "{\"inputs\": []}");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response)).contains("missing input 'distance'");
  }

  @Test
  void grpcShapeZeroIsScoredEmpty() {
    ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName(MODEL);
    for (TensorSpec spec : ProtocolRequests.INPUTS) {
      request.addInputs(
          InferInputTensor.newBuilder()
              .setName(spec.name())
              .setDatatype(spec.datatype())
              .addShape(0)
              .setContents(InferTensorContents.newBuilder()));
    }

    ModelInferResponse response =
        fixture.grpcStub(fixture.viewerSecret).modelInfer(request.build());

    assertThat(response.getOutputsCount()).isEqualTo(1);
    assertThat(response.getOutputs(0).getShapeList()).containsExactly(0L);
    assertThat(response.getOutputs(0).getContents().getFp64ContentsCount()).isZero();
  }

  @Test
  void v1EmptyInstancesIsScoredEmpty() throws Exception {
    assertNoPredictions(post(PREDICT, "application/json", "{\"instances\": []}"));
  }

  @Test
  void v1EmptyInputRowsIsScoredEmpty() throws Exception {
    assertNoPredictions(post(PREDICT, "application/json", "{\"inputs\": []}"));
  }

  @Test
  void v1EmptyColumnsIsScoredEmpty() throws Exception {
    String body =
        "{\"inputs\": {\"distance\": [], \"origin\": [], \"destination\": [], \"date\": []}}";

    assertNoPredictions(post(PREDICT, "application/json", body));
  }

  @Test
  void v1ColumnsWithoutInputsAreRejected() throws Exception {
    HttpResponse<String> response = post(PREDICT, "application/json", "{\"inputs\": {}}");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response)).contains("missing input 'distance'");
  }

  @Test
  void mlflowEmptySplitIsScoredEmpty() throws Exception {
    String body = "{\"dataframe_split\": {\"columns\": " + COLUMNS + ", \"data\": []}}";

    assertNoPredictions(post(INVOCATIONS, "application/json", body));
  }

  @Test
  void mlflowEmptySplitWithIndexIsScoredEmpty() throws Exception {
    String body =
        "{\"dataframe_split\": {\"index\": [], \"columns\": " + COLUMNS + ", \"data\": []}}";

    assertNoPredictions(post(INVOCATIONS, "application/json", body));
  }

  @Test
  void mlflowEmptySplitMissingColumnIsRejected() throws Exception {
    String body =
        "{\"dataframe_split\": {\"columns\": [\"distance\", \"origin\", \"date\"], \"data\": []}}";

    HttpResponse<String> response = post(INVOCATIONS, "application/json", body);

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("missing input 'destination' (BYTES)")
        .contains("expects inputs distance, origin, destination, date");
  }

  @Test
  void mlflowEmptyRecordsIsScoredEmpty() throws Exception {
    assertNoPredictions(post(INVOCATIONS, "application/json", "{\"dataframe_records\": []}"));
  }

  @Test
  void mlflowEmptyInputsIsScoredEmpty() throws Exception {
    assertNoPredictions(post(INVOCATIONS, "application/json", "{\"inputs\": []}"));
  }

  @Test
  void mlflowEmptyInstancesIsScoredEmpty() throws Exception {
    assertNoPredictions(post(INVOCATIONS, "application/json", "{\"instances\": []}"));
  }

  @Test
  void mlflowCsvHeaderOnlyIsScoredEmpty() throws Exception {
    assertNoPredictions(post(INVOCATIONS, "text/csv", "distance,origin,destination,date\n"));
  }

  @Test
  void mlflowCsvHeaderMissingColumnIsRejected() throws Exception {
    HttpResponse<String> response = post(INVOCATIONS, "text/csv", "distance,origin,date\n");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response)).contains("missing input 'destination'");
  }

  @Test
  void batchedModelScoresZeroRowsEmpty() throws Exception {
    HttpResponse<String> batching =
        fixture.send(
            "PUT",
            "/api/v1/models/" + TWO_VERSIONS + "/batching",
            fixture.operatorSecret,
            "{\"max_batch_size\": 8, \"max_delay_millis\": 1}");
    assertThat(batching.statusCode()).as(batching.body()).isEqualTo(200);

    HttpResponse<String> v1 =
        post("/v1/models/" + TWO_VERSIONS + ":predict", "application/json", "{\"instances\": []}");
    HttpResponse<String> v2 =
        post("/v2/models/" + TWO_VERSIONS + "/infer", "application/json", emptyInferRequest(0));

    assertNoPredictions(v1);
    assertNoOutputRows(v2);
  }
}
