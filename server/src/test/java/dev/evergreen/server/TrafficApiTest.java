package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.TWO_VERSIONS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.deployment.ServingState;
import dev.evergreen.core.serving.TensorSpec;
import dev.evergreen.server.grpc.InferTensorContents;
import dev.evergreen.server.grpc.ModelInferRequest;
import dev.evergreen.server.grpc.ModelInferRequest.InferInputTensor;
import dev.evergreen.server.grpc.ModelInferResponse;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TrafficApiTest {
  private static final List<TensorSpec> INPUTS =
      List.of(
          new TensorSpec("distance", "FP64", List.of(-1L)),
          new TensorSpec("origin", "BYTES", List.of(-1L)),
          new TensorSpec("destination", "BYTES", List.of(-1L)),
          new TensorSpec("date", "BYTES", List.of(-1L)));

  private ServerFixture fixture;
  private String oneRow;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
    oneRow = ServerFixture.inferRequest(fixture.binaryCheck.inputs(), INPUTS, 1).toString();
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  /** Puts {@code flights-b} back to version 1 alone, without batching. */
  @AfterEach
  void reset() {
    var deployments = fixture.evergreen.deployments();
    ServingState state = deployments.serving(TWO_VERSIONS).orElseThrow();
    if (state.canary() != null) {
      deployments.abortCanary(TWO_VERSIONS, "test", "reset");
    }
    if (state.shadow() != null) {
      deployments.stopShadow(TWO_VERSIONS, "test");
    }
    deployments.deploy(TWO_VERSIONS, 1, "test");
    fixture.evergreen.router().configureBatching(TWO_VERSIONS, null);
  }

  private HttpResponse<String> post(String path, String body) throws Exception {
    return fixture.send("POST", path, fixture.operatorSecret, body);
  }

  /** Sends one row with a routing key and returns the version that scored it. */
  private int inferWithKey(String key) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(fixture.uri("/v2/models/" + TWO_VERSIONS + "/infer"))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + fixture.viewerSecret)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(oneRow));
    if (key != null) {
      request.header("X-Evergreen-Key", key);
    }
    HttpResponse<String> response =
        fixture.http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return ServerFixture.json(response).get("model_version").asInt();
  }

  private List<AuditEntry> audit(String action) {
    return fixture.evergreen.store().listAuditEntries(0, 10_000).stream()
        .filter(e -> e.action().equals(action))
        .toList();
  }

  @Test
  void canaryRoutesKeyedCallersStickilyAndPromotes() throws Exception {
    HttpResponse<String> started =
        post(
            "/api/v1/models/" + TWO_VERSIONS + "/canary",
            "{\"version\": 2, \"percent\": 30, \"rollback\": {\"max_error_rate\": 0.2}}");
    assertThat(started.statusCode()).as(started.body()).isEqualTo(200);
    assertThat(ServerFixture.json(started).get("detail").asText())
        .contains("version 2 takes 30.00% of requests as a canary");

    Map<String, Integer> seen = new HashMap<>();
    int canary = 0;
    for (int caller = 0; caller < 400; caller++) {
      int version = inferWithKey("caller-" + caller);
      seen.put("caller-" + caller, version);
      canary += version == 2 ? 1 : 0;
    }
    for (int caller = 0; caller < 400; caller += 7) {
      assertThat(inferWithKey("caller-" + caller)).isEqualTo(seen.get("caller-" + caller));
    }
    assertThat(canary).isBetween(80, 160);

    JsonNode serving =
        ServerFixture.json(
            fixture.send(
                "GET", "/api/v1/models/" + TWO_VERSIONS + "/serving", fixture.viewerSecret, null));
    assertThat(serving.get("active_version").asInt()).isEqualTo(1);
    assertThat(serving.get("canary").get("version").asInt()).isEqualTo(2);
    assertThat(serving.get("canary").get("percent").asDouble()).isEqualTo(30.0);
    // The second pass sent 58 more requests, and those callers kept their versions.
    assertThat(serving.get("canary").get("window_requests").asLong())
        .isGreaterThanOrEqualTo(canary)
        .isLessThanOrEqualTo(canary + 58);

    HttpResponse<String> promoted = post("/api/v1/models/" + TWO_VERSIONS + "/canary/promote", "");
    assertThat(promoted.statusCode()).as(promoted.body()).isEqualTo(200);
    for (int caller = 0; caller < 50; caller++) {
      assertThat(inferWithKey("caller-" + caller)).isEqualTo(2);
    }
    assertThat(fixture.evergreen.registry().aliases(TWO_VERSIONS)).containsEntry("champion", 2);
    assertThat(audit(AuditActions.CANARY_STARTED)).isNotEmpty();
    assertThat(audit(AuditActions.CANARY_PROMOTED).get(0).actor()).isEqualTo("test-operator");
  }

  @Test
  void canaryRampKeepsKeyedCallers() throws Exception {
    HttpResponse<String> noCanary =
        post("/api/v1/models/" + TWO_VERSIONS + "/canary/percent", "{\"percent\": 50}");
    assertThat(noCanary.statusCode()).isEqualTo(409);
    post("/api/v1/models/" + TWO_VERSIONS + "/canary", "{\"version\": 2, \"percent\": 20}");
    List<String> onCanary = new ArrayList<>();
    for (int caller = 0; caller < 200; caller++) {
      if (inferWithKey("caller-" + caller) == 2) {
        onCanary.add("caller-" + caller);
      }
    }

    HttpResponse<String> ramped =
        post("/api/v1/models/" + TWO_VERSIONS + "/canary/percent", "{\"percent\": 60}");
    HttpResponse<String> tooLarge =
        post("/api/v1/models/" + TWO_VERSIONS + "/canary/percent", "{\"percent\": 100}");
    HttpResponse<String> missing = post("/api/v1/models/" + TWO_VERSIONS + "/canary/percent", "{}");

    assertThat(ramped.statusCode()).as(ramped.body()).isEqualTo(200);
    assertThat(ServerFixture.json(ramped).get("detail").asText())
        .isEqualTo("canary version 2 takes 60.00% of requests instead of 20.00%");
    assertThat(tooLarge.statusCode()).isEqualTo(400);
    assertThat(tooLarge.body()).contains("canary percent must be from 0.01 to 99.99");
    assertThat(missing.statusCode()).isEqualTo(400);
    assertThat(missing.body()).contains("field 'percent' is missing");
    int after = 0;
    for (int caller = 0; caller < 200; caller++) {
      int version = inferWithKey("caller-" + caller);
      after += version == 2 ? 1 : 0;
      if (onCanary.contains("caller-" + caller)) {
        assertThat(version).as("caller-" + caller).isEqualTo(2);
      }
    }
    assertThat(onCanary.size()).isBetween(20, 60);
    assertThat(after).isBetween(90, 150);
    JsonNode canary =
        ServerFixture.json(
                fixture.send(
                    "GET",
                    "/api/v1/models/" + TWO_VERSIONS + "/serving",
                    fixture.viewerSecret,
                    null))
            .get("canary");
    assertThat(canary.get("percent").asDouble()).isEqualTo(60.0);
    // The window kept the requests from before the ramp.
    assertThat(canary.get("window_requests").asLong()).isEqualTo(onCanary.size() + after);
    AuditEntry changed = audit(AuditActions.CANARY_PERCENT_CHANGED).get(0);
    assertThat(changed.details()).containsEntry("percent", "60.0");
    assertThat(changed.details()).containsEntry("previous_percent", "20.0");
    assertThat(
            fixture
                .evergreen
                .store()
                .trafficSettings(TWO_VERSIONS)
                .orElseThrow()
                .canary()
                .spec()
                .percent())
        .isEqualTo(60.0);
  }

  @Test
  void mlflowDeleteOfCanaryIsInvalidState() throws Exception {
    post("/api/v1/models/" + TWO_VERSIONS + "/canary", "{\"version\": 2, \"percent\": 10}");

    HttpResponse<String> deleted =
        post(
            "/api/2.0/mlflow/model-versions/delete",
            "{\"name\": \"" + TWO_VERSIONS + "\", \"version\": \"2\"}");

    assertThat(deleted.statusCode()).isEqualTo(400);
    JsonNode error = ServerFixture.json(deleted);
    assertThat(error.get("error_code").asText()).isEqualTo("INVALID_STATE");
    assertThat(error.get("message").asText()).contains("cannot be deleted");
  }

  @Test
  void grpcKeyMetadataRoutesLikeRestHeader() throws Exception {
    post("/api/v1/models/" + TWO_VERSIONS + "/canary", "{\"version\": 2, \"percent\": 50}");
    ModelInferRequest request = grpcRow();
    Map<Integer, Integer> versions = new HashMap<>();

    for (int caller = 0; caller < 60; caller++) {
      String key = "caller-" + caller;
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of("x-evergreen-key", Metadata.ASCII_STRING_MARSHALLER), key);
      ModelInferResponse response =
          fixture
              .grpcStub(fixture.viewerSecret)
              .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
              .modelInfer(request);
      int version = Integer.parseInt(response.getModelVersion());

      assertThat(version).as(key).isEqualTo(inferWithKey(key));
      versions.merge(version, 1, Integer::sum);
    }

    assertThat(versions).containsKeys(1, 2);
  }

  /** Returns a one-row gRPC request for {@code flights-b} with typed contents. */
  private static ModelInferRequest grpcRow() {
    ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName(TWO_VERSIONS);
    request.addInputs(
        InferInputTensor.newBuilder()
            .setName("distance")
            .setDatatype("FP64")
            .addShape(1)
            .setContents(InferTensorContents.newBuilder().addFp64Contents(733)));
    Map<String, String> text =
        Map.of("origin", "BOS", "destination", "ORD", "date", "2001-03-05T07:15:00");
    for (String name : List.of("origin", "destination", "date")) {
      request.addInputs(
          InferInputTensor.newBuilder()
              .setName(name)
              .setDatatype("BYTES")
              .addShape(1)
              .setContents(
                  InferTensorContents.newBuilder()
                      .addBytesContents(ByteString.copyFromUtf8(text.get(name)))));
    }
    return request.build();
  }

  @Test
  void emptyKeyHeaderIsSplitAsNoKey() throws Exception {
    HttpResponse<String> started =
        post("/api/v1/models/" + TWO_VERSIONS + "/canary", "{\"version\": 2, \"percent\": 50}");
    assertThat(started.statusCode()).as(started.body()).isEqualTo(200);

    Map<Integer, Integer> versions = new HashMap<>();
    for (int i = 0; i < 20; i++) {
      versions.merge(inferWithKey(""), 1, Integer::sum);
    }

    // One empty key would send every request to the same version.
    assertThat(versions).containsKeys(1, 2);
  }

  @Test
  void abortSendsEveryCallerBackToStable() throws Exception {
    post("/api/v1/models/" + TWO_VERSIONS + "/canary", "{\"version\": 2, \"percent\": 50}");

    HttpResponse<String> aborted =
        post("/api/v1/models/" + TWO_VERSIONS + "/canary/abort", "{\"reason\": \"p99 up\"}");

    assertThat(aborted.statusCode()).as(aborted.body()).isEqualTo(200);
    for (int caller = 0; caller < 50; caller++) {
      assertThat(inferWithKey("caller-" + caller)).isEqualTo(1);
    }
    assertThat(audit(AuditActions.CANARY_ABORTED).getLast().details())
        .containsEntry("reason", "p99 up");
  }

  @Test
  void unkeyedRequestsSplitByCount() throws Exception {
    post("/api/v1/models/" + TWO_VERSIONS + "/canary", "{\"version\": 2, \"percent\": 25}");

    int canary = 0;
    for (int i = 0; i < 200; i++) {
      canary += inferWithKey(null) == 2 ? 1 : 0;
    }

    assertThat(canary).isEqualTo(50);
  }

  @Test
  void viewerCannotStartCanary() throws Exception {
    HttpResponse<String> denied =
        fixture.send(
            "POST",
            "/api/v1/models/" + TWO_VERSIONS + "/canary",
            fixture.viewerSecret,
            "{\"version\": 2}");

    assertThat(denied.statusCode()).isEqualTo(403);
    assertThat(fixture.evergreen.deployments().serving(TWO_VERSIONS).orElseThrow().canary())
        .isNull();
  }

  @Test
  void badCanaryRequestsNameTheProblem() throws Exception {
    HttpResponse<String> unknownField =
        post("/api/v1/models/" + TWO_VERSIONS + "/canary", "{\"version\": 2, \"percnt\": 5}");
    HttpResponse<String> badPercent =
        post("/api/v1/models/" + TWO_VERSIONS + "/canary", "{\"version\": 2, \"percent\": 100}");
    HttpResponse<String> sameVersion =
        post("/api/v1/models/" + TWO_VERSIONS + "/canary", "{\"version\": 1}");
    HttpResponse<String> noCanary = post("/api/v1/models/" + TWO_VERSIONS + "/canary/promote", "");
    HttpResponse<String> unknownVersion =
        post("/api/v1/models/" + TWO_VERSIONS + "/canary", "{\"version\": 9}");

    assertThat(unknownField.statusCode()).isEqualTo(400);
    assertThat(unknownField.body())
        .contains("unknown field 'percnt'")
        .contains("percent")
        .contains("version");
    assertThat(badPercent.statusCode()).isEqualTo(400);
    assertThat(badPercent.body())
        .contains("canary percent must be from 0.01 to 99.99")
        .contains("got 100");
    assertThat(sameVersion.statusCode()).isEqualTo(409);
    assertThat(sameVersion.body()).contains("already takes all traffic");
    assertThat(noCanary.statusCode()).isEqualTo(409);
    assertThat(noCanary.body())
        .contains("has no canary running; start one with evergreen traffic canary");
    assertThat(unknownVersion.statusCode()).isEqualTo(404);
  }

  @Test
  void unknownNestedFieldNamesItsPath() throws Exception {
    HttpResponse<String> response =
        post(
            "/api/v1/models/" + TWO_VERSIONS + "/canary",
            "{\"version\": 2, \"percent\": 5, \"rollback\": {\"foo\": 1}}");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.body())
        .contains(
            "unknown field 'rollback.foo' in the canary request; known fields of 'rollback':"
                + " max_error_rate, max_p99_millis, min_requests, window_seconds");
  }

  @Test
  void keyInputCanaryKeepsShareWhenKeyMissing() throws Exception {
    HttpResponse<String> started =
        post(
            "/api/v1/models/" + TWO_VERSIONS + "/canary",
            "{\"version\": 2, \"percent\": 25, \"key_input\": \"origin\"}");
    assertThat(started.statusCode()).as(started.body()).isEqualTo(200);
    String noOrigin = oneRow.replaceFirst("\\[\"[A-Z]{3}\"\\]", "[null]");
    assertThat(noOrigin).isNotEqualTo(oneRow);

    int canary = 0;
    for (int i = 0; i < 200; i++) {
      HttpResponse<String> response =
          fixture.send(
              "POST", "/v2/models/" + TWO_VERSIONS + "/infer", fixture.viewerSecret, noOrigin);
      assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
      canary += ServerFixture.json(response).get("model_version").asInt() == 2 ? 1 : 0;
    }

    assertThat(canary).isEqualTo(50);
  }

  @Test
  void keyInputMustBeModelInput() throws Exception {
    HttpResponse<String> response =
        post(
            "/api/v1/models/" + TWO_VERSIONS + "/canary",
            "{\"version\": 2, \"key_input\": \"customer\"}");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.body())
        .contains("canary key_input 'customer' is not an input of version")
        .contains("distance");
  }

  @Test
  void shadowAndCanaryOfSameVersionConflict() throws Exception {
    post("/api/v1/models/" + TWO_VERSIONS + "/canary", "{\"version\": 2}");

    HttpResponse<String> shadow =
        post("/api/v1/models/" + TWO_VERSIONS + "/shadow", "{\"version\": 2}");

    assertThat(shadow.statusCode()).isEqualTo(409);
    assertThat(shadow.body()).contains("runs as a canary");
  }

  @Test
  void requestBodiesAreReadStrictly() throws Exception {
    post("/api/v1/models/" + TWO_VERSIONS + "/canary", "{\"version\": 2}");
    HttpResponse<String> stringPercent =
        post("/api/v1/models/" + TWO_VERSIONS + "/shadow", "{\"version\": 1, \"percent\": \"10\"}");
    HttpResponse<String> extraAbortField =
        post(
            "/api/v1/models/" + TWO_VERSIONS + "/canary/abort",
            "{\"reason\": \"x\", \"extra\": 1}");
    HttpResponse<String> fractionalBatch =
        fixture.send(
            "PUT",
            "/api/v1/models/" + TWO_VERSIONS + "/batching",
            fixture.operatorSecret,
            "{\"max_batch_size\": 1.5}");

    assertThat(stringPercent.statusCode()).isEqualTo(400);
    assertThat(extraAbortField.statusCode()).isEqualTo(400);
    assertThat(extraAbortField.body()).contains("unknown field 'extra'").contains("reason");
    assertThat(fractionalBatch.statusCode()).isEqualTo(400);
    assertThat(fixture.evergreen.deployments().serving(TWO_VERSIONS).orElseThrow().canary())
        .isNotNull();
    assertThat(fixture.evergreen.router().batching()).doesNotContainKey(TWO_VERSIONS);
  }

  @Test
  void shadowNeverAnswersAndRecordsAgreement() throws Exception {
    HttpResponse<String> started =
        post("/api/v1/models/" + TWO_VERSIONS + "/shadow", "{\"version\": 2, \"percent\": 100}");
    assertThat(started.statusCode()).as(started.body()).isEqualTo(200);

    for (int caller = 0; caller < 40; caller++) {
      assertThat(inferWithKey("caller-" + caller)).isEqualTo(1);
    }

    double compared = 0;
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (System.nanoTime() < deadline && compared < 40) {
      compared =
          fixture
              .meters
              .find("evergreen.shadow.comparisons")
              .tag("version", "2")
              .counters()
              .stream()
              .mapToDouble(c -> c.count())
              .sum();
      Thread.sleep(10);
    }
    assertThat(compared).isEqualTo(40);
    String metrics = fixture.send("GET", "/metrics", fixture.viewerSecret, null).body();
    assertThat(metrics).contains("evergreen_shadow_comparisons_total{");
    assertThat(metrics).contains("evergreen_shadow_percent{model=\"flights-b\"} 100.0");
    JsonNode comparisons =
        ServerFixture.json(
                fixture.send(
                    "GET",
                    "/api/v1/models/" + TWO_VERSIONS + "/serving",
                    fixture.viewerSecret,
                    null))
            .path("shadow")
            .path("comparisons");
    long counted = 0;
    for (String outcome : List.of("agree", "disagree", "error", "dropped")) {
      assertThat(comparisons.has(outcome)).as(outcome).isTrue();
      counted += comparisons.get(outcome).asLong();
    }
    assertThat(counted).isEqualTo(40);
    HttpResponse<String> stopped =
        fixture.send(
            "DELETE", "/api/v1/models/" + TWO_VERSIONS + "/shadow", fixture.operatorSecret, null);
    assertThat(stopped.statusCode()).isEqualTo(200);
    assertThat(audit(AuditActions.SHADOW_STOPPED)).isNotEmpty();
  }

  @Test
  void batchedRequestsAnswerLikeUnbatchedOnes() throws Exception {
    HttpResponse<String> unbatched =
        fixture.send("POST", "/v2/models/" + TWO_VERSIONS + "/infer", fixture.viewerSecret, oneRow);
    HttpResponse<String> configured =
        fixture.send(
            "PUT",
            "/api/v1/models/" + TWO_VERSIONS + "/batching",
            fixture.operatorSecret,
            "{\"max_batch_size\": 32, \"max_delay_millis\": 5, \"max_queue\": 256}");
    assertThat(configured.statusCode()).as(configured.body()).isEqualTo(200);
    assertThat(ServerFixture.json(configured).get("batching").get("max_batch_size").asInt())
        .isEqualTo(32);

    ExecutorService callers = Executors.newFixedThreadPool(16);
    try {
      List<Future<HttpResponse<String>>> responses = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        responses.add(
            callers.submit(
                () ->
                    fixture.send(
                        "POST",
                        "/v2/models/" + TWO_VERSIONS + "/infer",
                        fixture.viewerSecret,
                        oneRow)));
      }
      JsonNode expected = ServerFixture.json(unbatched).get("outputs");
      for (Future<HttpResponse<String>> response : responses) {
        assertThat(response.get().statusCode()).isEqualTo(200);
        assertThat(ServerFixture.json(response.get()).get("outputs")).isEqualTo(expected);
      }
    } finally {
      callers.shutdownNow();
    }
    var sizes =
        fixture
            .meters
            .find("evergreen.inference.batch.size")
            .tag("model", TWO_VERSIONS)
            .summaries();
    assertThat(sizes.stream().mapToDouble(s -> s.max()).max().orElse(0)).isGreaterThan(1.0);
    String metrics = fixture.send("GET", "/metrics", fixture.viewerSecret, null).body();
    assertThat(metrics).contains("evergreen_inference_queue_seconds_bucket{");
    assertThat(metrics).contains("evergreen_inference_compute_seconds_bucket{");
    assertThat(audit(AuditActions.BATCHING_CONFIGURED)).isNotEmpty();
  }

  @Test
  void unavailableAnswersCarryRetryAfter() throws Exception {
    var registry = fixture.evergreen.registry();
    var trained = registry.require(ServerFixture.MODEL, 1);
    registry.register(
        new dev.evergreen.api.model.ModelVersion(
            "idle",
            0,
            trained.artifactKey(),
            trained.artifactSha256(),
            null,
            null,
            Map.of(),
            null,
            java.time.Instant.now()),
        "test");

    HttpResponse<String> notServing =
        fixture.send("POST", "/v2/models/idle/infer", fixture.viewerSecret, oneRow);

    assertThat(notServing.statusCode()).isEqualTo(503);
    assertThat(notServing.headers().firstValue("retry-after")).contains("1");
    assertThat(ServerFixture.json(notServing).get("error").asText())
        .contains("model 'idle' has no version serving");
  }
}
