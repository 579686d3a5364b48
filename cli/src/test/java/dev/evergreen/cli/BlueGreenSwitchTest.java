package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients send requests without pause while the model switches between two versions 24 times by
 * deploy and rollback: no request fails and every response comes wholly from one version.
 */
class BlueGreenSwitchTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path work;

  @Test
  void switchesUnderLoadDropNoRequest() throws Exception {
    Path home = work.resolve("home");
    Path pipeline = FlightBatches.pipeline(work.resolve("pipeline"), 10);
    Path batches = work.resolve("batches");
    assertThat(
            ContinuousTrainingLoopTest.run(
                pipeline, FlightBatches.month(batches, 1, 10_000, null), home))
        .isZero();
    assertThat(
            ContinuousTrainingLoopTest.run(
                pipeline, FlightBatches.month(batches, 6, 10_000, null), home))
        .isIn(0, 4);

    try (ServerRuntime server =
        ServerRuntime.start(
            home, "127.0.0.1", 0, List.of(), "evg_test_admin_secret", Duration.ofMillis(100))) {
      Map<Integer, double[]> expected = new HashMap<>();
      for (ModelVersion version : server.evergreen().registry().versions("flights-delay")) {
        ServableModel model = server.evergreen().loader().load(version);
        expected.put(version.version(), model.predict(request()));
      }
      assertThat(expected.get(1)).isNotEqualTo(expected.get(2));

      String base = "http://127.0.0.1:" + server.port();
      HttpClient http = HttpClient.newHttpClient();
      AtomicBoolean running = new AtomicBoolean(true);
      AtomicInteger requests = new AtomicInteger();
      ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
      Map<String, AtomicInteger> byVersion = new java.util.concurrent.ConcurrentHashMap<>();
      int clients = 4;
      CountDownLatch done = new CountDownLatch(clients);
      for (int c = 0; c < clients; c++) {
        Thread.ofPlatform()
            .start(
                () -> {
                  try {
                    while (running.get()) {
                      HttpResponse<String> response =
                          ContinuousTrainingLoopTest.post(
                              http,
                              base + "/v2/models/flights-delay/infer",
                              ContinuousTrainingLoopTest.INFER);
                      requests.incrementAndGet();
                      if (response.statusCode() != 200) {
                        failures.add(response.statusCode() + " " + response.body());
                        continue;
                      }
                      JsonNode body = JSON.readTree(response.body());
                      int version = body.path("model_version").asInt();
                      byVersion
                          .computeIfAbsent("" + version, k -> new AtomicInteger())
                          .incrementAndGet();
                      JsonNode data = body.path("outputs").get(0).path("data");
                      double[] want = expected.get(version);
                      if (want == null) {
                        failures.add("unknown version " + version);
                        continue;
                      }
                      for (int i = 0; i < want.length; i++) {
                        if (Math.abs(data.get(i).asDouble() - want[i]) > 1e-9) {
                          failures.add("row " + i + " of version " + version + " mixed: " + body);
                        }
                      }
                    }
                  } catch (Exception e) {
                    failures.add(e.toString());
                  } finally {
                    done.countDown();
                  }
                });
      }
      int champion = ContinuousTrainingLoopTest.champion(server.evergreen());
      int other = champion == 1 ? 2 : 1;
      Thread.sleep(200);
      for (int i = 0; i < 12; i++) {
        HttpResponse<String> deploy =
            ContinuousTrainingLoopTest.post(
                http, base + "/api/v1/models/flights-delay/deploy", "{\"version\": " + other + "}");
        assertThat(deploy.statusCode()).as(deploy.body()).isEqualTo(200);
        Thread.sleep(50);
        HttpResponse<String> rollback =
            ContinuousTrainingLoopTest.post(
                http, base + "/api/v1/models/flights-delay/rollback", "");
        assertThat(rollback.statusCode()).as(rollback.body()).isEqualTo(200);
        Thread.sleep(50);
      }
      running.set(false);
      done.await();

      assertThat(failures).isEmpty();
      assertThat(requests.get()).isGreaterThan(100);
      assertThat(byVersion.keySet()).containsExactlyInAnyOrder("1", "2");
      assertThat(ContinuousTrainingLoopTest.champion(server.evergreen())).isEqualTo(champion);
      assertThat(server.evergreen().verifyAudit().intact()).isTrue();
    }
  }

  private static InputBatch request() {
    return new InputBatch(
        2,
        Map.of("distance", new double[] {733, 1846}),
        Map.of(
            "date", new String[] {"2001-03-05T07:00:00", "2001-03-09T18:45:00"},
            "origin", new String[] {"ORD", "ATL"},
            "destination", new String[] {"LGA", "LAX"}));
  }
}
