package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.MODEL;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sends HEAD and GET over one raw keep-alive socket and reads the bytes the server writes. A body
 * sent after a HEAD response would show up in front of the next response, where an HTTP client
 * library would hide it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HeadRequestTest {
  /** GET endpoints whose body does not change between two requests. */
  private static final List<String> STABLE_GET_PATHS =
      List.of(
          "/v2",
          "/v2/health/live",
          "/v2/health/ready",
          "/v2/models/" + MODEL,
          "/v2/models/" + MODEL + "/ready",
          "/v2/models/" + MODEL + "/versions/1",
          "/v2/models/" + MODEL + "/versions/1/ready",
          "/v1/models/" + MODEL,
          "/ping",
          "/health",
          "/version",
          "/api/v1/models",
          "/api/v1/models/" + MODEL,
          "/api/v1/models/" + MODEL + "/serving",
          "/api/v1/pipelines",
          "/api/2.0/mlflow/registered-models/get?name=" + MODEL);

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
  void headMatchesGetWithoutBody() throws Exception {
    try (RawConnection connection = connect()) {
      for (String path : STABLE_GET_PATHS) {
        RawConnection.Response get = connection.exchange("GET", path, fixture.adminSecret, false);
        RawConnection.Response head = connection.exchange("HEAD", path, fixture.adminSecret, true);

        assertThat(get.status()).as("GET %s: %s", path, get.body()).isEqualTo(200);
        assertThat(head.status()).as("HEAD %s", path).isEqualTo(200);
        assertThat(head.headers()).as("HEAD %s", path).isEqualTo(get.headers());
        assertThat(head.header("content-length")).as("HEAD %s", path).isNotNull();
      }
      assertNextRequestParses(connection);
    }
  }

  @Test
  void headOfStreamedArtifactHasNoBody() throws Exception {
    // Three chunks of MlflowArtifacts.CHUNK_BYTES and 11 bytes, so the download is written in
    // pieces.
    byte[] content = new byte[3 * MlflowArtifacts.CHUNK_BYTES + 11];
    new Random(11).nextBytes(content);
    String path = "/api/2.0/mlflow-artifacts/artifacts/0/run-head/artifacts/model.bin";
    try (RawConnection connection = connect()) {
      RawConnection.Response uploaded = connection.upload(path, fixture.adminSecret, content);
      assertThat(uploaded.status()).as(uploaded.body()).isEqualTo(200);

      RawConnection.Response get = connection.exchange("GET", path, fixture.adminSecret, false);
      RawConnection.Response head = connection.exchange("HEAD", path, fixture.adminSecret, true);

      assertThat(get.status()).isEqualTo(200);
      assertThat(get.header("content-length")).isEqualTo(Integer.toString(content.length));
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.headers()).isEqualTo(get.headers());
      assertNextRequestParses(connection);
    }
  }

  @Test
  void headOfMetricsHasContentLength() throws Exception {
    try (RawConnection connection = connect()) {
      RawConnection.Response head =
          connection.exchange("HEAD", "/metrics", fixture.viewerSecret, true);

      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("content-type")).startsWith("text/plain");
      assertThat(Integer.parseInt(head.header("content-length"))).isPositive();
      assertNextRequestParses(connection);
    }
  }

  @Test
  void headWithoutTokenMatchesGet() throws Exception {
    try (RawConnection connection = connect()) {
      RawConnection.Response get = connection.exchange("GET", "/v2", null, false);
      RawConnection.Response head = connection.exchange("HEAD", "/v2", null, true);

      assertThat(get.status()).isEqualTo(401);
      assertThat(head.status()).isEqualTo(401);
      assertThat(head.headers()).isEqualTo(get.headers());
      assertNextRequestParses(connection);
    }
  }

  @Test
  void headOfUnknownModelMatchesGet() throws Exception {
    try (RawConnection connection = connect()) {
      String path = "/v2/models/no-such-model";
      RawConnection.Response get = connection.exchange("GET", path, fixture.viewerSecret, false);
      RawConnection.Response head = connection.exchange("HEAD", path, fixture.viewerSecret, true);

      assertThat(get.status()).isEqualTo(404);
      assertThat(head.status()).isEqualTo(404);
      assertThat(head.header("content-length"))
          .isEqualTo(Integer.toString(get.body().getBytes(StandardCharsets.UTF_8).length));
      assertNextRequestParses(connection);
    }
  }

  @Test
  void headOfPostOnlyPathIsNotAllowed() throws Exception {
    try (RawConnection connection = connect()) {
      RawConnection.Response head =
          connection.exchange("HEAD", "/v2/models/" + MODEL + "/infer", fixture.viewerSecret, true);

      assertThat(head.status()).isEqualTo(405);
      assertThat(head.header("allow")).isEqualTo("POST");
      assertThat(head.header("content-length")).isNotNull();
      assertNextRequestParses(connection);
    }
  }

  @Test
  void allowOfGetPathListsHead() throws Exception {
    try (RawConnection connection = connect()) {
      RawConnection.Response v2 = connection.exchange("DELETE", "/v2/health/live", null, false);
      RawConnection.Response v1 =
          connection.exchange("POST", "/v1/models/" + MODEL, fixture.viewerSecret, false);
      RawConnection.Response ping = connection.exchange("PUT", "/ping", null, false);

      assertThat(v2.status()).isEqualTo(405);
      assertThat(v2.header("allow")).isEqualTo("GET, HEAD");
      assertThat(v1.status()).isEqualTo(405);
      assertThat(v1.header("allow")).isEqualTo("GET, HEAD");
      assertThat(ping.status()).isEqualTo(405);
      assertThat(ping.header("allow")).isEqualTo("GET, HEAD");
    }
  }

  /** Sends a GET on the same connection and checks that its response starts at a status line. */
  private static void assertNextRequestParses(RawConnection connection) throws IOException {
    RawConnection.Response next = connection.exchange("GET", "/v2/health/live", null, false);

    assertThat(next.status()).isEqualTo(200);
    assertThat(next.body()).isEqualTo("{\"live\":true}");
  }

  private RawConnection connect() throws IOException {
    return RawConnection.open(fixture.server.port());
  }
}
