package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.MODEL;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
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
 * Sends V2, KServe V1 and MLflow inference requests whose numbers, written as JSON text, lie beyond
 * the range of their datatype or of a double. Jackson reads a number beyond the double range as an
 * infinity, and each message must show the number as the request wrote it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class InferenceNumberRangeTest {
  private static final String INFER = "/v2/models/" + MODEL + "/infer";
  private static final String FP64_RANGE =
      "outside its range of -1.7976931348623157E308 to 1.7976931348623157E308";

  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  /**
   * Sends a two-row request of the check rows with the {@code distance} input replaced: its
   * datatype, shape and data as raw JSON text, so that numbers reach the server as written.
   */
  private HttpResponse<String> inferDistance(String datatype, String shape, String data)
      throws Exception {
    ObjectNode request =
        ServerFixture.inferRequest(fixture.binaryCheck.inputs(), ProtocolRequests.INPUTS, 2);
    ObjectNode distance = (ObjectNode) request.get("inputs").get(0);
    distance.put("datatype", datatype);
    distance.putRawValue("shape", new RawValue(shape));
    distance.putRawValue("data", new RawValue(data));
    return fixture.send("POST", INFER, fixture.viewerSecret, request.toString());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = ';',
      value = {
        "[1e400, 733];the value 1e400 at data index 0",
        "[733, -1e400];the value -1e400 at data index 1",
        "[733, 1.5E+309];the value 1.5E+309 at data index 1",
        "[733, 123456789e305];the value 123456789e305 at data index 1"
      })
  void fp64BeyondDoubleRangeIsRejected(String data, String message) throws Exception {
    HttpResponse<String> response = inferDistance("FP64", "[2]", data);

    assertThat(response.statusCode()).isEqualTo(400);
    String error = ProtocolRequests.error(response);
    assertThat(error).contains("input 'distance' has datatype FP64");
    assertThat(error).contains(message);
    assertThat(error).contains(FP64_RANGE);
    assertThat(error).contains("send a number within that range");
  }

  @Test
  void fp64IntegerBeyondDoubleRangeIsRejected() throws Exception {
    String digits = "9".repeat(400);

    HttpResponse<String> response = inferDistance("FP64", "[2]", "[733, " + digits + "]");

    assertThat(response.statusCode()).isEqualTo(400);
    String error = ProtocolRequests.error(response);
    assertThat(error).contains("input 'distance' has datatype FP64");
    assertThat(error).contains("the value " + digits.substring(0, 40) + "... at data index 1");
    assertThat(error).contains(FP64_RANGE);
  }

  @Test
  void fp64InNestedDataNamesFlatIndex() throws Exception {
    HttpResponse<String> response = inferDistance("FP64", "[2, 1]", "[[733], [1e400]]");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response)).contains("the value 1e400 at data index 1");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = ';',
      value = {
        "FP32;-3.4028235E38 to 3.4028235E38",
        "INT8;-128 to 127",
        "INT32;-2147483648 to 2147483647",
        "INT64;-9223372036854775808 to 9223372036854775807",
        "UINT8;0 to 255",
        "UINT64;0 to 18446744073709551615"
      })
  void beyondDoubleRangeNamesValueAsSent(String datatype, String range) throws Exception {
    HttpResponse<String> response = inferDistance(datatype, "[2]", "[7, 1e400]");

    assertThat(response.statusCode()).isEqualTo(400);
    String error = ProtocolRequests.error(response);
    assertThat(error).contains("input 'distance' has datatype " + datatype);
    assertThat(error).contains("the value 1e400 at data index 1");
    assertThat(error).contains("outside its range of " + range);
    assertThat(error).doesNotContain("Infinity");
    assertThat(error).doesNotContain("wider datatype");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"3.4028235e38", "-3.4028235E38", "3.4028234663852886E38", "3.40282355E38"})
  void fp32LargestValueIsScored(String value) throws Exception {
    HttpResponse<String> response = inferDistance("FP32", "[2]", "[733, " + value + "]");

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"3.4028236e38", "-3.5e38", "1e39"})
  void fp32BeyondRangeIsRejected(String value) throws Exception {
    HttpResponse<String> response = inferDistance("FP32", "[2]", "[" + value + ", 733]");

    assertThat(response.statusCode()).isEqualTo(400);
    String error = ProtocolRequests.error(response);
    assertThat(error).contains("input 'distance' has datatype FP32");
    assertThat(error).contains("but the value " + value + " at data index 0");
    assertThat(error).contains("outside its range of -3.4028235E38 to 3.4028235E38");
    assertThat(error)
        .endsWith(
            "send it as FP64 if the model's input is FP64, or a value within that range if it is"
                + " FP32");
    assertThat(error).doesNotContain("000000000");
  }

  @Test
  void fp64UnderflowIsScoredAsZero() throws Exception {
    HttpResponse<String> tiny = inferDistance("FP64", "[2]", "[1e-400, 733]");
    HttpResponse<String> zero = inferDistance("FP64", "[2]", "[0, 733]");

    assertThat(tiny.statusCode()).as(tiny.body()).isEqualTo(200);
    assertThat(ServerFixture.json(tiny).get("outputs").get(0).get("data"))
        .isEqualTo(ServerFixture.json(zero).get("outputs").get(0).get("data"));
  }

  /** Sends a KServe V1 request of one row whose distance is the given JSON text. */
  private HttpResponse<String> predictDistance(String distance) throws Exception {
    String body =
        "{\"instances\": [{\"distance\": "
            + distance
            + ", \"origin\": \"BOS\", \"destination\": \"ORD\", \"date\": null}]}";
    return ProtocolRequests.post(
        fixture, "/v1/models/" + MODEL + ":predict", fixture.viewerSecret, null, body);
  }

  private HttpResponse<String> invoke(String body) throws Exception {
    return ProtocolRequests.post(
        fixture, "/invocations?model=" + MODEL, fixture.viewerSecret, "application/json", body);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"1e400", "-1e400", "1.5E+309", "123456789e305", "1E400"})
  void v1OverflowShowsWrittenNumber(String value) throws Exception {
    HttpResponse<String> response = predictDistance(value);

    assertThat(response.statusCode()).isEqualTo(400);
    String error = ProtocolRequests.error(response);
    assertThat(error).contains("instances[0].distance is " + value + ", which is outside");
    assertThat(error).contains("FP64 range of -1.7976931348623157E308 to 1.7976931348623157E308");
    assertThat(error).contains("for input 'distance'");
    assertThat(error).contains("send a number within that range");
    assertThat(error).doesNotContain("Infinity");
  }

  @Test
  void v1HugeIntegerIsAbbreviated() throws Exception {
    String digits = "9".repeat(400);

    HttpResponse<String> response = predictDistance(digits);

    assertThat(response.statusCode()).isEqualTo(400);
    String error = ProtocolRequests.error(response);
    assertThat(error).contains("instances[0].distance is " + digits.substring(0, 40) + "...,");
    assertThat(error).contains(FP64_RANGE.replace("its range", "the FP64 range"));
  }

  @Test
  void v1LargestDoubleIsScored() throws Exception {
    HttpResponse<String> response = predictDistance("1.7976931348623157e308");

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
  }

  @Test
  void mlflowRowOverflowShowsWrittenNumber() throws Exception {
    HttpResponse<String> response = invoke("{\"instances\": [[1e400, \"BOS\", \"ORD\", null]]}");

    assertThat(response.statusCode()).isEqualTo(400);
    String error = ProtocolRequests.error(response);
    assertThat(error).contains("instances[0][0] is 1e400, which is outside the FP64 range");
    assertThat(error).doesNotContain("Infinity");
  }

  @Test
  void mlflowSplitOverflowShowsWrittenNumber() throws Exception {
    String body =
        "{\"dataframe_split\": {\"columns\": [\"distance\", \"origin\", \"destination\","
            + " \"date\"], \"data\": [[-2.5e308, \"BOS\", \"ORD\", null]]}}";

    HttpResponse<String> response = invoke(body);

    assertThat(response.statusCode()).isEqualTo(400);
    String error = ProtocolRequests.error(response);
    assertThat(error).contains("dataframe_split.data[0][0] is -2.5e308, which is outside");
    assertThat(error).doesNotContain("Infinity");
  }

  @Test
  void mlflowColumnsOverflowShowsWrittenNumber() throws Exception {
    String body =
        "{\"inputs\": {\"distance\": [733, 1e999], \"origin\": [\"BOS\", \"SFO\"],"
            + " \"destination\": [\"ORD\", \"JFK\"], \"date\": [null, null]}}";

    HttpResponse<String> response = invoke(body);

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("inputs.distance[1] is 1e999, which is outside the FP64 range");
  }
}
