package dev.evergreen.server;

import com.sun.management.UnixOperatingSystemMXBean;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpConnection;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Limits the connections that the server's ports hold open. Each counts {@link #CONNECTION_BYTES}
 * against the request-body budget, and all ports together hold at most {@code max}, below the
 * process's file descriptor limit. A connection over either limit is closed as soon as it is
 * accepted. A flood of idle connections, with or without a token, then makes the server reject
 * connections, and it keeps its memory and the descriptors for its own files.
 */
final class OpenConnections {
  private static final Logger LOG = LoggerFactory.getLogger(OpenConnections.class);

  /**
   * Heap that an open connection takes, as counted against the budget. Measured at about 7 KB per
   * idle HTTP/2 connection, so this counts about twice that.
   */
  static final long CONNECTION_BYTES = 16 * 1024;

  /** Share of the file descriptor limit that connections may use: the rest is for files. */
  private static final double DESCRIPTOR_SHARE = 0.75;

  /** Connections allowed when the file descriptor limit is unknown. */
  private static final int DEFAULT_MAX = 10_000;

  /** Time between two warnings about rejected connections: one minute. */
  private static final long WARN_EVERY_NANOS = 60_000_000_000L;

  private final RequestBodies budget;
  private final int max;
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicInteger rejected = new AtomicInteger();
  private final AtomicLong lastWarnNanos = new AtomicLong(System.nanoTime() - WARN_EVERY_NANOS);

  /**
   * @param max connections that all ports may hold open together
   */
  OpenConnections(RequestBodies budget, int max) {
    this.budget = budget;
    this.max = max;
  }

  /** Returns three quarters of the process's file descriptor limit, or 10,000 when unknown. */
  static int defaultMax() {
    OperatingSystemMXBean system = ManagementFactory.getOperatingSystemMXBean();
    if (system instanceof UnixOperatingSystemMXBean unix) {
      long limit = unix.getMaxFileDescriptorCount();
      if (limit > 0) {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(64, limit * DESCRIPTOR_SHARE));
      }
    }
    return DEFAULT_MAX;
  }

  /** Returns the connections open now. */
  int open() {
    return open.get();
  }

  /**
   * Returns a connection handler that admits or closes each new connection, and reports admitted
   * connections to {@code idle} as they open and close.
   *
   * @param idle the idle-connection watch of the port, null for none
   */
  Handler<HttpConnection> admit(IdleConnections idle) {
    return connection -> {
      if (open.incrementAndGet() > max) {
        open.decrementAndGet();
        reject(connection, "the server holds its maximum of " + max + " connections");
        return;
      }
      if (!budget.reserve(CONNECTION_BYTES)) {
        open.decrementAndGet();
        reject(connection, "the request-body budget is spent");
        return;
      }
      if (idle != null) {
        idle.opened(connection);
      }
      connection.closeHandler(
          closed -> {
            open.decrementAndGet();
            budget.release(CONNECTION_BYTES);
            if (idle != null) {
              idle.closed(connection);
            }
          });
    };
  }

  private void reject(HttpConnection connection, String reason) {
    int count = rejected.incrementAndGet();
    long now = System.nanoTime();
    long last = lastWarnNanos.get();
    if (now - last >= WARN_EVERY_NANOS && lastWarnNanos.compareAndSet(last, now)) {
      LOG.warn(
          "Closed a new connection from {} because {}; {} connections closed over either limit"
              + " since start",
          connection.remoteAddress(),
          reason,
          count);
    } else {
      LOG.debug("Closed a new connection from {} because {}", connection.remoteAddress(), reason);
    }
    connection.close();
  }
}
