package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.TWO_VERSIONS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.serving.TensorSpec;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Switches versions while callers keep sending requests: 20 canary promotions, 20 canary aborts and
 * 20 blue-green switches under constant load, plus deploys of a version whose artifact was altered.
 * No request may fail, and the altered version may never score a request.
 */
class ReliabilityTest {
  private static final List<TensorSpec> INPUTS =
      List.of(
          new TensorSpec("distance", "FP64", List.of(-1L)),
          new TensorSpec("origin", "BYTES", List.of(-1L)),
          new TensorSpec("destination", "BYTES", List.of(-1L)),
          new TensorSpec("date", "BYTES", List.of(-1L)));

  private static final int CALLERS = 4;

  @Test
  void switchesUnderLoadLoseNoRequest(@TempDir Path dir) throws Exception {
    try (ServerFixture fixture = new ServerFixture(dir)) {
      ModelVersion good = fixture.evergreen.registry().require(TWO_VERSIONS, 1);
      int altered =
          fixture
              .evergreen
              .registry()
              .register(
                  new ModelVersion(
                      TWO_VERSIONS,
                      0,
                      good.artifactKey(),
                      "0".repeat(64),
                      null,
                      null,
                      Map.of(),
                      null,
                      Instant.now()),
                  "test")
              .version();
      String body = ServerFixture.inferRequest(fixture.binaryCheck.inputs(), INPUTS, 3).toString();
      Load load = new Load(fixture, body);
      load.start();
      try {
        load.awaitRequests(200);
        Operations ops = new Operations(fixture);
        for (int round = 0; round < 20; round++) {
          int idle = ops.activeVersion() == 1 ? 2 : 1;
          ops.post("/canary", "{\"version\": " + idle + ", \"percent\": 40}", 200);
          load.awaitRequests(20);
          ops.post("/canary/promote", "", 200);
          load.awaitRequests(20);

          idle = ops.activeVersion() == 1 ? 2 : 1;
          ops.post("/canary", "{\"version\": " + idle + ", \"percent\": 60}", 200);
          load.awaitRequests(20);
          ops.post("/canary/abort", "{\"reason\": \"round " + round + "\"}", 200);
          load.awaitRequests(20);

          idle = ops.activeVersion() == 1 ? 2 : 1;
          ops.post("/deploy", "{\"version\": " + idle + "}", 200);
          load.awaitRequests(20);

          if (round % 5 == 0) {
            ops.post("/canary", "{\"version\": " + altered + ", \"percent\": 50}", 500);
            ops.post("/deploy", "{\"version\": " + altered + "}", 500);
            load.awaitRequests(20);
          }
        }
        assertThat(ops.promotions).isEqualTo(20);
        assertThat(ops.aborts).isEqualTo(20);
        assertThat(ops.switches).isEqualTo(20);
      } finally {
        load.stop();
      }

      assertThat(load.failures).as("failed requests").isEmpty();
      assertThat(load.ok.get()).isGreaterThan(1_000);
      assertThat(load.versions).containsOnly(1, 2).contains(1, 2);
      assertThat(load.versions).doesNotContain(altered);
    }
  }

  /** Callers that send requests in a loop until stopped. */
  private static final class Load {
    final ServerFixture fixture;
    final String body;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    final ExecutorService pool = Executors.newFixedThreadPool(CALLERS);
    final AtomicBoolean running = new AtomicBoolean(true);
    final AtomicLong ok = new AtomicLong();
    final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    final Set<Integer> versions = ConcurrentHashMap.newKeySet();

    Load(ServerFixture fixture, String body) {
      this.fixture = fixture;
      this.body = body;
    }

    void start() {
      for (int caller = 0; caller < CALLERS; caller++) {
        int id = caller;
        pool.submit(() -> run(id));
      }
    }

    private void run(int caller) {
      long sent = 0;
      while (running.get()) {
        sent++;
        HttpRequest request =
            HttpRequest.newBuilder(fixture.uri("/v2/models/" + TWO_VERSIONS + "/infer"))
                .timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + fixture.viewerSecret)
                .header("Content-Type", "application/json")
                .header("X-Evergreen-Key", "caller-" + caller + "-" + (sent % 97))
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        try {
          HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
          if (response.statusCode() != 200) {
            failures.add(response.statusCode() + " " + response.body());
            continue;
          }
          JsonNode json = ServerFixture.json(response);
          versions.add(json.get("model_version").asInt());
          if (json.get("outputs").get(0).get("data").size() != 3) {
            failures.add("wrong row count: " + response.body());
          }
          ok.incrementAndGet();
        } catch (Exception e) {
          failures.add(e.toString());
        }
      }
    }

    /** Waits until {@code count} more requests succeeded, so every state receives traffic. */
    void awaitRequests(long count) throws InterruptedException {
      long target = ok.get() + count;
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (ok.get() < target && System.nanoTime() < deadline && failures.isEmpty()) {
        Thread.sleep(1);
      }
    }

    void stop() throws InterruptedException {
      running.set(false);
      pool.shutdown();
      assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
    }
  }

  /** Deployment operations through the REST API, as an operator. */
  private static final class Operations {
    final ServerFixture fixture;
    int promotions;
    int aborts;
    int switches;

    Operations(ServerFixture fixture) {
      this.fixture = fixture;
    }

    int activeVersion() {
      return fixture.evergreen.deployments().serving(TWO_VERSIONS).orElseThrow().active().version();
    }

    void post(String action, String body, int expectedStatus) throws Exception {
      HttpResponse<String> response =
          fixture.send(
              "POST", "/api/v1/models/" + TWO_VERSIONS + action, fixture.operatorSecret, body);
      assertThat(response.statusCode())
          .as(action + ": " + response.body())
          .isEqualTo(expectedStatus);
      if (expectedStatus == 200) {
        switch (action) {
          case "/canary/promote" -> promotions++;
          case "/canary/abort" -> aborts++;
          case "/deploy" -> switches++;
          default -> {}
        }
      }
    }
  }
}
