package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.MODEL;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Sends JSON objects that repeat a key. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DuplicateKeyTest {
  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  @Test
  void repeatedKeyInV2RequestIsRejected() throws Exception {
    String body =
        "{\"inputs\":[{\"name\":\"distance\",\"name\":\"origin\",\"shape\":[1],"
            + "\"datatype\":\"FP64\",\"data\":[733]}]}";

    HttpResponse<String> response =
        fixture.send("POST", "/v2/models/" + MODEL + "/infer", fixture.adminSecret, body);

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.body()).contains("Duplicate field 'name'");
  }

  @Test
  void repeatedKeyInRowIsRejected() throws Exception {
    String body =
        "{\"instances\":[{\"distance\":1,\"distance\":2,\"origin\":\"BOS\","
            + "\"destination\":\"ORD\",\"date\":\"2001-03-05T07:15:00\"}]}";

    HttpResponse<String> response =
        fixture.send("POST", "/v1/models/" + MODEL + ":predict", fixture.adminSecret, body);

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.body()).contains("Duplicate field 'distance'");
  }
}
