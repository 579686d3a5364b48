package dev.evergreen.server;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Closes connections of one HTTP/1.x server's event loop that hold no request in progress for
 * longer than {@link #idleNanos}: a connection that never completes its first request's headers, or
 * a kept-alive one that sends nothing more. Without it, clients could hold connections open for
 * good and use up the process's file descriptors. A request in progress, such as a pipeline run the
 * caller waits for, keeps its connection open however long it takes, once its body has arrived; a
 * body still arriving after {@link #bodyNanos} closes the connection.
 *
 * <p>It needs a server without cleartext HTTP/2 upgrades, whose connections Vert.x announces only
 * after their first request, and which serve several requests at once.
 *
 * <p>All state belongs to one event loop, so it needs no locks. A periodic check, not a timer per
 * request, keeps the cost per request to two field writes.
 */
final class IdleConnections {
  private final long idleNanos;
  private final long bodyNanos;
  private final Map<HttpConnection, Activity> open = new HashMap<>();

  /**
   * The latest request of a connection, when it began, and when the connection last became idle or
   * opened.
   */
  private static final class Activity {
    long sinceNanos = System.nanoTime();
    long requestNanos;
    HttpServerRequest latest;
  }

  /**
   * Watches the connections that {@link #opened} reports, checking every {@code checkMillis}.
   *
   * @param idleNanos how long a connection may hold no request in progress
   * @param bodyNanos how long after its headers a request's body may still be arriving; uploads
   *     ({@code PUT}) stream to disk and hold no memory, so they may take longer
   */
  IdleConnections(Vertx vertx, long idleNanos, long bodyNanos, long checkMillis) {
    this.idleNanos = idleNanos;
    this.bodyNanos = bodyNanos;
    vertx.setPeriodic(checkMillis, id -> closeIdle());
  }

  /** Starts watching a connection that the server accepted. */
  void opened(HttpConnection connection) {
    open.put(connection, new Activity());
  }

  /** Stops watching a connection that closed. */
  void closed(HttpConnection connection) {
    open.remove(connection);
  }

  /** Returns a request handler that records each request, then passes it to {@code handler}. */
  Handler<HttpServerRequest> track(Handler<HttpServerRequest> handler) {
    return request -> {
      Activity activity = open.get(request.connection());
      if (activity != null) {
        activity.latest = request;
        activity.requestNanos = System.nanoTime();
      }
      handler.handle(request);
    };
  }

  private void closeIdle() {
    long now = System.nanoTime();
    Iterator<Map.Entry<HttpConnection, Activity>> entries = open.entrySet().iterator();
    while (entries.hasNext()) {
      Map.Entry<HttpConnection, Activity> entry = entries.next();
      HttpConnection connection = entry.getKey();
      Activity activity = entry.getValue();
      HttpServerRequest latest = activity.latest;
      if (latest != null) {
        if (!latest.response().ended()) {
          // A stalled body would keep its reservation of the request-body budget for good.
          if (!latest.isEnded()
              && latest.method() != HttpMethod.PUT
              && now - activity.requestNanos > bodyNanos) {
            entries.remove();
            connection.close();
          }
          continue;
        }
        // HTTP/1.x serves a connection's requests one after another, so the connection became
        // idle when the latest response ended. This check notices it up to one period late.
        activity.latest = null;
        activity.sinceNanos = now;
        continue;
      }
      if (now - activity.sinceNanos > idleNanos) {
        entries.remove();
        connection.close();
      }
    }
  }
}
