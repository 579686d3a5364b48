package dev.evergreen.server.mlflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evergreen.api.security.Role;
import dev.evergreen.core.Evergreen;
import dev.evergreen.server.EvergreenServer;
import dev.evergreen.server.ServerOptions;
import dev.evergreen.server.TestHomes;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.mlflow.tracking.MlflowClient;
import org.mlflow.tracking.creds.BasicMlflowHostCreds;

/** An Evergreen server on 127.0.0.1 over a SQLite store, with an operator and a viewer token. */
final class MlflowServer implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();

  final Evergreen evergreen;
  final EvergreenServer server;
  final String operatorSecret;
  final String viewerSecret;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  MlflowServer(Path dir) {
    evergreen = TestHomes.open(dir, new SimpleMeterRegistry());
    operatorSecret = evergreen.tokens().create("mlflow-operator", Role.OPERATOR, "test").secret();
    viewerSecret = evergreen.tokens().create("mlflow-viewer", Role.VIEWER, "test").secret();
    server = EvergreenServer.start(evergreen, new ServerOptions("127.0.0.1", 0, 1));
  }

  String url() {
    return "http://127.0.0.1:" + server.port();
  }

  /** Returns the official MLflow Java client, sending the operator token as a bearer token. */
  MlflowClient client() {
    return client(operatorSecret);
  }

  MlflowClient client(String secret) {
    return new MlflowClient(new BasicMlflowHostCreds(url(), secret));
  }

  /** Sends a request; a null secret sends no Authorization header, a null body none. */
  HttpResponse<String> send(String method, String path, String secret, String body)
      throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(url() + path))
            .timeout(Duration.ofSeconds(30))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (secret != null) {
      request.header("Authorization", "Bearer " + secret);
    }
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  static JsonNode json(HttpResponse<String> response) throws IOException {
    return JSON.readTree(response.body());
  }

  @Override
  public void close() {
    server.close();
    evergreen.close();
  }
}
