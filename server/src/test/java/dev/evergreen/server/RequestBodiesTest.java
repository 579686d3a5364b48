package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Request bodies are read only after the token check and within the server's byte budget: over the
 * real server for the token cases, and over a small router with a budget of 1 MiB for the budget
 * cases.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RequestBodiesTest {
  private static final String INFER = "/v2/models/" + ServerFixture.MODEL + "/infer";
  private static final long BUDGET = 1024 * 1024;

  private ServerFixture fixture;
  private Vertx vertx;
  private HttpServer budgetServer;
  private RequestBodies bodies;

  /** The same budget, each body counting eight times its size. */
  private RequestBodies expanded;

  /** Requests the budget server holds until the test releases them. */
  private final ConcurrentLinkedQueue<Promise<Void>> held = new ConcurrentLinkedQueue<>();

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
    vertx = Vertx.vertx();
    bodies = new RequestBodies(BUDGET, 1);
    expanded = new RequestBodies(BUDGET, 8);
    Router router = Router.router(vertx);
    router.route().handler(RequestBodies::pause);
    router.post("/hold").handler(bodies::read).handler(this::hold);
    router.post("/expanded").handler(expanded::read).handler(ctx -> ctx.response().end("read"));
    router.get("/free").handler(bodies::read).handler(ctx -> ctx.response().end("free"));
    budgetServer =
        vertx
            .createHttpServer()
            .requestHandler(router)
            .listen(0, "127.0.0.1")
            .toCompletionStage()
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
  }

  @AfterAll
  void stop() throws Exception {
    fixture.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private void hold(RoutingContext ctx) {
    Promise<Void> release = Promise.promise();
    held.add(release);
    int length = ctx.body().length();
    release.future().onComplete(done -> ctx.response().end("read " + length));
  }

  /** Waits until {@code count} requests are held, then lets them all respond. */
  private void release(int count) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (held.size() < count && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(held).hasSize(count);
    Promise<Void> promise;
    while ((promise = held.poll()) != null) {
      Promise<Void> releasing = promise;
      vertx.runOnContext(ignored -> releasing.tryComplete());
    }
  }

  private static String post(String path, long length, String secret) {
    return "POST "
        + path
        + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + (secret == null ? "" : "Authorization: Bearer " + secret + "\r\n")
        + "Content-Length: "
        + length
        + "\r\n\r\n";
  }

  private void awaitAvailable(long bytes) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (bodies.availableBytes() != bytes && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(bodies.availableBytes()).isEqualTo(bytes);
  }

  @Test
  void missingTokenRejectedBeforeBody() throws Exception {
    try (RawConnection connection = RawConnection.open(fixture.server.port())) {
      // Only the head of an 8 MB request: the response must not wait for the body.
      connection.write(post(INFER, 8_000_000, null));

      RawConnection.Response response = connection.read("POST without a token", false);

      assertThat(response.status()).isEqualTo(401);
      // The body sent after the response is dropped, and the connection serves the next request.
      connection.write(new byte[8_000_000]);
      RawConnection.Response next = connection.exchange("GET", "/v2/health/live", null, false);
      assertThat(next.status()).isEqualTo(200);
    }
  }

  @Test
  void largeUnreadBodyClosesConnection() throws Exception {
    try (RawConnection connection = RawConnection.open(fixture.server.port())) {
      long length = RequestBodies.MAX_DROPPED_BYTES + 1_000_000;
      connection.write(post(INFER, length, null));
      assertThat(connection.read("POST without a token", false).status()).isEqualTo(401);

      try {
        connection.write(new byte[(int) length]);
      } catch (IOException e) {
        // The server closed the connection while the body was still being sent.
      }

      assertThat(connection.closedWithin(5_000)).isTrue();
    }
  }

  @Test
  void unknownTokenRejectedBeforeBody() throws Exception {
    try (RawConnection connection = RawConnection.open(fixture.server.port())) {
      connection.write(post(INFER, 8_000_000, "not-a-token"));

      RawConnection.Response response = connection.read("POST with an unknown token", false);

      assertThat(response.status()).isEqualTo(401);
      assertThat(response.body()).contains("the bearer token is not valid");
    }
  }

  @Test
  void smallUnreadBodyKeepsConnection() throws Exception {
    try (RawConnection connection = RawConnection.open(fixture.server.port())) {
      connection.write(post(INFER, 2, null));
      connection.write("{}");

      RawConnection.Response refused = connection.read("POST without a token", false);
      RawConnection.Response next = connection.exchange("GET", "/v2/health/live", null, false);

      assertThat(refused.status()).isEqualTo(401);
      assertThat(next.status()).isEqualTo(200);
      assertThat(next.body()).isEqualTo("{\"live\":true}");
    }
  }

  @Test
  void compressedBodyGets415() throws Exception {
    try (RawConnection connection = RawConnection.open(fixture.server.port())) {
      connection.write(
          post(INFER, 3, fixture.viewerSecret)
              .replace("\r\n\r\n", "\r\nContent-Encoding: gzip\r\n\r\n"));
      connection.write(new byte[] {0x1f, (byte) 0x8b, 8});

      RawConnection.Response response = connection.read("gzip POST", false);

      assertThat(response.status()).isEqualTo(415);
      assertThat(response.body()).contains("Content-Encoding 'gzip' is not accepted");
    }
  }

  @Test
  void twoAuthorizationHeadersRejected() throws Exception {
    try (RawConnection connection = RawConnection.open(fixture.server.port())) {
      connection.write(
          "GET /v2 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
              + fixture.viewerSecret
              + "\r\nAuthorization: Bearer not-a-token\r\n\r\n");

      RawConnection.Response response = connection.read("GET /v2 with two tokens", false);

      assertThat(response.status()).isEqualTo(400);
      assertThat(response.body()).contains("2 Authorization headers; send one");
    }
  }

  @Test
  void overBudgetGets503UntilRelease() throws Exception {
    try (RawConnection first = RawConnection.open(budgetServer.actualPort());
        RawConnection second = RawConnection.open(budgetServer.actualPort())) {
      first.write(post("/hold", 700_000, null));
      first.write(new byte[700_000]);
      awaitAvailable(BUDGET - 700_000);

      second.write(post("/hold", 400_000, null));
      RawConnection.Response refused = second.read("POST beyond the budget", false);

      assertThat(refused.status()).isEqualTo(503);
      assertThat(refused.header("retry-after")).isNotNull();
      assertThat(refused.body()).contains("as many request bytes as its memory allows");

      release(1);
      assertThat(first.read("held POST", false).body()).isEqualTo("read 700000");
      awaitAvailable(BUDGET);
    }
    try (RawConnection again = RawConnection.open(budgetServer.actualPort())) {
      again.write(post("/hold", 400_000, null));
      again.write(new byte[400_000]);
      awaitAvailable(BUDGET - 400_000);
      release(1);

      assertThat(again.read("POST after the release", false).body()).isEqualTo("read 400000");
    }
    awaitAvailable(BUDGET);
  }

  @Test
  void clientLeavingMidBodyReleasesBudget() throws Exception {
    try (RawConnection leaving = RawConnection.open(budgetServer.actualPort())) {
      leaving.write(post("/hold", 900_000, null));
      leaving.write(new byte[1000]);
      awaitAvailable(BUDGET - 900_000);
    }

    awaitAvailable(BUDGET);
  }

  @Test
  void expansionCountsAgainstBudget() throws Exception {
    try (RawConnection connection = RawConnection.open(budgetServer.actualPort())) {
      // 8 x 200,000 bytes exceed the 1 MiB budget; 8 x 100,000 fit.
      connection.write(post("/expanded", 200_000, null));
      RawConnection.Response refused = connection.read("POST of 200,000 bytes", false);
      connection.write(new byte[200_000]);
      connection.write(post("/expanded", 100_000, null));
      connection.write(new byte[100_000]);
      RawConnection.Response read = connection.read("POST of 100,000 bytes", false);

      assertThat(refused.status()).isEqualTo(503);
      assertThat(read.body()).isEqualTo("read");
    }
  }

  @Test
  void chunkedGetBodyDropped() throws Exception {
    try (RawConnection connection = RawConnection.open(budgetServer.actualPort())) {
      connection.write(
          "GET /free HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n");
      connection.write("100000\r\n");
      connection.write(new byte[0x100000]);
      connection.write("\r\n");

      // The response comes before the body ends, and nothing is taken from the budget.
      RawConnection.Response response = connection.read("chunked GET", false);
      assertThat(response.body()).isEqualTo("free");
      assertThat(bodies.availableBytes()).isEqualTo(BUDGET);

      connection.write("0\r\n\r\n");
      RawConnection.Response next = connection.exchange("GET", "/free", null, false);
      assertThat(next.body()).isEqualTo("free");
    }
  }
}
