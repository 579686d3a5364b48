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

/** Sends requests with a method the path does not take and reads the 405's {@code Allow} header. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AllowedMethodsTest {
  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private HttpResponse<String> send(String method, String path) throws Exception {
    return fixture.send(method, path, fixture.adminSecret, null);
  }

  private static void assertAllow(HttpResponse<String> response, String allow) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(405);
    assertThat(response.headers().allValues("allow")).containsExactly(allow);
    assertThat(response.body()).contains("is not allowed on");
  }

  @Test
  void exactPathListsItsMethod() throws Exception {
    assertAllow(send("DELETE", "/api/v1/models"), "GET, HEAD");
  }

  @Test
  void parameterPathListsEveryMethod() throws Exception {
    assertAllow(send("GET", "/api/v1/models/" + MODEL + "/batching"), "DELETE, PUT");
  }

  @Test
  void parameterPathWithTrailingSlashListsMethod() throws Exception {
    assertAllow(send("DELETE", "/api/v1/models/" + MODEL + "/"), "GET, HEAD");
  }

  @Test
  void regexPathListsItsMethod() throws Exception {
    assertAllow(send("GET", "/v1/models/" + MODEL + ":predict"), "POST");
    assertAllow(send("DELETE", "/v1/models/" + MODEL), "GET, HEAD");
  }

  @Test
  void invocationsListsPost() throws Exception {
    assertAllow(send("GET", "/invocations"), "POST");
  }

  @Test
  void prefixPathListsItsMethods() throws Exception {
    assertAllow(
        send("POST", "/api/2.0/mlflow-artifacts/artifacts/run/model.json"),
        "DELETE, GET, HEAD, PUT");
  }

  @Test
  void unknownPathHasNoAllowHeader() throws Exception {
    HttpResponse<String> response = send("GET", "/no/such/endpoint");

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(response.headers().firstValue("allow")).isEmpty();
  }
}
