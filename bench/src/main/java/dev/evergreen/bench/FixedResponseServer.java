package dev.evergreen.bench;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;

/**
 * A Vert.x server that reads each request body and responds to every request with the same V2
 * inference response, with no parsing, model or metrics. It runs on one event loop, as Evergreen's
 * server does on one CPU, so the latency it shows is the floor that the HTTP layer, the JVM and the
 * machine set for Evergreen.
 *
 * <p>Options: {@code --port} (0 picks a free one). Prints {@code Fixed response server on
 * http://127.0.0.1:<port>} once it listens.
 */
public final class FixedResponseServer {
  /** The size and shape of Evergreen's response to a one-row flights-delay request. */
  static final String RESPONSE =
      "{\"model_name\":\"flights-delay\",\"model_version\":\"1\",\"outputs\":[{\"name\":"
          + "\"probability\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[0.3086203932762146]}]}";

  private FixedResponseServer() {}

  public static void main(String[] args) throws Exception {
    Options options = new Options(args);
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    HttpServer server = start(vertx, options.integer("port", 0));
    System.out.println("Fixed response server on http://127.0.0.1:" + server.actualPort());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(stopped::countDown));
    stopped.await();
    vertx.close().await();
  }

  /** Starts the server on 127.0.0.1 and returns it once it listens. */
  static HttpServer start(Vertx vertx, int port) {
    Buffer response = Buffer.buffer(RESPONSE.getBytes(StandardCharsets.UTF_8));
    return vertx
        .createHttpServer()
        .requestHandler(
            request ->
                request
                    .body()
                    .onSuccess(
                        body ->
                            request
                                .response()
                                .putHeader("Content-Type", "application/json")
                                .end(response))
                    .onFailure(error -> request.response().setStatusCode(400).end()))
        .listen(port, "127.0.0.1")
        .await();
  }
}
