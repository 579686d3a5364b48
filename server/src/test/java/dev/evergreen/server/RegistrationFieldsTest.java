package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.core.serving.external.ExternalFixtures;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Fields of the body of {@code POST /api/v1/models/{name}/versions} and of its check object. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RegistrationFieldsTest {
  private static final String FILE = "flights-logistic-fp32.onnx";

  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private static ObjectNode registration() throws Exception {
    ObjectNode body = ServerFixture.JSON.createObjectNode();
    body.put("format", "onnx");
    body.put("file_name", FILE);
    body.put("file", Base64.getEncoder().encodeToString(ExternalFixtures.file(FILE)));
    body.set("signature", ServerFixture.JSON.readTree(ExternalFixtures.LOGISTIC_FP32_SIGNATURE));
    return body;
  }

  private HttpResponse<String> register(String model, ObjectNode body) throws Exception {
    return fixture.send(
        "POST", "/api/v1/models/" + model + "/versions", fixture.operatorSecret, body.toString());
  }

  @Test
  void unknownTopLevelFieldRejected() throws Exception {
    ObjectNode body = registration();
    body.put("extra", 1);

    HttpResponse<String> response = register("reg-extra", body);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(response.body())
        .contains("unknown field 'extra' in the registration request")
        .contains("known fields: check, file, file_name, format, signature");
    HttpResponse<String> show =
        fixture.send("GET", "/api/v1/models/reg-extra", fixture.viewerSecret, null);
    assertThat(show.statusCode()).as(show.body()).isEqualTo(404);
  }

  @Test
  void unknownCheckFieldRejected() throws Exception {
    ObjectNode body = registration();
    body.set(
        "check",
        ServerFixture.JSON.readTree(
            "{\"inputs\": {\"features\": [[1, 2, 3, 4]]}, \"expected\": [[0.5, 0.5]],"
                + " \"tolerance\": 0.1}"));

    HttpResponse<String> response = register("reg-check-extra", body);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(response.body()).contains("has the unknown field 'tolerance'");
  }

  @Test
  void knownFieldsRegister() throws Exception {
    HttpResponse<String> response = register("reg-known", registration());

    assertThat(response.statusCode()).as(response.body()).isEqualTo(201);
  }
}
