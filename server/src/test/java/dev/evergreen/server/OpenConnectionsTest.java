package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Connections over the connection limit or the budget are closed when accepted. */
class OpenConnectionsTest {
  private Vertx vertx;
  private volatile HttpServer server;

  /** Starts a server that responds "ok" to every request, behind {@code connections}. */
  private void start(OpenConnections connections) throws Exception {
    vertx = Vertx.vertx();
    vertx
        .deployVerticle(
            new VerticleBase() {
              @Override
              public Future<?> start() {
                // As on the REST port: with cleartext HTTP/2 on, Vert.x announces a connection
                // only once its first bytes tell the protocol.
                server =
                    vertx.createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(false));
                server.connectionHandler(connections.admit(null));
                return server
                    .requestHandler(request -> request.response().end("ok"))
                    .listen(0, "127.0.0.1");
              }
            })
        .toCompletionStage()
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    if (vertx == null) {
      return;
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** Opens {@code count} connections and completes a request on each. */
  private List<RawConnection> openServed(int count) throws Exception {
    List<RawConnection> opened = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      RawConnection connection = RawConnection.open(server.actualPort());
      assertThat(connection.exchange("GET", "/", null, false).body()).isEqualTo("ok");
      opened.add(connection);
    }
    return opened;
  }

  private static void closeAll(List<RawConnection> connections) throws Exception {
    for (RawConnection connection : connections) {
      connection.close();
    }
  }

  @Test
  void connectionOverMaximumIsClosed() throws Exception {
    OpenConnections connections = new OpenConnections(new RequestBodies(1 << 20, 1), 3);
    start(connections);
    List<RawConnection> first = openServed(3);

    try (RawConnection fourth = RawConnection.open(server.actualPort())) {
      assertThat(fourth.closedWithin(5_000)).isTrue();
    }
    assertThat(connections.open()).isEqualTo(3);
    first.get(0).close();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (connections.open() > 2 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    List<RawConnection> again = openServed(1);

    assertThat(connections.open()).isEqualTo(3);
    closeAll(first.subList(1, 3));
    closeAll(again);
  }

  @Test
  void connectionBeyondBudgetIsClosed() throws Exception {
    RequestBodies bodies = new RequestBodies(2 * OpenConnections.CONNECTION_BYTES, 1);
    start(new OpenConnections(bodies, 100));
    List<RawConnection> two = openServed(2);

    try (RawConnection third = RawConnection.open(server.actualPort())) {
      assertThat(third.closedWithin(5_000)).isTrue();
    }
    assertThat(bodies.availableBytes()).isZero();
    closeAll(two);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (bodies.availableBytes() < 2 * OpenConnections.CONNECTION_BYTES
        && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }

    assertThat(bodies.availableBytes()).isEqualTo(2 * OpenConnections.CONNECTION_BYTES);
    closeAll(openServed(2));
  }

  @Test
  void defaultMaximumBelowDescriptorLimit() {
    assertThat(OpenConnections.defaultMax()).isPositive();
    if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
      assertThat((long) OpenConnections.defaultMax()).isLessThan(unix.getMaxFileDescriptorCount());
    }
  }
}
