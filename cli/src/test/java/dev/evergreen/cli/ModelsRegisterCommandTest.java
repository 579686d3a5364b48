package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.serving.external.ExternalFixtures;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code evergreen models register}, then the server deploys the version and serves it. */
class ModelsRegisterCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ADMIN = "evg_test_admin_secret";
  private static final String[] FEATURES = {"distance", "hour", "day_of_week", "day_of_month"};

  @TempDir Path work;

  private record Result(int exitCode, String err) {}

  private static Result execute(String... args) {
    StringWriter err = new StringWriter();
    picocli.CommandLine line = Main.commandLine();
    line.setErr(new PrintWriter(err, true));
    return new Result(line.execute(args), err.toString());
  }

  private Path write(String name, byte[] content) throws Exception {
    Path file = work.resolve(name);
    Files.write(file, content);
    return file;
  }

  /** Returns a check file with Python's rows, one input per feature, and XGBoost scores. */
  private static byte[] checkFile() {
    ObjectNode check = JSON.createObjectNode();
    ObjectNode inputs = check.putObject("inputs");
    for (int i = 0; i < FEATURES.length; i++) {
      inputs.set(FEATURES[i], JSON.valueToTree(ExternalFixtures.column(i)));
    }
    check.set("expected", ExternalFixtures.expected().get("xgboost"));
    return check.toString().getBytes();
  }

  /** Returns a V2 request with the check rows, one tensor of shape [20] per feature. */
  private static String inferRequest() {
    ObjectNode request = JSON.createObjectNode();
    ArrayNode tensors = request.putArray("inputs");
    for (int i = 0; i < FEATURES.length; i++) {
      ObjectNode tensor = tensors.addObject();
      tensor.put("name", FEATURES[i]);
      tensor.putArray("shape").add(20);
      tensor.put("datatype", "FP64");
      tensor.set("data", JSON.valueToTree(ExternalFixtures.column(i)));
    }
    return request.toString();
  }

  @Test
  void registeredUbjsonModelDeploysAndServesOverHttp() throws Exception {
    Path home = work.resolve("home");
    Path model = write("flights-xgboost.ubj", ExternalFixtures.file("flights-xgboost.ubj"));
    Path signature =
        write("signature.json", ExternalFixtures.utf8(ExternalFixtures.XGBOOST_COLUMNS_SIGNATURE));
    Path check = write("check.json", checkFile());

    Result registered =
        execute(
            "models",
            "register",
            "ext-flights",
            model.toString(),
            "--format",
            "xgboost-ubj",
            "--signature",
            signature.toString(),
            "--check",
            check.toString(),
            "--home",
            home.toString());

    assertThat(registered.exitCode()).as(registered.err()).isZero();
    assertThat(Main.execute("models", "show", "ext-flights", "--home", home.toString())).isZero();

    try (ServerRuntime server =
        ServerRuntime.start(home, "127.0.0.1", 0, List.of(), ADMIN, Duration.ofMillis(100))) {
      HttpClient http = HttpClient.newHttpClient();
      String base = "http://127.0.0.1:" + server.port();
      HttpResponse<String> deployed =
          ContinuousTrainingLoopTest.post(
              http, base + "/api/v1/models/ext-flights/deploy", "{\"version\": 1}");
      assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(200);

      HttpResponse<String> inferred =
          ContinuousTrainingLoopTest.post(
              http, base + "/v2/models/ext-flights/infer", inferRequest());

      assertThat(inferred.statusCode()).as(inferred.body()).isEqualTo(200);
      JsonNode output = JSON.readTree(inferred.body()).get("outputs").get(0);
      assertThat(output.get("name").asText()).isEqualTo("probability");
      double[] scores = JSON.treeToValue(output.get("data"), double[].class);
      assertThat(scores).containsExactly(ExternalFixtures.scores("xgboost"), within(1e-6));
    }
  }

  @Test
  void registerWithBadSignatureFailsAndRegistersNothing() throws Exception {
    Path home = work.resolve("home");
    Path model = write("flights-tree.onnx", ExternalFixtures.file("flights-tree.onnx"));
    Path signature =
        write(
            "bad-signature.json",
            ExternalFixtures.utf8(ExternalFixtures.TREE_SIGNATURE.replace("[-1, 1]", "[1, 1]")));

    Result result =
        execute(
            "models",
            "register",
            "ext-tree",
            model.toString(),
            "--format",
            "onnx",
            "--signature",
            signature.toString(),
            "--home",
            home.toString());

    assertThat(result.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(result.err())
        .contains("signature file " + signature)
        .contains("field 'inputs[0].shape' is [1,1]");
    try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry())) {
      assertThat(evergreen.registry().models()).isEmpty();
    }
  }

  @Test
  void registerWithUnknownFormatFails() throws Exception {
    Path model = write("flights-tree.onnx", ExternalFixtures.file("flights-tree.onnx"));
    Path signature =
        write("signature.json", ExternalFixtures.utf8(ExternalFixtures.TREE_SIGNATURE));

    Result result =
        execute(
            "models",
            "register",
            "ext-tree",
            model.toString(),
            "--format",
            "tensorflow",
            "--signature",
            signature.toString(),
            "--home",
            work.resolve("home").toString());

    assertThat(result.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(result.err()).contains("unknown model format 'tensorflow'");
  }
}
