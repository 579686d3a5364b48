package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.MODEL;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
        RawResponse get = connection.exchange("GET", path, fixture.adminSecret, false);
        RawResponse head = connection.exchange("HEAD", path, fixture.adminSecret, true);

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
      RawResponse uploaded = connection.upload(path, fixture.adminSecret, content);
      assertThat(uploaded.status()).as(uploaded.body()).isEqualTo(200);

      RawResponse get = connection.exchange("GET", path, fixture.adminSecret, false);
      RawResponse head = connection.exchange("HEAD", path, fixture.adminSecret, true);

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
      RawResponse head = connection.exchange("HEAD", "/metrics", fixture.viewerSecret, true);

      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("content-type")).startsWith("text/plain");
      assertThat(Integer.parseInt(head.header("content-length"))).isPositive();
      assertNextRequestParses(connection);
    }
  }

  @Test
  void headWithoutTokenMatchesGet() throws Exception {
    try (RawConnection connection = connect()) {
      RawResponse get = connection.exchange("GET", "/v2", null, false);
      RawResponse head = connection.exchange("HEAD", "/v2", null, true);

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
      RawResponse get = connection.exchange("GET", path, fixture.viewerSecret, false);
      RawResponse head = connection.exchange("HEAD", path, fixture.viewerSecret, true);

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
      RawResponse head =
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
      RawResponse v2 = connection.exchange("DELETE", "/v2/health/live", null, false);
      RawResponse v1 =
          connection.exchange("POST", "/v1/models/" + MODEL, fixture.viewerSecret, false);
      RawResponse ping = connection.exchange("PUT", "/ping", null, false);

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
    RawResponse next = connection.exchange("GET", "/v2/health/live", null, false);

    assertThat(next.status()).isEqualTo(200);
    assertThat(next.body()).isEqualTo("{\"live\":true}");
  }

  private RawConnection connect() throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", fixture.server.port()), 5_000);
    socket.setSoTimeout(10_000);
    return new RawConnection(socket);
  }

  /** A response as read from the socket: status, headers with lower-case names, and body. */
  private record RawResponse(int status, Map<String, String> headers, String body) {
    String header(String name) {
      return headers.get(name);
    }
  }

  /** One HTTP/1.1 keep-alive connection written and read byte by byte. */
  private static final class RawConnection implements AutoCloseable {
    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;

    RawConnection(Socket socket) throws IOException {
      this.socket = socket;
      this.out = socket.getOutputStream();
      this.in = socket.getInputStream();
    }

    /**
     * Sends a request without a body and reads its response. For HEAD it reads only the status line
     * and headers, so any body bytes stay in the stream and break the next status line.
     */
    RawResponse exchange(String method, String path, String secret, boolean head)
        throws IOException {
      StringBuilder request = new StringBuilder();
      request.append(method).append(' ').append(path).append(" HTTP/1.1\r\n");
      request.append("Host: 127.0.0.1\r\n");
      if (secret != null) {
        request.append("Authorization: Bearer ").append(secret).append("\r\n");
      }
      if (!method.equals("GET") && !method.equals("HEAD")) {
        request.append("Content-Length: 0\r\n");
      }
      request.append("\r\n");
      out.write(request.toString().getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return read(method, path, head);
    }

    private RawResponse read(String method, String path, boolean head) throws IOException {
      String statusLine = readLine();
      assertThat(statusLine).as("status line of %s %s", method, path).startsWith("HTTP/1.1 ");
      int status = Integer.parseInt(statusLine.substring(9, 12));
      Map<String, String> headers = new LinkedHashMap<>();
      for (String line = readLine(); !line.isEmpty(); line = readLine()) {
        int colon = line.indexOf(':');
        headers.put(
            line.substring(0, colon).strip().toLowerCase(Locale.ROOT),
            line.substring(colon + 1).strip());
      }
      if (head) {
        return new RawResponse(status, headers, "");
      }
      assertThat(headers).as("headers of %s %s", method, path).containsKey("content-length");
      byte[] body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
      return new RawResponse(status, headers, new String(body, StandardCharsets.UTF_8));
    }

    /** Sends a PUT with a body and reads its response. */
    RawResponse upload(String path, String secret, byte[] body) throws IOException {
      String head =
          "PUT "
              + path
              + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
              + secret
              + "\r\nContent-Length: "
              + body.length
              + "\r\n\r\n";
      out.write(head.getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
      return read("PUT", path, false);
    }

    /** Reads one line ending in CRLF, without the CRLF. */
    private String readLine() throws IOException {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      int previous = -1;
      while (true) {
        int b = in.read();
        if (b < 0) {
          throw new IOException("connection closed after: " + line);
        }
        if (previous == '\r' && b == '\n') {
          byte[] bytes = line.toByteArray();
          return new String(bytes, 0, bytes.length - 1, StandardCharsets.ISO_8859_1);
        }
        line.write(b);
        previous = b;
      }
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
