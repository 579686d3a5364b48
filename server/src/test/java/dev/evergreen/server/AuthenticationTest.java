package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.evergreen.api.security.Role;
import dev.evergreen.core.security.IssuedToken;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuthenticationTest {
  private Path dir;

  private ServerFixture fixture;

  /** One endpoint with the lowest role allowed to call it and a body it accepts. */
  record Endpoint(String method, String path, Role role, String body) {
    @Override
    public String toString() {
      return method + " " + path;
    }
  }

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    this.dir = dir;
    fixture = new ServerFixture(dir);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  static Stream<Endpoint> endpoints() {
    String infer =
        "{\"inputs\": [{\"name\": \"distance\", \"shape\": [1], \"datatype\": \"FP64\","
            + " \"data\": [100]}]}";
    return Stream.of(
        new Endpoint("GET", "/v2", Role.VIEWER, null),
        new Endpoint("GET", "/v2/models/flights", Role.VIEWER, null),
        new Endpoint("GET", "/v2/models/flights/versions/1", Role.VIEWER, null),
        new Endpoint("GET", "/v2/models/flights/ready", Role.VIEWER, null),
        new Endpoint("GET", "/v2/models/flights/versions/1/ready", Role.VIEWER, null),
        new Endpoint("POST", "/v2/models/flights/infer", Role.VIEWER, infer),
        new Endpoint("POST", "/v2/models/flights/versions/1/infer", Role.VIEWER, infer),
        new Endpoint("GET", "/api/v1/models", Role.VIEWER, null),
        new Endpoint("GET", "/api/v1/models/flights", Role.VIEWER, null),
        new Endpoint("GET", "/api/v1/models/flights/versions/1", Role.VIEWER, null),
        new Endpoint("GET", "/api/v1/models/flights/aliases/history", Role.VIEWER, null),
        new Endpoint("POST", "/api/v1/models/flights/deploy", Role.OPERATOR, "{\"version\": 1}"),
        new Endpoint("POST", "/api/v1/models/no-such-model/rollback", Role.OPERATOR, null),
        new Endpoint("GET", "/api/v1/models/flights/lineage", Role.VIEWER, null),
        new Endpoint("GET", "/api/v1/models/flights/versions/1/lineage", Role.VIEWER, null),
        new Endpoint("GET", "/api/v1/pipelines", Role.VIEWER, null),
        new Endpoint(
            "POST", "/api/v1/pipelines/no-such/runs", Role.OPERATOR, "{\"data\": \"x.csv\"}"),
        new Endpoint("GET", "/api/v1/runs", Role.VIEWER, null),
        new Endpoint("GET", "/api/v1/runs/0123", Role.VIEWER, null),
        new Endpoint("GET", "/api/v1/audit", Role.VIEWER, null),
        new Endpoint("GET", "/api/v1/audit/verify", Role.VIEWER, null),
        new Endpoint(
            "POST", "/api/v1/tokens", Role.ADMIN, "{\"name\": \"made\", \"role\": \"viewer\"}"),
        new Endpoint("GET", "/api/v1/tokens", Role.ADMIN, null),
        new Endpoint("DELETE", "/api/v1/tokens/no-such-token", Role.ADMIN, null),
        new Endpoint("GET", "/metrics", Role.VIEWER, null));
  }

  static Stream<Endpoint> operatorEndpoints() {
    return endpoints().filter(endpoint -> endpoint.role() != Role.VIEWER);
  }

  static Stream<Endpoint> adminEndpoints() {
    return endpoints().filter(endpoint -> endpoint.role() == Role.ADMIN);
  }

  @ParameterizedTest
  @MethodSource("endpoints")
  void missingTokenIsRejected(Endpoint endpoint) throws Exception {
    HttpResponse<String> response =
        fixture.send(endpoint.method(), endpoint.path(), null, endpoint.body());

    assertThat(response.statusCode()).isEqualTo(401);
    assertThat(response.headers().firstValue("WWW-Authenticate")).contains("Bearer");
    assertThat(ServerFixture.json(response).get("error").asText())
        .isEqualTo("missing bearer token: send 'Authorization: Bearer <token>'");
  }

  @ParameterizedTest
  @MethodSource("endpoints")
  void wrongTokenIsRejected(Endpoint endpoint) throws Exception {
    HttpResponse<String> response =
        fixture.send(endpoint.method(), endpoint.path(), "evg_" + "0".repeat(64), endpoint.body());

    assertThat(response.statusCode()).isEqualTo(401);
    assertThat(response.headers().firstValue("WWW-Authenticate").orElseThrow())
        .startsWith("Bearer");
    assertThat(ServerFixture.json(response).get("error").asText())
        .startsWith("the bearer token is not valid");
  }

  @ParameterizedTest
  @MethodSource("endpoints")
  void allowedRoleIsAccepted(Endpoint endpoint) throws Exception {
    String secret =
        switch (endpoint.role()) {
          case VIEWER -> fixture.viewerSecret;
          case OPERATOR -> fixture.operatorSecret;
          case ADMIN -> fixture.adminSecret;
        };

    HttpResponse<String> response =
        fixture.send(endpoint.method(), endpoint.path(), secret, endpoint.body());

    assertThat(response.statusCode()).isNotIn(401, 403);
  }

  @ParameterizedTest
  @MethodSource("operatorEndpoints")
  void viewerIsForbidden(Endpoint endpoint) throws Exception {
    HttpResponse<String> response =
        fixture.send(endpoint.method(), endpoint.path(), fixture.viewerSecret, endpoint.body());

    assertThat(response.statusCode()).isEqualTo(403);
    String error = ServerFixture.json(response).get("error").asText();
    assertThat(error).contains("token 'test-viewer' has role viewer");
    assertThat(error).contains("requires role " + Authenticator.name(endpoint.role()));
  }

  @ParameterizedTest
  @MethodSource("adminEndpoints")
  void operatorCannotManageTokens(Endpoint endpoint) throws Exception {
    HttpResponse<String> response =
        fixture.send(endpoint.method(), endpoint.path(), fixture.operatorSecret, endpoint.body());

    assertThat(response.statusCode()).isEqualTo(403);
    assertThat(ServerFixture.json(response).get("error").asText())
        .contains("token 'test-operator' has role operator")
        .contains("requires role admin");
  }

  @Test
  void healthChecksNeedNoToken() throws Exception {
    HttpResponse<String> live = fixture.send("GET", "/v2/health/live", null, null);
    HttpResponse<String> ready = fixture.send("GET", "/v2/health/ready", null, null);

    assertThat(live.statusCode()).isEqualTo(200);
    assertThat(ServerFixture.json(live).get("live").asBoolean()).isTrue();
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(ServerFixture.json(ready).get("ready").asBoolean()).isTrue();
  }

  @Test
  void nonBearerSchemeIsRejected() throws Exception {
    HttpResponse<String> response =
        fixture.http.send(
            java.net.http.HttpRequest.newBuilder(fixture.uri("/api/v1/models"))
                .header("Authorization", "Basic dXNlcjpwYXNz")
                .build(),
            HttpResponse.BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(401);
    assertThat(ServerFixture.json(response).get("error").asText())
        .contains("does not use the Bearer scheme");
  }

  @Test
  void emptyBearerTokenRejected() throws Exception {
    HttpResponse<String> response =
        fixture.http.send(
            java.net.http.HttpRequest.newBuilder(fixture.uri("/api/v1/models"))
                .header("Authorization", "Bearer ")
                .build(),
            HttpResponse.BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(401);
    assertThat(ServerFixture.json(response).get("error").asText())
        .contains("has no token after 'Bearer'");
  }

  @Test
  void secondTokenWithTheSameNameIsRefused() throws Exception {
    String request = "{\"name\": \"twin\", \"role\": \"viewer\"}";
    HttpResponse<String> first =
        fixture.send("POST", "/api/v1/tokens", fixture.adminSecret, request);

    HttpResponse<String> second =
        fixture.send("POST", "/api/v1/tokens", fixture.adminSecret, request);

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(second.statusCode()).isEqualTo(409);
    assertThat(ServerFixture.json(second).get("error").asText())
        .contains("a token named 'twin' exists")
        .contains(ServerFixture.json(first).get("id").asText());
  }

  @Test
  void tokenDeletedThroughApiStopsAtOnce() throws Exception {
    HttpResponse<String> created =
        fixture.send(
            "POST",
            "/api/v1/tokens",
            fixture.adminSecret,
            "{\"name\": \"short-lived\", \"role\": \"viewer\"}");
    JsonNode token = ServerFixture.json(created);
    String secret = token.get("secret").asText();
    assertThat(fixture.send("GET", "/api/v1/models", secret, null).statusCode()).isEqualTo(200);

    HttpResponse<String> deleted =
        fixture.send(
            "DELETE", "/api/v1/tokens/" + token.get("id").asText(), fixture.adminSecret, null);

    assertThat(deleted.statusCode()).isEqualTo(204);
    assertThat(fixture.send("GET", "/api/v1/models", secret, null).statusCode()).isEqualTo(401);
  }

  @Test
  void tokenDeletedElsewhereStopsWithinCacheTime() throws Exception {
    IssuedToken issued = fixture.evergreen.tokens().create("other-process", Role.VIEWER, "test");
    assertThat(fixture.send("GET", "/v2", issued.secret(), null).statusCode()).isEqualTo(200);

    // Deleting through the token service directly is what a CLI process sharing the store does.
    fixture.evergreen.tokens().delete(issued.token().id(), "test");

    long deadline = System.nanoTime() + Authenticator.CACHE_NANOS + Duration.ofSeconds(2).toNanos();
    int status = 200;
    while (System.nanoTime() < deadline && status == 200) {
      status = fixture.send("GET", "/v2", issued.secret(), null).statusCode();
      Thread.sleep(100);
    }
    assertThat(status).isEqualTo(401);
  }

  @Test
  void tokenListHidesSecretsAndHashes() throws Exception {
    HttpResponse<String> response =
        fixture.send("GET", "/api/v1/tokens", fixture.adminSecret, null);

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode tokens = ServerFixture.json(response).get("tokens");
    List<String> names = tokens.valueStream().map(token -> token.get("name").asText()).toList();
    assertThat(names).contains("test-admin", "test-operator", "test-viewer");
    for (JsonNode token : tokens) {
      assertThat(token.has("secret")).isFalse();
      assertThat(token.has("secret_sha256")).isFalse();
      assertThat(token.get("role").asText()).isIn("viewer", "operator", "admin");
    }
    assertThat(response.body()).doesNotContain(fixture.viewerSecret);
  }

  @Test
  void createdTokenHasRoleAndSecret() throws Exception {
    HttpResponse<String> response =
        fixture.send(
            "POST",
            "/api/v1/tokens",
            fixture.adminSecret,
            "{\"name\": \"ci-deployer\", \"role\": \"operator\"}");

    assertThat(response.statusCode()).isEqualTo(201);
    JsonNode token = ServerFixture.json(response);
    assertThat(token.get("name").asText()).isEqualTo("ci-deployer");
    assertThat(token.get("role").asText()).isEqualTo("operator");
    assertThat(token.get("secret").asText()).startsWith("evg_");
    HttpResponse<String> rollback =
        fixture.send(
            "POST", "/api/v1/models/no-such-model/rollback", token.get("secret").asText(), null);
    // Authorized, so the request reaches the handler, which does not know the model.
    assertThat(rollback.statusCode()).isEqualTo(404);
  }

  @Test
  void unknownRoleIsRejected() throws Exception {
    HttpResponse<String> response =
        fixture.send(
            "POST",
            "/api/v1/tokens",
            fixture.adminSecret,
            "{\"name\": \"x\", \"role\": \"superuser\"}");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ServerFixture.json(response).get("error").asText()).contains("superuser");
  }
}
