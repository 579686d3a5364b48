package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.api.security.Role;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.pipeline.RunOwner;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The run endpoints show a run whose process has stopped as FAILED with the interrupted reason, as
 * the lineage does, and leave the stored run unchanged.
 */
class InterruptedRunEndpointsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private Evergreen evergreen;
  private EvergreenServer server;
  private String viewerSecret;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeEach
  void start() {
    evergreen = TestHomes.open(dir, new SimpleMeterRegistry());
    viewerSecret = evergreen.tokens().create("viewer", Role.VIEWER, "test").secret();
    server = EvergreenServer.start(evergreen, new ServerOptions("127.0.0.1", 0, 1));
  }

  @AfterEach
  void stop() {
    server.close();
    evergreen.close();
  }

  @Test
  void stoppedRunsShowAsFailed() throws Exception {
    String dead = RunOwner.current().host() + ":" + exitedPid();
    Run running = run("a".repeat(32), RunStatus.RUNNING, dead);
    Run queued = run("b".repeat(32), RunStatus.SCHEDULED, dead);
    Run live = run("c".repeat(32), RunStatus.RUNNING, RunOwner.current().toString());
    for (Run run : new Run[] {running, queued, live}) {
      evergreen.store().insertRun(run);
    }

    JsonNode shownRunning = get("/api/v1/runs/" + running.id());
    JsonNode shownQueued = get("/api/v1/runs/" + queued.id());
    JsonNode shownLive = get("/api/v1/runs/" + live.id());
    Map<String, JsonNode> listed = new HashMap<>();
    get("/api/v1/runs?pipeline=flights-delay")
        .get("runs")
        .forEach(run -> listed.put(run.get("id").asText(), run));

    assertThat(shownRunning.get("status").asText()).isEqualTo("FAILED");
    assertThat(shownRunning.get("outcome").asText()).isEqualTo("FAILED");
    assertThat(shownRunning.get("reason").asText())
        .isEqualTo("interrupted: the process " + dead + " that executed this run has stopped");
    assertThat(shownQueued.get("status").asText()).isEqualTo("FAILED");
    assertThat(shownQueued.get("reason").asText()).startsWith("not started: the process " + dead);
    assertThat(shownLive.get("status").asText()).isEqualTo("RUNNING");
    assertThat(shownLive.get("outcome").isNull()).isTrue();
    assertThat(listed.get(running.id()).get("status").asText()).isEqualTo("FAILED");
    assertThat(listed.get(queued.id()).get("status").asText()).isEqualTo("FAILED");
    assertThat(listed.get(live.id()).get("status").asText()).isEqualTo("RUNNING");
    assertThat(evergreen.store().findRun(running.id()).orElseThrow().status())
        .as("reading does not write")
        .isEqualTo(RunStatus.RUNNING);
    assertThat(evergreen.store().findRun(queued.id()).orElseThrow().status())
        .isEqualTo(RunStatus.SCHEDULED);
  }

  private JsonNode get(String path) throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .header("Authorization", "Bearer " + viewerSecret)
                .timeout(Duration.ofSeconds(30))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as("GET %s: %s", path, response.body()).isEqualTo(200);
    return JSON.readTree(response.body());
  }

  private static Run run(String id, RunStatus status, String owner) {
    return new Run(
        id,
        "flights-delay",
        status,
        null,
        "/data/batch.parquet",
        null,
        null,
        Map.of(),
        Map.of(),
        null,
        owner,
        "tester",
        Instant.parse("2026-01-01T00:00:00Z"),
        null);
  }

  private static long exitedPid() throws Exception {
    Process exited = new ProcessBuilder("true").start();
    assertThat(exited.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return exited.pid();
  }
}
