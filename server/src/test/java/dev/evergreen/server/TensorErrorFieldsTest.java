package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.core.serving.external.ExternalFixtures;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Sends tensors with one bad element over V2 inference, KServe V1 and MLflow's {@code
 * /invocations}, and checks that each 400 names the input, the element's position and its value.
 * The models are {@code flights} (one value per row) and the ONNX logistic regression {@code
 * ext-matrix} with one FP32 input {@code features} of shape {@code [-1, 4]}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TensorErrorFieldsTest {
  private static final String FLIGHTS_INFER = "/v2/models/" + ServerFixture.MODEL + "/infer";
  private static final String MATRIX = "ext-matrix";
  private static final String MATRIX_INFER = "/v2/models/" + MATRIX + "/infer";

  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
    fixture.registerOnnx(
        MATRIX,
        "flights-logistic-fp32.onnx",
        ExternalFixtures.file("flights-logistic-fp32.onnx"),
        ExternalFixtures.LOGISTIC_FP32_SIGNATURE);
    fixture.deployVersion(MATRIX, 1);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  /** Sends a request with the flights inputs, {@code distance} replaced by raw JSON fields. */
  private HttpResponse<String> inferDistance(String distance) throws Exception {
    String body =
        "{\"inputs\": ["
            + distance
            + ", {\"name\": \"origin\", \"shape\": [2], \"datatype\": \"BYTES\","
            + " \"data\": [\"BOS\", \"ORD\"]},"
            + " {\"name\": \"destination\", \"shape\": [2], \"datatype\": \"BYTES\","
            + " \"data\": [\"ORD\", \"BOS\"]},"
            + " {\"name\": \"date\", \"shape\": [2], \"datatype\": \"BYTES\","
            + " \"data\": [\"2001-03-05T07:15:00\", \"2001-03-05T09:15:00\"]}]}";
    return fixture.send("POST", FLIGHTS_INFER, fixture.viewerSecret, body);
  }

  private static String error(HttpResponse<String> response) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    return ProtocolRequests.error(response);
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(
      delimiter = ';',
      value = {
        "FP64;[733, true];input 'distance' (FP64) contains a boolean at data index 1, the value true",
        "INT32;[false, 5];input 'distance' (INT32) contains a boolean at data index 0, the value false",
        "BOOL;[true, 5];input 'distance' (BOOL) contains a number at data index 1, the value 5",
        "BOOL;[true, 2.5];input 'distance' (BOOL) contains a number at data index 1, the value 2.5",
        "BOOL;[\"yes\", true];input 'distance' (BOOL) contains a string at data index 0, the value \"yes\"",
        "FP64;[733, \"far\"];input 'distance' (FP64) contains the string \"far\" at data index 1",
        "INT16;[733, 1.5];the value 1.5 at data index 1 is not an integer"
      })
  void numericInputElementNamesValue(String datatype, String data, String expected)
      throws Exception {
    HttpResponse<String> response =
        inferDistance(
            "{\"name\": \"distance\", \"shape\": [2], \"datatype\": \""
                + datatype
                + "\", \"data\": "
                + data
                + "}");

    assertThat(error(response)).contains(expected);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = ';',
      value = {
        "[\"BOS\", 733];input 'origin' (BYTES) contains the number 733 at data index 1",
        "[false, \"BOS\"];input 'origin' (BYTES) contains a boolean at data index 0, the value false"
      })
  void bytesInputElementNamesValue(String data, String expected) throws Exception {
    String body =
        "{\"inputs\": [{\"name\": \"distance\", \"shape\": [2], \"datatype\": \"FP64\","
            + " \"data\": [733, 1587]},"
            + " {\"name\": \"origin\", \"shape\": [2], \"datatype\": \"BYTES\", \"data\": "
            + data
            + "}]}";

    HttpResponse<String> response = fixture.send("POST", FLIGHTS_INFER, fixture.viewerSecret, body);

    assertThat(error(response)).contains(expected);
  }

  @Test
  void objectInDataNamesInputSentAfterData() throws Exception {
    HttpResponse<String> response =
        inferDistance(
            "{\"shape\": [2], \"datatype\": \"FP64\", \"data\": [733, {\"km\": 1}],"
                + " \"name\": \"distance\"}");

    String message = error(response);
    assertThat(message).contains("input 'distance' has an object at data index 1");
    assertThat(message).contains("data must contain numbers, booleans, strings or null");
  }

  @Test
  void matrixElementNamesRowAndColumn() throws Exception {
    String body =
        "{\"inputs\": [{\"name\": \"features\", \"shape\": [2, 4], \"datatype\": \"FP32\","
            + " \"data\": [0.1, 0.2, 0.3, 0.4, 0.5, \"x\", 0.7, 0.8]}]}";

    HttpResponse<String> response = fixture.send("POST", MATRIX_INFER, fixture.viewerSecret, body);

    assertThat(error(response))
        .contains(
            "input 'features' (FP32) contains the string \"x\" at data index 5 (row 1, column 1)");
  }

  @Test
  void matrixOutOfRangeNamesRowAndColumn() throws Exception {
    String body =
        "{\"inputs\": [{\"name\": \"features\", \"shape\": [2, 4], \"datatype\": \"FP32\","
            + " \"data\": [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 1e39, 0.8]]}]}";

    HttpResponse<String> response = fixture.send("POST", MATRIX_INFER, fixture.viewerSecret, body);

    String message = error(response);
    assertThat(message).contains("input 'features' has datatype FP32");
    assertThat(message).contains("at data index 6 (row 1, column 2)");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = ';',
      value = {
        "/v1/models/ext-matrix:predict;{\"instances\": [[0.1, 0.2, 0.3, 0.4], [0.5, \"x\", 0.7,"
            + " 0.8]]};instances[1][1] is the string \"x\" but input 'features' takes numbers",
        "/v1/models/ext-matrix:predict;{\"instances\": [{\"features\": [0.1, 0.2, 0.3, 0.4]},"
            + " {\"features\": [0.5, 0.6, 0.7, 1e39]}]};instances[1].features[3] is 1e39, which is"
            + " outside the FP32 range",
        "/invocations?model=ext-matrix;{\"instances\": [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7,"
            + " {}]]};instances[1][3] is an object but input 'features' takes numbers",
        "/v1/models/ext-matrix:predict;{\"instances\": [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6,"
            + " 0.7]]};input 'features' needs the same shape in every row, but instances[0] has"
            + " shape [4] and instances[1] has shape [3]"
      })
  void nestedRowElementNamesField(String path, String body, String expected) throws Exception {
    HttpResponse<String> response = fixture.send("POST", path, fixture.viewerSecret, body);

    assertThat(error(response)).contains(expected);
  }
}
