package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.evergreen.api.pipeline.BatchingSpec;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.external.ExternalFixtures;
import dev.evergreen.core.serving.external.OnnxGraphs;
import io.micrometer.core.instrument.Counter;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Requests with missing values, over real HTTP, for ONNX models that cannot score them and for the
 * XGBoost models that can: V2 REST, MLflow's {@code /invocations} (JSON and CSV), KServe V1,
 * dynamic batching and a shadow.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MissingValueScoringTest {
  /** The scikit-learn logistic regression, input {@code features} of shape {@code [-1, 4]}. */
  private static final String LOGISTIC = "ext-logistic";

  /** {@code exp(distance) + hour} without an imputer, FP64 inputs of shape {@code [-1]}. */
  private static final String EXP = "ext-exp";

  /** Version 1 imputes missing values with 0, version 2 is {@link #EXP}'s graph. */
  private static final String IMPUTED = "ext-imputed";

  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
    fixture.registerOnnx(
        LOGISTIC,
        LOGISTIC + ".onnx",
        ExternalFixtures.file("flights-logistic-fp32.onnx"),
        ExternalFixtures.LOGISTIC_FP32_SIGNATURE);
    fixture.registerOnnx(EXP, EXP + ".onnx", OnnxGraphs.expSum(), OnnxGraphs.EXP_SUM_SIGNATURE);
    fixture.registerOnnx(
        IMPUTED, IMPUTED + ".onnx", OnnxGraphs.imputedExpSum(), OnnxGraphs.EXP_SUM_SIGNATURE);
    fixture.registerOnnx(
        IMPUTED, IMPUTED + ".onnx", OnnxGraphs.expSum(), OnnxGraphs.EXP_SUM_SIGNATURE);
    for (String model : new String[] {LOGISTIC, EXP, IMPUTED}) {
      fixture.deployVersion(model, 1);
    }
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private HttpResponse<String> post(String path, String contentType, String body) throws Exception {
    return ProtocolRequests.post(fixture, path, fixture.viewerSecret, contentType, body);
  }

  private HttpResponse<String> infer(String model, String body) throws Exception {
    return post("/v2/models/" + model + "/infer", "application/json", body);
  }

  /** Returns a V2 request with FP64 tensors {@code distance} and {@code hour}. */
  private static String distanceAndHour(String distance, String hour) {
    return "{\"inputs\": [{\"name\": \"distance\", \"shape\": [2], \"datatype\": \"FP64\","
        + " \"data\": "
        + distance
        + "}, {\"name\": \"hour\", \"shape\": [2], \"datatype\": \"FP64\", \"data\": "
        + hour
        + "}]}";
  }

  @Test
  void v2NullInMatrixIsRejectedNamingRow() throws Exception {
    String request =
        "{\"inputs\": [{\"name\": \"features\", \"shape\": [2, 4], \"datatype\": \"FP32\","
            + " \"data\": [733, 7, 2, 15, 1200, null, 5, 20]}]}";

    HttpResponse<String> response = infer(LOGISTIC, request);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(response.body()).doesNotContain("outputs");
    assertThat(ProtocolRequests.error(response))
        .contains("row 1 has a missing value in input 'features[1]'")
        .contains("model 'ext-logistic' version 1")
        .contains("does not score missing values")
        .contains("fill in the missing values");
  }

  @Test
  void v2NullInColumnIsRejectedNamingInputs() throws Exception {
    HttpResponse<String> response = infer(EXP, distanceAndHour("[null, 1]", "[null, 2]"));

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("row 0 has a missing value in inputs 'distance', 'hour'")
        .contains("model 'ext-exp' version 1");
  }

  @Test
  void v2InfiniteScoreIsServerError() throws Exception {
    HttpResponse<String> response = infer(EXP, distanceAndHour("[0, 1000]", "[1, 2]"));

    assertThat(response.statusCode()).as(response.body()).isEqualTo(500);
    assertThat(ProtocolRequests.error(response))
        .contains("model 'ext-exp' version 1")
        .contains("non-finite output for row 1")
        .contains("no missing value");
  }

  @Test
  void v2FiniteScoresAreReturned() throws Exception {
    HttpResponse<String> response = infer(EXP, distanceAndHour("[0, 0]", "[1, 2]"));

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode data = ServerFixture.json(response).get("outputs").get(0).get("data");
    assertThat(data.get(0).asDouble()).isEqualTo(2.0);
    assertThat(data.get(1).asDouble()).isEqualTo(3.0);
  }

  @Test
  void v2XgboostScoresMissingDistance() throws Exception {
    InputBatch rows = fixture.binaryCheck.inputs();
    Map<String, double[]> numeric = new HashMap<>(rows.numeric());
    double[] distance = numeric.get("distance").clone();
    distance[0] = Double.NaN;
    numeric.put("distance", distance);
    InputBatch withMissing = new InputBatch(rows.rows(), numeric, rows.text());
    String request = ServerFixture.inferRequest(withMissing, ProtocolRequests.INPUTS, 2).toString();
    assertThat(request).contains("null");

    HttpResponse<String> response = infer(ServerFixture.MODEL, request);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode data = ServerFixture.json(response).get("outputs").get(0).get("data");
    assertThat(data).hasSize(2);
    assertThat(data.get(0).isNumber()).as(data.toString()).isTrue();
    assertThat(data.get(0).asDouble()).isBetween(0.0, 1.0);
  }

  @Test
  void mlflowCsvEmptyFieldIsRejected() throws Exception {
    HttpResponse<String> response =
        post("/invocations?model=" + EXP, "text/csv", "distance,hour\n1,2\n,3\n");

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("row 1 has a missing value in input 'distance'")
        .contains("model 'ext-exp' version 1")
        .contains("does not score missing values");
  }

  @Test
  void mlflowRecordWithoutKeyIsRejected() throws Exception {
    String request = "{\"dataframe_records\": [{\"distance\": 1, \"hour\": 2}, {\"hour\": 3}]}";

    HttpResponse<String> response = post("/invocations?model=" + EXP, "application/json", request);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("row 1 has a missing value in input 'distance'")
        .contains("model 'ext-exp' version 1");
  }

  @Test
  void mlflowNullMatrixElementIsRejected() throws Exception {
    String request = "{\"inputs\": [[733, 7, 2, 15], [1200, 8, null, 20]]}";

    HttpResponse<String> response =
        post("/invocations?model=" + LOGISTIC, "application/json", request);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("row 1 has a missing value in input 'features[2]'");
  }

  @Test
  void mlflowCompleteCsvIsScored() throws Exception {
    HttpResponse<String> response =
        post("/invocations?model=" + EXP, "text/csv", "distance,hour\n0,2\n0,3\n");

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode predictions = ServerFixture.json(response).get("predictions");
    assertThat(predictions.get(0).asDouble()).isEqualTo(3.0);
    assertThat(predictions.get(1).asDouble()).isEqualTo(4.0);
  }

  @Test
  void kserveNullInstanceValueIsRejected() throws Exception {
    String request = "{\"instances\": [{\"distance\": null, \"hour\": 1}]}";

    HttpResponse<String> response =
        post("/v1/models/" + EXP + ":predict", "application/json", request);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("row 0 has a missing value in input 'distance'");
  }

  @Test
  void batchedNullIsRejected() throws Exception {
    fixture.evergreen.router().configureBatching(EXP, new BatchingSpec(16, 1.0, 100));
    try {
      HttpResponse<String> response = infer(EXP, distanceAndHour("[0, null]", "[1, 2]"));

      assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
      assertThat(ProtocolRequests.error(response))
          .contains("row 1 has a missing value in input 'distance'");
    } finally {
      fixture.evergreen.router().configureBatching(EXP, null);
    }
  }

  @Test
  void shadowWithoutImputerDoesNotFailCaller() throws Exception {
    HttpResponse<String> shadow =
        fixture.send(
            "POST",
            "/api/v1/models/" + IMPUTED + "/shadow",
            fixture.operatorSecret,
            "{\"version\": 2, \"percent\": 100, \"tolerance\": 0.001}");
    assertThat(shadow.statusCode()).as(shadow.body()).isEqualTo(200);

    HttpResponse<String> response = infer(IMPUTED, distanceAndHour("[null, 0]", "[1, 2]"));

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode data = ServerFixture.json(response).get("outputs").get(0).get("data");
    assertThat(data.get(0).asDouble()).isEqualTo(2.0);
    assertThat(data.get(1).asDouble()).isEqualTo(3.0);
    Counter errors =
        fixture
            .meters
            .get("evergreen.shadow.comparisons")
            .tags("model", IMPUTED, "version", "2", "outcome", "error")
            .counter();
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (errors.count() < 1 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(errors.count()).isEqualTo(1.0);
  }
}
