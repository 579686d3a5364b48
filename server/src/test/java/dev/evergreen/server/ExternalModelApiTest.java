package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.external.ExternalFixtures;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code POST /api/v1/models/{name}/versions}, then deploy and V2 inference over HTTP. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExternalModelApiTest {
  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private static ObjectNode registration(String format, String fileName, String signature)
      throws Exception {
    ObjectNode body = ServerFixture.JSON.createObjectNode();
    body.put("format", format);
    body.put("file_name", fileName);
    body.put("file", Base64.getEncoder().encodeToString(ExternalFixtures.file(fileName)));
    body.set("signature", ServerFixture.JSON.readTree(signature));
    return body;
  }

  private HttpResponse<String> register(String model, ObjectNode body, String secret)
      throws Exception {
    return fixture.send("POST", "/api/v1/models/" + model + "/versions", secret, body.toString());
  }

  private void assertNotRegistered(String model) throws Exception {
    HttpResponse<String> show =
        fixture.send("GET", "/api/v1/models/" + model, fixture.viewerSecret, null);
    assertThat(show.statusCode()).as(show.body()).isEqualTo(404);
    for (AuditEntry entry : fixture.evergreen.store().listAuditEntries(0, 10_000)) {
      if (entry.action().equals(AuditActions.MODEL_REGISTERED)) {
        assertThat(entry.targets().get("model")).isNotEqualTo(model);
      }
    }
  }

  private void deploy(String model) throws Exception {
    HttpResponse<String> deployed =
        fixture.send(
            "POST",
            "/api/v1/models/" + model + "/deploy",
            fixture.operatorSecret,
            "{\"version\": 1}");
    assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(200);
  }

  private static double[] data(JsonNode response) {
    JsonNode data = response.get("outputs").get(0).get("data");
    double[] values = new double[data.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = data.get(i).asDouble();
    }
    return values;
  }

  @Test
  void registerXgboostThenDeployAndInferMatchesPython() throws Exception {
    ObjectNode body =
        registration(
            "xgboost-json", "flights-xgboost.json", ExternalFixtures.XGBOOST_COLUMNS_SIGNATURE);
    ObjectNode check = body.putObject("check");
    ObjectNode checkInputs = check.putObject("inputs");
    String[] names = {"distance", "hour", "day_of_week", "day_of_month"};
    for (int i = 0; i < names.length; i++) {
      double[] column = ExternalFixtures.column(i);
      checkInputs.set(names[i], ServerFixture.JSON.valueToTree(column));
    }
    check.set("expected", ExternalFixtures.expected().get("xgboost"));

    HttpResponse<String> registered = register("ext-xgb", body, fixture.operatorSecret);

    assertThat(registered.statusCode()).as(registered.body()).isEqualTo(201);
    JsonNode version = ServerFixture.json(registered);
    assertThat(version.get("model").asText()).isEqualTo("ext-xgb");
    assertThat(version.get("version").asInt()).isEqualTo(1);
    assertThat(version.get("artifact_sha256").asText()).hasSize(64);

    deploy("ext-xgb");
    InputBatch rows =
        new InputBatch(
            20,
            Map.of(
                "distance", ExternalFixtures.column(0),
                "hour", ExternalFixtures.column(1),
                "day_of_week", ExternalFixtures.column(2),
                "day_of_month", ExternalFixtures.column(3)),
            Map.of());
    HttpResponse<String> inferred =
        fixture.send(
            "POST",
            "/v2/models/ext-xgb/infer",
            fixture.viewerSecret,
            ServerFixture.inferRequest(
                    rows,
                    fixture
                        .evergreen
                        .deployments()
                        .serving("ext-xgb")
                        .orElseThrow()
                        .active()
                        .signature()
                        .inputs(),
                    20)
                .toString());

    assertThat(inferred.statusCode()).as(inferred.body()).isEqualTo(200);
    JsonNode response = ServerFixture.json(inferred);
    assertThat(response.get("outputs").get(0).get("name").asText()).isEqualTo("probability");
    assertThat(data(response)).containsExactly(ExternalFixtures.scores("xgboost"), within(1e-6));
  }

  @Test
  void onnxMatrixInputOverV2() throws Exception {
    ObjectNode body =
        registration(
            "onnx", "flights-logistic-fp32.onnx", ExternalFixtures.LOGISTIC_FP32_SIGNATURE);
    HttpResponse<String> registered = register("ext-matrix", body, fixture.operatorSecret);
    assertThat(registered.statusCode()).as(registered.body()).isEqualTo(201);
    deploy("ext-matrix");
    InputBatch matrix = ExternalFixtures.featureMatrix();
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    ObjectNode tensor = request.putArray("inputs").addObject();
    tensor.put("name", "features");
    tensor.putArray("shape").add(matrix.rows()).add(4);
    tensor.put("datatype", "FP32");
    ArrayNode data = tensor.putArray("data");
    for (double value : matrix.numeric().get("features")) {
      data.add(value);
    }

    HttpResponse<String> inferred =
        fixture.send(
            "POST", "/v2/models/ext-matrix/infer", fixture.viewerSecret, request.toString());
    tensor.putArray("shape").add(matrix.rows()).add(5);
    HttpResponse<String> wrongShape =
        fixture.send(
            "POST", "/v2/models/ext-matrix/infer", fixture.viewerSecret, request.toString());

    assertThat(inferred.statusCode()).as(inferred.body()).isEqualTo(200);
    JsonNode output = ServerFixture.json(inferred).get("outputs").get(0);
    assertThat(output.get("shape").get(0).asInt()).isEqualTo(matrix.rows());
    assertThat(output.get("shape").get(1).asInt()).isEqualTo(2);
    assertThat(data(ServerFixture.json(inferred)))
        .containsExactly(ExternalFixtures.scores("logistic"), within(1e-5));
    assertThat(wrongShape.statusCode()).isEqualTo(400);
    assertThat(wrongShape.body()).contains("features");
  }

  @Test
  void registerOnnxWithStringInputThenInfer() throws Exception {
    ObjectNode body =
        registration("onnx", "origin-late-rate.onnx", ExternalFixtures.ORIGIN_SIGNATURE);

    HttpResponse<String> registered = register("ext-origin", body, fixture.operatorSecret);

    assertThat(registered.statusCode()).as(registered.body()).isEqualTo(201);
    deploy("ext-origin");
    String request =
        """
        {"inputs": [{"name": "origin", "shape": [3], "datatype": "BYTES",
                     "data": ["ATL", "ORD", "XXX"]}]}
        """;
    HttpResponse<String> inferred =
        fixture.send("POST", "/v2/models/ext-origin/infer", fixture.viewerSecret, request);

    assertThat(inferred.statusCode()).as(inferred.body()).isEqualTo(200);
    double[] expected = ExternalFixtures.scores("origin_late_rate");
    JsonNode origins = ExternalFixtures.expected().get("origins");
    int atl = indexOf(origins, "ATL");
    int ord = indexOf(origins, "ORD");
    assertThat(data(ServerFixture.json(inferred)))
        .containsExactly(new double[] {expected[atl], expected[ord], -1.0}, within(1e-6));
    JsonNode metadata =
        ServerFixture.json(
            fixture.send("GET", "/v2/models/ext-origin", fixture.viewerSecret, null));
    assertThat(metadata.get("platform").asText()).isEqualTo("onnxruntime_onnx");
  }

  private static int indexOf(JsonNode values, String value) {
    for (int i = 0; i < values.size(); i++) {
      if (values.get(i).asText().equals(value)) {
        return i;
      }
    }
    throw new AssertionError(value + " not in " + values);
  }

  @Test
  void registerRejectsTruncatedOnnxFile() throws Exception {
    ObjectNode body = registration("onnx", "flights-tree.onnx", ExternalFixtures.TREE_SIGNATURE);
    byte[] truncated = Arrays.copyOf(ExternalFixtures.file("flights-tree.onnx"), 500);
    body.put("file", Base64.getEncoder().encodeToString(truncated));

    HttpResponse<String> response = register("ext-broken", body, fixture.operatorSecret);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(response.body()).contains("ONNX Runtime cannot open the model file");
    assertNotRegistered("ext-broken");
  }

  @Test
  void registerRejectsSignatureThatDoesNotMatchModel() throws Exception {
    ObjectNode body =
        registration(
            "onnx",
            "flights-logistic-fp32.onnx",
            ExternalFixtures.LOGISTIC_FP32_SIGNATURE.replace("[-1, 4]", "[-1, 3]"));

    HttpResponse<String> response = register("ext-mismatch", body, fixture.operatorSecret);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(response.body())
        .contains("input 'features' is declared with shape [-1, 3]")
        .contains("the ONNX model has shape [-1, 4]");
    assertNotRegistered("ext-mismatch");
  }

  @Test
  void registerRejectsInvalidSignatureField() throws Exception {
    ObjectNode body =
        registration(
            "onnx",
            "flights-logistic-fp32.onnx",
            ExternalFixtures.LOGISTIC_FP32_SIGNATURE.replace("\"FP32\"", "\"float\""));

    HttpResponse<String> response = register("ext-bad-signature", body, fixture.operatorSecret);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(response.body())
        .contains("(request field 'signature')")
        .contains("field 'inputs[0].datatype' is \\\"float\\\"");
    assertNotRegistered("ext-bad-signature");
  }

  @Test
  void registerRejectsInvalidBase64() throws Exception {
    ObjectNode body =
        registration(
            "onnx", "flights-logistic-fp32.onnx", ExternalFixtures.LOGISTIC_FP32_SIGNATURE);
    body.put("file", "not base64 at all!");

    HttpResponse<String> response = register("ext-base64", body, fixture.operatorSecret);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .isEqualTo(
            "request field 'file' is not valid base64: the character '!' at index 17 is not in"
                + " the base64 alphabet of A-Z, a-z, 0-9, '+' and '/', with '=' padding; send the"
                + " model file as standard base64, such as the output of `base64 -w0 model.onnx`");
    assertNotRegistered("ext-base64");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "QUJD-EFG|the character '-' at index 4 belongs to the URL-safe base64 alphabet",
        "QUJD\u00e9|the character U+00E9 at index 4 is not in the base64 alphabet",
        "QQ==QUJD|the character 'Q' at index 4 follows the '=' padding at index 2",
        "QUJDR|it has 5 base64 characters, 1 more than a multiple of 4",
        "QUJD=|it ends with 1 '=' after 4 base64 characters, which need no padding",
        "QUI===|it ends with 3 '=' after 3 base64 characters, which need 1 '=' or none",
        "==|it contains only '=' padding"
      })
  void registerNamesBase64Problem(String file, String problem) throws Exception {
    ObjectNode body =
        registration(
            "onnx", "flights-logistic-fp32.onnx", ExternalFixtures.LOGISTIC_FP32_SIGNATURE);
    body.put("file", file);

    HttpResponse<String> response = register("ext-base64-cases", body, fixture.operatorSecret);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    String error = ProtocolRequests.error(response);
    assertThat(error).startsWith("request field 'file' is not valid base64: " + problem);
    assertThat(error)
        .endsWith(
            "send the model file as standard base64, such as the output of"
                + " `base64 -w0 model.onnx`");
    assertThat(error).doesNotContain("Illegal").doesNotContain("Input byte array");
    assertNotRegistered("ext-base64-cases");
  }

  @Test
  void registerAcceptsWrappedBase64() throws Exception {
    ObjectNode body =
        registration(
            "onnx", "flights-logistic-fp32.onnx", ExternalFixtures.LOGISTIC_FP32_SIGNATURE);
    byte[] file = ExternalFixtures.file("flights-logistic-fp32.onnx");
    body.put("file", Base64.getMimeEncoder().encodeToString(file) + "\n");

    HttpResponse<String> response = register("ext-base64-wrapped", body, fixture.operatorSecret);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(201);
  }

  @Test
  void registerRejectsUnknownFormat() throws Exception {
    ObjectNode body =
        registration(
            "onnx", "flights-logistic-fp32.onnx", ExternalFixtures.LOGISTIC_FP32_SIGNATURE);
    body.put("format", "pmml");

    HttpResponse<String> response = register("ext-format", body, fixture.operatorSecret);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(response.body()).contains("unknown model format 'pmml'");
    assertNotRegistered("ext-format");
  }

  @Test
  void registerNeedsOperatorRole() throws Exception {
    ObjectNode body =
        registration(
            "onnx", "flights-logistic-fp32.onnx", ExternalFixtures.LOGISTIC_FP32_SIGNATURE);

    HttpResponse<String> response = register("ext-viewer", body, fixture.viewerSecret);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(403);
    assertNotRegistered("ext-viewer");
  }

  @Test
  void csvBooleanWordsScoreAsNumbers() throws Exception {
    ObjectNode body = registration("onnx", "flights-tree.onnx", ExternalFixtures.TREE_SIGNATURE);
    HttpResponse<String> registered = register("ext-csv-bool", body, fixture.operatorSecret);
    assertThat(registered.statusCode()).as(registered.body()).isEqualTo(201);
    deploy("ext-csv-bool");
    String header = "distance,hour,day_of_week,weekend\n";

    HttpResponse<String> words =
        ProtocolRequests.post(
            fixture,
            "/invocations?model=ext-csv-bool",
            fixture.viewerSecret,
            "text/csv",
            header + "733,7,5,True\n1200,18,2,false\n");
    HttpResponse<String> numbers =
        ProtocolRequests.post(
            fixture,
            "/invocations?model=ext-csv-bool",
            fixture.viewerSecret,
            "text/csv",
            header + "733,7,5,1\n1200,18,2,0\n");

    assertThat(words.statusCode()).as(words.body()).isEqualTo(200);
    assertThat(ServerFixture.json(words).get("predictions"))
        .isEqualTo(ServerFixture.json(numbers).get("predictions"));
  }
}
