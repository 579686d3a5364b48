package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import org.junit.jupiter.api.Test;

/**
 * Commands that call a server, against sockets on 127.0.0.1 that send no HTTP response: one error
 * line with the next step, no stack trace.
 */
class ServerCallsTest {
  private record Result(int exitCode, String err) {}

  private static Result show(int port) {
    StringWriter err = new StringWriter();
    picocli.CommandLine line = Main.commandLine();
    line.setErr(new PrintWriter(err, true));
    int exit =
        line.execute("traffic", "show", "m", "--url", "http://127.0.0.1:" + port, "--token", "t");
    return new Result(exit, err.toString());
  }

  @Test
  void closedConnectionSuggestsHttps() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      // As a TLS port does with a plaintext request: read, then close. The loop also closes the
      // connection of a client that retries, until the test closes the socket.
      Thread.ofPlatform()
          .start(
              () -> {
                while (!server.isClosed()) {
                  try (Socket socket = server.accept()) {
                    socket.getInputStream().read(new byte[1024]);
                  } catch (Exception e) {
                    // The socket closed at the end of the test, or a client left first.
                  }
                }
              });

      Result result = show(server.getLocalPort());

      assertThat(result.exitCode()).isEqualTo(Main.EXIT_FAILED);
      assertThat(result.err())
          .startsWith(
              "error: the server at http://127.0.0.1:"
                  + server.getLocalPort()
                  + " closed the connection without an HTTP response")
          .contains("; if the server serves TLS (--tls-cert), use an https:// URL")
          .doesNotContain("\tat ");
    }
  }

  @Test
  void missingServerSuggestsStartingOne() throws Exception {
    int port;
    try (ServerSocket unused = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = unused.getLocalPort();
    }

    Result result = show(port);

    assertThat(result.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(result.err())
        .isEqualTo(
            "error: no server responds at http://127.0.0.1:"
                + port
                + "; start one with `evergreen server`"
                + System.lineSeparator());
  }
}
