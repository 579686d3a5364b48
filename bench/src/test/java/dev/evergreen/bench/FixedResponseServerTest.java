package dev.evergreen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FixedResponseServerTest {
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void stop() {
    vertx.close().await();
  }

  @Test
  void respondsToEveryPostAlike() throws Exception {
    HttpServer server = FixedResponseServer.start(vertx, 0);
    HttpClient http = HttpClient.newHttpClient();
    URI uri = URI.create("http://127.0.0.1:" + server.actualPort() + "/v2/models/x/infer");

    for (String body : new String[] {"{}", "x".repeat(1 << 20)}) {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
              HttpResponse.BodyHandlers.ofString());

      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).isEqualTo(FixedResponseServer.RESPONSE);
      assertThat(response.headers().firstValue("Content-Type")).contains("application/json");
    }
  }
}
