package dev.evergreen.server;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.core.Evergreen;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Helpers for tests that stop a server and start another on the same data directory: waiting for
 * the reconciler, reading the audit log, and sending requests to a port.
 */
final class RestartChecks {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private RestartChecks() {}

  /** Polls {@code condition} every 50 ms and fails after 60 s, naming {@code description}. */
  static void await(String description, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after 60 s waiting until " + description);
      }
      Thread.sleep(50);
    }
  }

  /** Returns the audit entries of one action, oldest first. */
  static List<AuditEntry> audit(Evergreen evergreen, String action) {
    return evergreen.store().listAuditEntries(0, 10_000).stream()
        .filter(e -> e.action().equals(action))
        .toList();
  }

  /** Returns whether an entry of {@code action} records a restore after a restart. */
  static boolean restored(Evergreen evergreen, String action) {
    return audit(evergreen, action).stream()
        .anyMatch(e -> "true".equals(e.details().get("restored")));
  }

  /**
   * Sends a request with a bearer token to a server on loopback.
   *
   * @param body JSON body, or null for none
   * @param callerKey value of the {@code X-Caller} header, or null for none
   */
  static HttpResponse<String> send(
      int port, String method, String path, String secret, String body, String callerKey)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(60))
            .header("Authorization", "Bearer " + secret)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    if (callerKey != null) {
      request.header("X-Caller", callerKey);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
