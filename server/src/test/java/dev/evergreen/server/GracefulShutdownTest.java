package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.evergreen.api.security.Role;
import dev.evergreen.core.Evergreen;
import dev.evergreen.server.grpc.health.HealthCheckRequest;
import dev.evergreen.server.grpc.health.HealthCheckResponse.ServingStatus;
import dev.evergreen.server.grpc.health.HealthGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link EvergreenServer#shutdown} on a server over an empty store, which is ready, with requests
 * from the JDK's HTTP client, raw sockets and grpc-java on 127.0.0.1.
 */
class GracefulShutdownTest {
  @TempDir Path dir;

  private Evergreen evergreen;
  private EvergreenServer server;
  private String operator;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeEach
  void start() {
    evergreen = TestHomes.open(dir, new SimpleMeterRegistry());
    operator = evergreen.tokens().create("shutdown-operator", Role.OPERATOR, "test").secret();
    server = EvergreenServer.start(evergreen, new ServerOptions("127.0.0.1", 0, 1).withGrpcPort(0));
  }

  @AfterEach
  void stop() {
    server.close();
    evergreen.close();
    http.close();
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .timeout(Duration.ofSeconds(10))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private CompletableFuture<Void> shutdownInBackground(Duration delay, Duration timeout) {
    return CompletableFuture.runAsync(() -> server.shutdown(delay, timeout));
  }

  /** Waits up to 5 s until the HTTP port refuses connections, and returns whether it does. */
  private boolean refusesConnections() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (System.nanoTime() < deadline) {
      try (Socket probe = new Socket("127.0.0.1", server.port())) {
        Thread.sleep(20);
      } catch (ConnectException refused) {
        return true;
      } catch (IOException other) {
        Thread.sleep(20);
      }
    }
    return false;
  }

  @Test
  void drainingServerReportsNotReadyButServes() throws Exception {
    assertThat(get("/v2/health/ready").statusCode()).isEqualTo(200);

    CompletableFuture<Void> shutdown = shutdownInBackground(Duration.ofSeconds(2), Duration.ZERO);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
    HttpResponse<String> ready = get("/v2/health/ready");
    while (ready.statusCode() == 200 && System.nanoTime() < deadline) {
      ready = get("/v2/health/ready");
    }

    assertThat(ready.statusCode()).isEqualTo(503);
    assertThat(ready.body()).contains("not ready: the server is shutting down");
    HttpResponse<String> live = get("/v2/health/live");
    assertThat(live.statusCode()).isEqualTo(200);
    assertThat(live.headers().firstValue("connection")).hasValue("close");
    assertThat(get("/ping").statusCode()).isEqualTo(503);
    ManagedChannel channel =
        ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    try {
      HealthGrpc.HealthBlockingStub health =
          HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
      assertThat(
              health
                  .check(
                      HealthCheckRequest.newBuilder()
                          .setService("inference.GRPCInferenceService")
                          .build())
                  .getStatus())
          .isEqualTo(ServingStatus.NOT_SERVING);
      // Liveness stays up, so that a liveness probe does not restart a draining server.
      assertThat(health.check(HealthCheckRequest.getDefaultInstance()).getStatus())
          .isEqualTo(ServingStatus.SERVING);
    } finally {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
    shutdown.get(20, TimeUnit.SECONDS);
    assertThat(catchThrowable(() -> new Socket("127.0.0.1", server.port()).close()))
        .isInstanceOf(ConnectException.class);
  }

  @Test
  void requestInProgressIsAnswered() throws Exception {
    byte[] body = "{\"name\": \"created-during-shutdown\"}".getBytes(StandardCharsets.UTF_8);
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(20_000);
      OutputStream out = socket.getOutputStream();
      out.write(
          ("POST /api/2.0/mlflow/experiments/create HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  + "Authorization: Bearer "
                  + operator
                  + "\r\nContent-Type: application/json\r\nContent-Length: "
                  + body.length
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.write(body, 0, 10);
      out.flush();
      Thread.sleep(300);

      CompletableFuture<Void> shutdown =
          shutdownInBackground(Duration.ZERO, Duration.ofSeconds(10));
      assertThat(refusesConnections()).isTrue();
      out.write(body, 10, body.length - 10);
      out.flush();
      String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

      assertThat(response).startsWith("HTTP/1.1 200");
      assertThat(response).contains("\"experiment_id\"");
      shutdown.get(20, TimeUnit.SECONDS);
    }
  }
}
