package dev.evergreen.cli;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import javax.net.ssl.SSLException;

/** Sends the requests of the commands that call a running server, with errors a user can act on. */
final class ServerCalls {
  private ServerCalls() {}

  /**
   * Sends a request and returns the response.
   *
   * @param base the server's base URL as the user gave it, for messages
   * @throws EvergreenException UNAVAILABLE naming {@code base} and the next step when no HTTP
   *     response arrives: nothing listens, the TLS certificate is not trusted, or an {@code
   *     http://} URL reached a port that serves TLS
   */
  static HttpResponse<String> send(HttpRequest request, String base)
      throws IOException, InterruptedException {
    try (HttpClient http = HttpClient.newHttpClient()) {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException e) {
      throw new EvergreenException(
          ErrorKind.UNAVAILABLE,
          "no server responds at " + base + "; start one with `evergreen server`",
          e);
    } catch (SSLException e) {
      throw new EvergreenException(
          ErrorKind.UNAVAILABLE,
          "the TLS connection to "
              + base
              + " failed: "
              + e.getMessage()
              + "; when the server's certificate comes from a private CA, give this JVM a trust"
              + " store with it, for example JAVA_TOOL_OPTIONS=\"-Djavax.net.ssl.trustStore=ca.p12"
              + " -Djavax.net.ssl.trustStorePassword=...\"",
          e);
    } catch (IOException e) {
      String hint =
          base.startsWith("http://")
              ? "; if the server serves TLS (--tls-cert), use an https:// URL"
              : "; check the URL and the server's log";
      throw new EvergreenException(
          ErrorKind.UNAVAILABLE,
          "the server at "
              + base
              + " closed the connection without an HTTP response ("
              + e
              + ")"
              + hint,
          e);
    }
  }
}
