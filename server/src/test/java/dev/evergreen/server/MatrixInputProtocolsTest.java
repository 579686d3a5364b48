package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.external.ExternalFixtures;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scores the ONNX logistic regression with one {@code [-1, 4]} input {@code features} over KServe
 * V1 and MLflow's {@code /invocations}, and compares each response with V2 inference of the same
 * rows.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MatrixInputProtocolsTest {
  private static final String MODEL = "ext-matrix";
  private static final String PREDICT = "/v1/models/" + MODEL + ":predict";
  private static final String INVOCATIONS = "/invocations?model=" + MODEL;

  private ServerFixture fixture;
  private InputBatch matrix;

  /** V2 outputs of the check rows, two probabilities per row, row-major. */
  private JsonNode expected;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
    fixture.registerOnnx(
        MODEL,
        "flights-logistic-fp32.onnx",
        ExternalFixtures.file("flights-logistic-fp32.onnx"),
        ExternalFixtures.LOGISTIC_FP32_SIGNATURE);
    fixture.deployVersion(MODEL, 1);

    matrix = ExternalFixtures.featureMatrix();
    expected = v2Outputs();
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private JsonNode v2Outputs() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    ObjectNode tensor = request.putArray("inputs").addObject();
    tensor.put("name", "features");
    tensor.putArray("shape").add(matrix.rows()).add(4);
    tensor.put("datatype", "FP32");
    ArrayNode data = tensor.putArray("data");
    for (double value : matrix.numeric().get("features")) {
      data.add(value);
    }
    HttpResponse<String> response =
        fixture.send(
            "POST", "/v2/models/" + MODEL + "/infer", fixture.viewerSecret, request.toString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return ServerFixture.json(response).get("outputs").get(0).get("data");
  }

  /** Returns the check rows as nested arrays, {@code [[f0, f1, f2, f3], ...]}. */
  private ArrayNode nestedRows(int width) {
    double[] values = matrix.numeric().get("features");
    ArrayNode rows = ServerFixture.JSON.createArrayNode();
    for (int row = 0; row < matrix.rows(); row++) {
      ArrayNode features = rows.addArray();
      for (int column = 0; column < width; column++) {
        features.add(values[row * 4 + column % 4]);
      }
    }
    return rows;
  }

  /** Returns the check rows as objects, {@code [{"features": [f0, f1, f2, f3]}, ...]}. */
  private ArrayNode keyedRows() {
    ArrayNode rows = ServerFixture.JSON.createArrayNode();
    for (JsonNode features : nestedRows(4)) {
      rows.addObject().set("features", features);
    }
    return rows;
  }

  private ObjectNode body(String field, JsonNode value) {
    ObjectNode body = ServerFixture.JSON.createObjectNode();
    body.set(field, value);
    return body;
  }

  private ObjectNode columns() {
    ObjectNode columns = ServerFixture.JSON.createObjectNode();
    columns.set("features", nestedRows(4));
    return columns;
  }

  private HttpResponse<String> post(String path, String contentType, String body) throws Exception {
    return ProtocolRequests.post(fixture, path, fixture.viewerSecret, contentType, body);
  }

  private HttpResponse<String> postJson(String path, JsonNode body) throws Exception {
    return post(path, "application/json", body.toString());
  }

  private void assertPredictionsEqualV2(HttpResponse<String> response) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode predictions = ServerFixture.json(response).get("predictions");
    assertThat(predictions).hasSize(matrix.rows());
    for (int row = 0; row < matrix.rows(); row++) {
      JsonNode prediction = predictions.get(row);
      assertThat(prediction.isArray()).as("row %d", row).isTrue();
      assertThat(prediction).as("row %d", row).hasSize(2);
      assertThat(prediction.get(0).asDouble()).isEqualTo(expected.get(row * 2).asDouble());
      assertThat(prediction.get(1).asDouble()).isEqualTo(expected.get(row * 2 + 1).asDouble());
    }
  }

  private static void assertWrongWidthRejected(HttpResponse<String> response, int rows)
      throws Exception {
    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("input 'features' has shape [" + rows + ", 5]")
        .contains("the model's input has shape [-1, 4]");
  }

  @Test
  void v2AnswerHasTwoProbabilitiesPerRow() {
    assertThat(expected).hasSize(matrix.rows() * 2);
  }

  @Test
  void kserveNestedInstancesMatchV2() throws Exception {
    assertPredictionsEqualV2(postJson(PREDICT, body("instances", nestedRows(4))));
  }

  @Test
  void kserveKeyedInstancesMatchV2() throws Exception {
    assertPredictionsEqualV2(postJson(PREDICT, body("instances", keyedRows())));
  }

  @Test
  void kserveColumnInputsMatchV2() throws Exception {
    assertPredictionsEqualV2(postJson(PREDICT, body("inputs", columns())));
  }

  @Test
  void kserveLiteralBodyIsScored() throws Exception {
    String request = "{\"instances\": [[5.1, 3.5, 1.4, 0.2], [733, 7, 2, 15]]}";

    HttpResponse<String> response = post(PREDICT, "application/json", request);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    assertThat(ServerFixture.json(response).get("predictions")).hasSize(2);
  }

  @Test
  void kserveWrongWidthNamesShapes() throws Exception {
    assertWrongWidthRejected(postJson(PREDICT, body("instances", nestedRows(5))), matrix.rows());
    assertWrongWidthRejected(postJson(PREDICT, body("inputs", nestedRows(5))), matrix.rows());
  }

  @Test
  void v2Fp32OverflowShownAsWritten() throws Exception {
    String request =
        "{\"inputs\": [{\"name\": \"features\", \"shape\": [1, 4], \"datatype\": \"FP64\","
            + " \"data\": [733, 7, 2e39, 15]}]}";

    HttpResponse<String> response =
        post("/v2/models/" + MODEL + "/infer", "application/json", request);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("input 'features' takes FP32, but the value 2e39 at data index 2")
        .contains("outside FP32's range of -3.4028235E38 to 3.4028235E38");
  }

  @Test
  void kserveFlatRowIsRejected() throws Exception {
    HttpResponse<String> response =
        post(PREDICT, "application/json", "{\"instances\": [5.1, 3.5, 1.4, 0.2]}");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("input 'features' has shape [4]")
        .contains("the model's input has shape [-1, 4]");
  }

  @Test
  void kserveRaggedRowsAreRejected() throws Exception {
    HttpResponse<String> response =
        post(PREDICT, "application/json", "{\"instances\": [[1, 2, 3, 4], [1, 2, 3]]}");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("input 'features' needs the same shape in every row")
        .contains("instances[1] has shape [3]");
  }

  @Test
  void mlflowTensorInputsMatchV2() throws Exception {
    assertPredictionsEqualV2(postJson(INVOCATIONS, body("inputs", nestedRows(4))));
  }

  @Test
  void mlflowTensorInstancesMatchV2() throws Exception {
    assertPredictionsEqualV2(postJson(INVOCATIONS, body("instances", nestedRows(4))));
  }

  @Test
  void mlflowNamedTensorInputsMatchV2() throws Exception {
    assertPredictionsEqualV2(postJson(INVOCATIONS, body("inputs", columns())));
  }

  @Test
  void mlflowKeyedInstancesMatchV2() throws Exception {
    assertPredictionsEqualV2(postJson(INVOCATIONS, body("instances", keyedRows())));
  }

  @Test
  void mlflowWrongWidthNamesShapes() throws Exception {
    assertWrongWidthRejected(postJson(INVOCATIONS, body("inputs", nestedRows(5))), matrix.rows());
  }

  @Test
  void mlflowDataframeSplitIsRejected() throws Exception {
    ObjectNode split = ServerFixture.JSON.createObjectNode();
    split.putArray("columns").add("features");
    split.set("data", ServerFixture.JSON.createArrayNode().add(nestedRows(4).get(0)));

    HttpResponse<String> response = postJson(INVOCATIONS, body("dataframe_split", split));

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("input 'features' has shape [-1, 4]")
        .contains("'dataframe_split' carries one value per input and row")
        .contains("'instances' or 'inputs'");
  }

  @Test
  void mlflowDataframeRecordsIsRejected() throws Exception {
    HttpResponse<String> response = postJson(INVOCATIONS, body("dataframe_records", keyedRows()));

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("input 'features' has shape [-1, 4]")
        .contains("'dataframe_records' carries one value per input and row");
  }

  @Test
  void mlflowCsvIsRejected() throws Exception {
    HttpResponse<String> response = post(INVOCATIONS, "text/csv", "features\n1\n");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("input 'features' has shape [-1, 4]")
        .contains("CSV carries one value per input and row");
  }
}
