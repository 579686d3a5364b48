package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.TWO_VERSIONS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.evergreen.api.pipeline.BatchingSpec;
import dev.evergreen.api.pipeline.CanarySpec;
import dev.evergreen.api.pipeline.ShadowSpec;
import dev.evergreen.core.serving.TensorSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The serving and traffic panels of the Grafana dashboard query series the server exports. */
class DashboardMetricsTest {
  private static final Path DASHBOARD =
      Path.of("..", "deploy", "grafana", "evergreen-dashboard.json");
  private static final Pattern SERIES = Pattern.compile("evergreen_[a-z0-9_]+");
  private static final Set<String> ROWS = Set.of("Serving", "Traffic: canary, shadow and batching");

  @Test
  void servingAndTrafficPanelsQueryExportedSeries(@TempDir Path dir) throws Exception {
    Set<String> queried = queriedSeries();
    assertThat(queried)
        .contains(
            "evergreen_inference_queue_seconds_bucket",
            "evergreen_inference_compute_seconds_bucket",
            "evergreen_inference_batch_size_rows_bucket",
            "evergreen_canary_percent",
            "evergreen_shadow_comparisons_total");

    try (ServerFixture fixture = new ServerFixture(dir)) {
      var deployments = fixture.evergreen.deployments();
      deployments.deploy(TWO_VERSIONS, 2, "test");
      deployments.deploy(TWO_VERSIONS, 1, "test");
      fixture.evergreen.router().configureBatching(TWO_VERSIONS, new BatchingSpec(8, 1.0, 16));
      List<TensorSpec> inputs =
          List.of(
              new TensorSpec("distance", "FP64", List.of(-1L)),
              new TensorSpec("origin", "BYTES", List.of(-1L)),
              new TensorSpec("destination", "BYTES", List.of(-1L)),
              new TensorSpec("date", "BYTES", List.of(-1L)));
      String body = ServerFixture.inferRequest(fixture.binaryCheck.inputs(), inputs, 2).toString();
      // A version cannot be shadow and canary at once, so version 2 is first one, then the other.
      deployments.startShadow(TWO_VERSIONS, 2, ShadowSpec.DEFAULT, "test");
      infer(fixture, body, 20);
      String exported = awaitShadowed(fixture);
      deployments.stopShadow(TWO_VERSIONS, "test");
      deployments.startCanary(TWO_VERSIONS, 2, CanarySpec.DEFAULT, "test");
      infer(fixture, body, 20);
      exported = "\n" + fixture.send("GET", "/metrics", fixture.viewerSecret, null).body();

      List<String> missing = new ArrayList<>();
      for (String series : queried) {
        if (!exported.contains("\n" + series + "{") && !exported.contains("\n" + series + " ")) {
          missing.add(series);
        }
      }
      assertThat(missing).as("series the dashboard queries but /metrics lacks").isEmpty();
    }
  }

  private static void infer(ServerFixture fixture, String body, int requests) throws Exception {
    for (int i = 0; i < requests; i++) {
      var response =
          fixture.send("POST", "/v2/models/" + TWO_VERSIONS + "/infer", fixture.viewerSecret, body);
      assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    }
  }

  private static String awaitShadowed(ServerFixture fixture) throws Exception {
    long deadline = System.nanoTime() + 20_000_000_000L;
    String exported = "";
    while (System.nanoTime() < deadline) {
      exported = "\n" + fixture.send("GET", "/metrics", fixture.viewerSecret, null).body();
      if (exported.contains("evergreen_shadow_comparisons_total{")) {
        break;
      }
      Thread.sleep(20);
    }
    return exported;
  }

  /** Returns the series named in the queries of the panels under the serving and traffic rows. */
  private static Set<String> queriedSeries() throws Exception {
    JsonNode dashboard = ServerFixture.JSON.readTree(Files.readString(DASHBOARD));
    Set<String> series = new TreeSet<>();
    String row = null;
    for (JsonNode panel : dashboard.get("panels")) {
      if (panel.path("type").asText().equals("row")) {
        row = panel.path("title").asText();
        continue;
      }
      if (!ROWS.contains(row)) {
        continue;
      }
      for (JsonNode target : panel.path("targets")) {
        Matcher matcher = SERIES.matcher(target.path("expr").asText());
        while (matcher.find()) {
          series.add(matcher.group());
        }
      }
    }
    return series;
  }
}
