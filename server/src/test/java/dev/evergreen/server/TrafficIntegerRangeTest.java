package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.MODEL;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Errors for integer fields of the canary and batching bodies sent with the wrong type: each names
 * the field's own range, not the range of a Java int, where the field has one.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TrafficIntegerRangeTest {
  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private String error(String method, String path, String body) throws Exception {
    HttpResponse<String> response = fixture.send(method, path, fixture.operatorSecret, body);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    return ServerFixture.json(response).get("error").asText();
  }

  private String canaryError(String body) throws Exception {
    return error("POST", "/api/v1/models/" + MODEL + "/canary", body);
  }

  private String batchingError(String body) throws Exception {
    return error("PUT", "/api/v1/models/" + MODEL + "/batching", body);
  }

  @Test
  void windowSecondsFractionNamesRange() throws Exception {
    String message = canaryError("{\"version\": 1, \"rollback\": {\"window_seconds\": 1.5}}");

    assertThat(message)
        .isEqualTo(
            "field 'rollback.window_seconds' of the canary request is the number 1.5; send an"
                + " integer from 1 to 3600");
  }

  @Test
  void windowSecondsStringNamesRange() throws Exception {
    String message = canaryError("{\"version\": 1, \"rollback\": {\"window_seconds\": \"60\"}}");

    assertThat(message).endsWith("send an integer from 1 to 3600");
  }

  @Test
  void minRequestsNamesLowerBound() throws Exception {
    String message = canaryError("{\"version\": 1, \"rollback\": {\"min_requests\": \"50\"}}");

    assertThat(message).endsWith("send an integer from 1 to 2147483647");
  }

  @Test
  void batchingFieldsNameRanges() throws Exception {
    List<String[]> cases =
        List.of(
            new String[] {"{\"max_batch_size\": \"64\"}", "send an integer from 1 to 100000"},
            new String[] {"{\"max_batch_size\": 99999999999}", "send an integer from 1 to 100000"},
            new String[] {"{\"max_batch_size\": 0.5}", "send an integer from 1 to 100000"},
            new String[] {"{\"max_queue\": 10.5}", "send an integer from 1 to 1000000"});
    for (String[] row : cases) {
      assertThat(batchingError(row[0])).as(row[0]).endsWith(row[1]);
    }
  }

  @Test
  void inRangeIntegerAccepted() throws Exception {
    HttpResponse<String> response =
        fixture.send(
            "PUT",
            "/api/v1/models/" + MODEL + "/batching",
            fixture.operatorSecret,
            "{\"max_batch_size\": 16}");

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    HttpResponse<String> off =
        fixture.send(
            "DELETE", "/api/v1/models/" + MODEL + "/batching", fixture.operatorSecret, null);
    assertThat(off.statusCode()).as(off.body()).isEqualTo(200);
  }
}
