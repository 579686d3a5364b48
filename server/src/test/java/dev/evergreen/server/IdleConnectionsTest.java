package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Idle HTTP/1.x connections close after 300 ms here, checked every 50 ms. */
class IdleConnectionsTest {
  private static final long IDLE_MILLIS = 300;

  private Vertx vertx;
  private volatile HttpServer server;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    // Deployed as a verticle, as the server does, so that the check and the connections share
    // one event loop.
    vertx
        .deployVerticle(
            new VerticleBase() {
              @Override
              public Future<?> start() {
                server =
                    vertx.createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(false));
                IdleConnections idle =
                    new IdleConnections(
                        vertx,
                        TimeUnit.MILLISECONDS.toNanos(IDLE_MILLIS),
                        TimeUnit.MILLISECONDS.toNanos(IDLE_MILLIS),
                        50);
                server.connectionHandler(
                    new OpenConnections(new RequestBodies(1 << 20, 1), 100).admit(idle));
                return server.requestHandler(idle.track(this::respond)).listen(0, "127.0.0.1");
              }

              /**
               * Responds to /slow after three idle periods, /body once the whole body has arrived,
               * anything else at once.
               */
              private void respond(HttpServerRequest request) {
                if (request.path().equals("/body")) {
                  request.body().onSuccess(body -> request.response().end("body"));
                } else if (request.path().equals("/slow")) {
                  vertx.setTimer(3 * IDLE_MILLIS, id -> request.response().end("slow"));
                } else {
                  request.response().end("fast");
                }
              }
            })
        .toCompletionStage()
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void unfinishedHeadersCloseConnection() throws Exception {
    try (RawConnection connection = RawConnection.open(server.actualPort())) {
      connection.write("GET /fast HTTP/1.1\r\nHost: 127.0.0.1\r\n");

      assertThat(connection.closedWithin(5_000)).isTrue();
    }
  }

  @Test
  void requestInProgressKeepsConnection() throws Exception {
    try (RawConnection connection = RawConnection.open(server.actualPort())) {
      connection.write("GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

      RawConnection.Response response = connection.read("GET /slow", false);

      assertThat(response.body()).isEqualTo("slow");
      // Idle after the response, so the connection closes within a period or two.
      assertThat(connection.closedWithin(5_000)).isTrue();
    }
  }

  @Test
  void frequentRequestsKeepConnectionOpen() throws Exception {
    try (RawConnection connection = RawConnection.open(server.actualPort())) {
      for (int i = 0; i < 8; i++) {
        assertThat(connection.exchange("GET", "/fast", null, false).body()).isEqualTo("fast");
        Thread.sleep(IDLE_MILLIS / 3);
      }

      assertThat(connection.closedWithin(IDLE_MILLIS / 3)).isFalse();
      assertThat(connection.exchange("GET", "/fast", null, false).body()).isEqualTo("fast");
    }
  }

  @Test
  void stalledBodyClosedUploadKept() throws Exception {
    try (RawConnection post = RawConnection.open(server.actualPort());
        RawConnection put = RawConnection.open(server.actualPort())) {
      String head = " /body HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n";
      post.write("POST" + head + "0123456789");
      put.write("PUT" + head + "0123456789");

      assertThat(post.closedWithin(5_000)).isTrue();
      assertThat(put.closedWithin(3 * IDLE_MILLIS)).isFalse();
      put.write(new byte[90]);
      assertThat(put.read("PUT /body", false).body()).isEqualTo("body");
    }
  }
}
