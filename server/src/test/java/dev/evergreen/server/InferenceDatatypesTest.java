package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.MODEL;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Open Inference Protocol (V2) datatypes, shapes, parameters and requested outputs. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class InferenceDatatypesTest {
  private static final String INFER = "/v2/models/" + MODEL + "/infer";

  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private HttpResponse<String> infer(String body) throws Exception {
    return fixture.send("POST", INFER, fixture.viewerSecret, body);
  }

  /** Returns a two-row request whose {@code distance} input has a datatype and JSON data. */
  private ObjectNode requestWithDistance(String datatype, String data) throws Exception {
    ObjectNode request =
        ServerFixture.inferRequest(fixture.binaryCheck.inputs(), ProtocolRequests.INPUTS, 2);
    ObjectNode distance = (ObjectNode) request.get("inputs").get(0);
    distance.put("datatype", datatype);
    distance.set("data", ServerFixture.JSON.readTree(data));
    return request;
  }

  private static JsonNode scores(HttpResponse<String> response) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return ServerFixture.json(response).get("outputs").get(0).get("data");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = ';',
      value = {
        "BOOL;[true, false];[1, 0]",
        "UINT8;[0, 255];[0, 255]",
        "UINT16;[300, 65535];[300, 65535]",
        "UINT32;[733, 4294967295];[733, 4294967295]",
        "UINT64;[733, 18446744073709551615];[733, 18446744073709551615]",
        "INT8;[-128, 127];[-128, 127]",
        "INT16;[-32768, 1587];[-32768, 1587]",
        "INT32;[-2147483648, 2147483647];[-2147483648, 2147483647]",
        "INT64;[-9223372036854775808, 9223372036854775807];"
            + "[-9223372036854775808, 9223372036854775807]",
        "FP32;[733.5, 1587.25];[733.5, 1587.25]",
        "FP64;[733.5, 1587.25];[733.5, 1587.25]",
        "INT32;[733.0, 1587];[733, 1587]"
      })
  void datatypeScoresLikeFp64(String datatype, String data, String fp64Data) throws Exception {
    JsonNode typed = scores(infer(requestWithDistance(datatype, data).toString()));
    JsonNode reference = scores(infer(requestWithDistance("FP64", fp64Data).toString()));

    assertThat(typed).hasSize(2);
    assertThat(typed.get(0).asDouble()).isEqualTo(reference.get(0).asDouble());
    assertThat(typed.get(1).asDouble()).isEqualTo(reference.get(1).asDouble());
  }

  @Test
  void scalarTensorsScoreOneRow() throws Exception {
    ObjectNode oneRow =
        ServerFixture.inferRequest(fixture.binaryCheck.inputs(), ProtocolRequests.INPUTS, 1);
    ObjectNode scalars = oneRow.deepCopy();
    for (JsonNode tensor : scalars.get("inputs")) {
      ((ObjectNode) tensor).putArray("shape");
    }

    JsonNode expected = scores(infer(oneRow.toString()));
    JsonNode actual = scores(infer(scalars.toString()));

    assertThat(actual).hasSize(1);
    assertThat(actual.get(0).asDouble()).isEqualTo(expected.get(0).asDouble());
  }

  @Test
  void bytesInputsAreScored() throws Exception {
    ObjectNode request = requestWithDistance("FP64", "[733, 1587]");
    ObjectNode origin = (ObjectNode) request.get("inputs").get(1);
    origin.set("data", ServerFixture.JSON.readTree("[\"BOS\", null]"));

    JsonNode data = scores(infer(request.toString()));

    assertThat(data).hasSize(2);
    assertThat(origin.get("datatype").asText()).isEqualTo("BYTES");
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(
      delimiter = ';',
      value = {
        "UINT8;[0, 256];the value 256 at data index 1 is outside its range of 0 to 255",
        "UINT8;[-1, 5];the value -1 at data index 0 is outside its range of 0 to 255",
        "INT8;[-129, 5];the value -129 at data index 0 is outside its range of -128 to 127",
        "INT16;[1, 32768];outside its range of -32768 to 32767",
        "UINT32;[1, 4294967296];outside its range of 0 to 4294967295",
        "INT32;[1, 2147483648];outside its range of -2147483648 to 2147483647",
        "INT64;[1, 9223372036854775808];the value 9223372036854775808 at data index 1",
        "UINT64;[1, 18446744073709551616];outside its range of 0 to 18446744073709551615",
        "UINT64;[-1, 1];the value -1 at data index 0",
        "INT32;[1e10, 1];the value 10000000000 at data index 0",
        "FP32;[1e39, 1];the value 1.0E39 at data index 0"
      })
  void outOfRangeValueIsRejected(String datatype, String data, String message) throws Exception {
    HttpResponse<String> response = infer(requestWithDistance(datatype, data).toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("input 'distance' has datatype " + datatype)
        .contains(message);
  }

  @Test
  void fp16IsRejectedWithAdvice() throws Exception {
    HttpResponse<String> response = infer(requestWithDistance("FP16", "[733, 1587]").toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("input 'distance' has datatype FP16")
        .contains("send the values as FP32 or FP64");
  }

  @Test
  void unknownDatatypeListsValidOnes() throws Exception {
    HttpResponse<String> response = infer(requestWithDistance("FLOAT64", "[733, 1587]").toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("input 'distance' has the unknown datatype 'FLOAT64'")
        .contains("BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32");
  }

  @Test
  void boolRejectsNumbers() throws Exception {
    HttpResponse<String> response = infer(requestWithDistance("BOOL", "[true, 1]").toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("input 'distance' (BOOL) contains a number at data index 1");
  }

  @Test
  void numericDatatypeRejectsBooleans() throws Exception {
    HttpResponse<String> response = infer(requestWithDistance("INT32", "[1, false]").toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("input 'distance' (INT32) contains a boolean at data index 1");
  }

  @Test
  void bytesInputRejectsBool() throws Exception {
    ObjectNode request = requestWithDistance("FP64", "[733, 1587]");
    ObjectNode origin = (ObjectNode) request.get("inputs").get(1);
    origin.put("datatype", "BOOL");
    origin.set("data", ServerFixture.JSON.readTree("[true, false]"));

    HttpResponse<String> response = infer(request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("input 'origin' has datatype BOOL but the model expects strings: send BYTES");
  }

  @Test
  void shapeProductMustEqualDataLength() throws Exception {
    ObjectNode request = requestWithDistance("FP64", "[733, 1587]");
    ObjectNode distance = (ObjectNode) request.get("inputs").get(0);
    distance.putArray("shape").add(1).add(3);

    HttpResponse<String> response = infer(request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("input 'distance' has shape [1, 3], which is 3 elements, but its data has 2");
  }

  @Test
  void nestedShapeWithMatchingCountIsAccepted() throws Exception {
    ObjectNode request = requestWithDistance("UINT16", "[[733], [1587]]");
    ((ObjectNode) request.get("inputs").get(0)).putArray("shape").add(2).add(1);

    JsonNode typed = scores(infer(request.toString()));
    JsonNode reference = scores(infer(requestWithDistance("FP64", "[733, 1587]").toString()));

    assertThat(typed.get(0).asDouble()).isEqualTo(reference.get(0).asDouble());
    assertThat(typed.get(1).asDouble()).isEqualTo(reference.get(1).asDouble());
  }

  @Test
  void idAndParametersAreAccepted() throws Exception {
    ObjectNode request = requestWithDistance("FP64", "[733, 1587]");
    request.put("id", "req-7");
    request.putObject("parameters").put("content_type", "pd").put("priority", 2);
    ((ObjectNode) request.get("inputs").get(1)).putObject("parameters").put("content_type", "str");

    HttpResponse<String> response = infer(request.toString());

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(ServerFixture.json(response).get("id").asText()).isEqualTo("req-7");
    assertThat(ServerFixture.json(response).get("outputs").get(0).get("data")).hasSize(2);
  }

  @Test
  void parametersMustBeObject() throws Exception {
    ObjectNode request = requestWithDistance("FP64", "[733, 1587]");
    request.putArray("parameters");

    HttpResponse<String> response = infer(request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("request has 'parameters' that are not an object: an array");
  }

  @Test
  void binaryDataParametersAreRejected() throws Exception {
    ObjectNode requestLevel = requestWithDistance("FP64", "[733, 1587]");
    requestLevel.putObject("parameters").put("binary_data_output", true);
    ObjectNode inputLevel = requestWithDistance("FP64", "[733, 1587]");
    ((ObjectNode) inputLevel.get("inputs").get(0))
        .putObject("parameters")
        .put("binary_data_size", 16);
    ObjectNode outputLevel = requestWithDistance("FP64", "[733, 1587]");
    ObjectNode output = outputLevel.putArray("outputs").addObject().put("name", "probability");
    output.putObject("parameters").put("binary_data", true);

    for (ObjectNode request : List.of(requestLevel, inputLevel, outputLevel)) {
      HttpResponse<String> response = infer(request.toString());

      assertThat(response.statusCode()).isEqualTo(400);
      assertThat(ProtocolRequests.error(response))
          .contains("does not implement the binary tensor data extension");
    }
  }

  @Test
  void requestedOutputIsReturned() throws Exception {
    ObjectNode request = requestWithDistance("FP64", "[733, 1587]");
    ObjectNode output = request.putArray("outputs").addObject().put("name", "probability");
    output.putObject("parameters").put("binary_data", false);

    HttpResponse<String> response = infer(request.toString());

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode outputs = ServerFixture.json(response).get("outputs");
    assertThat(outputs).hasSize(1);
    assertThat(outputs.get(0).get("name").asText()).isEqualTo("probability");
    assertThat(outputs.get(0).get("data")).hasSize(2);
  }

  @Test
  void emptyOutputListReturnsNoOutputs() throws Exception {
    ObjectNode request = requestWithDistance("FP64", "[733, 1587]");
    request.putArray("outputs");

    HttpResponse<String> response = infer(request.toString());

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode outputs = ServerFixture.json(response).get("outputs");
    assertThat(outputs.isArray()).isTrue();
    assertThat(outputs).isEmpty();
  }

  @Test
  void unknownOrRepeatedOutputIsRejected() throws Exception {
    ObjectNode unknown = requestWithDistance("FP64", "[733, 1587]");
    unknown.putArray("outputs").addObject().put("name", "label");
    ObjectNode repeated = requestWithDistance("FP64", "[733, 1587]");
    ArrayNode outputs = repeated.putArray("outputs");
    outputs.addObject().put("name", "probability");
    outputs.addObject().put("name", "probability");

    HttpResponse<String> unknownResponse = infer(unknown.toString());
    HttpResponse<String> repeatedResponse = infer(repeated.toString());

    assertThat(unknownResponse.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(unknownResponse))
        .contains("unknown output 'label'; the model returns probability");
    assertThat(repeatedResponse.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(repeatedResponse))
        .contains("output 'probability' is requested more than once");
  }
}
