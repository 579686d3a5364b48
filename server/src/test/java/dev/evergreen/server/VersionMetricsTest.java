package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.TWO_VERSIONS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.ShadowSpec;
import dev.evergreen.core.deployment.DeploymentManager;
import dev.evergreen.core.serving.TensorSpec;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The per-version series of {@code /metrics}: registered when a version loads, removed when it
 * unloads, shadow series only for shadow versions, and histograms with the documented buckets.
 */
class VersionMetricsTest {
  private static final List<TensorSpec> INPUTS =
      List.of(
          new TensorSpec("distance", "FP64", List.of(-1L)),
          new TensorSpec("origin", "BYTES", List.of(-1L)),
          new TensorSpec("destination", "BYTES", List.of(-1L)),
          new TensorSpec("date", "BYTES", List.of(-1L)));

  @TempDir Path dir;

  private ServerFixture fixture;
  private DeploymentManager deployments;
  private String body;

  @BeforeEach
  void start() throws Exception {
    fixture = new ServerFixture(dir);
    deployments = fixture.evergreen.deployments();
    body = ServerFixture.inferRequest(fixture.binaryCheck.inputs(), INPUTS, 2).toString();
  }

  @AfterEach
  void stop() {
    fixture.close();
  }

  @Test
  void unloadedVersionsExportNoSeries() throws Exception {
    int third = registerCopy(TWO_VERSIONS, 1);
    infer(3);
    // Version 1 serves first, so deploying 2 and then 3 leaves 3 active, 2 standby, 1 unloaded.
    deployments.deploy(TWO_VERSIONS, 2, "test");
    infer(3);
    deployments.deploy(TWO_VERSIONS, third, "test");
    infer(3);

    String exported = scrape();
    assertThat(seriesOf(exported, "1")).as("series of unloaded version 1").isEmpty();
    assertThat(seriesOf(exported, "2")).isNotEmpty();
    assertThat(seriesOf(exported, Integer.toString(third))).isNotEmpty();

    // A shadow that stops unloads its version too.
    deployments.startShadow(TWO_VERSIONS, 1, ShadowSpec.DEFAULT, "test");
    infer(3);
    awaitShadowScorings("1", 3);
    assertThat(seriesOf(scrape(), "1")).as("series of shadow version 1").isNotEmpty();
    deployments.stopShadow(TWO_VERSIONS, "test");
    infer(3);

    assertThat(seriesOf(scrape(), "1")).as("series of the stopped shadow").isEmpty();
  }

  @Test
  void closedServerAddsNoSeries() throws Exception {
    int third = registerCopy(TWO_VERSIONS, 1);
    fixture.server.close();
    deployments.deploy(TWO_VERSIONS, third, "test");

    String exported = ((PrometheusMeterRegistry) fixture.evergreen.meters()).scrape();
    assertThat(deployments.serving(TWO_VERSIONS).orElseThrow().active().version()).isEqualTo(third);
    // Batch-size series belong to the core's router, which outlives the server.
    assertThat(seriesOf(exported, Integer.toString(third)))
        .as("server series of a version loaded after close")
        .filteredOn(line -> line.startsWith("evergreen_inference_requests"))
        .isEmpty();
    assertThat(seriesOf(exported, Integer.toString(third)))
        .filteredOn(line -> line.startsWith("evergreen_inference_duration"))
        .isEmpty();
  }

  @Test
  void countersOfLoadedVersionSurviveSwitch() throws Exception {
    infer(4);
    String ok = "evergreen_inference_requests_total{model=\"" + TWO_VERSIONS + "\",outcome=\"ok\"";
    assertThat(value(scrape(), ok + ",protocol=\"v2\",version=\"1\"}")).isEqualTo(4.0);

    deployments.deploy(TWO_VERSIONS, 2, "test");
    infer(2);

    String exported = scrape();
    assertThat(value(exported, ok + ",protocol=\"v2\",version=\"1\"}"))
        .as("requests of standby version 1")
        .isEqualTo(4.0);
    assertThat(value(exported, ok + ",protocol=\"v2\",version=\"2\"}")).isEqualTo(2.0);
  }

  @Test
  void loadedVersionExportsZeroBeforeFirstRequest() throws Exception {
    deployments.deploy(TWO_VERSIONS, 2, "test");

    String exported = scrape();
    String tags = "{model=\"" + TWO_VERSIONS + "\",version=\"2\"}";
    assertThat(value(exported, "evergreen_inference_queue_seconds_count" + tags)).isZero();
    assertThat(value(exported, "evergreen_inference_compute_seconds_count" + tags)).isZero();
    assertThat(value(exported, "evergreen_inference_batch_size_rows_count" + tags)).isZero();
    assertThat(value(exported, "evergreen_inference_duration_seconds_count" + tags)).isZero();
    assertThat(value(exported, "evergreen_inference_rejected_total" + tags)).isZero();
    assertThat(value(exported, "evergreen_prediction_sample_rows" + tags)).isZero();
    assertThat(
            value(
                exported,
                "evergreen_inference_requests_total{model=\""
                    + TWO_VERSIONS
                    + "\",outcome=\"ok\",protocol=\"grpc\",version=\"2\"}"))
        .isZero();
  }

  @Test
  void shadowSeriesOnlyForShadowVersion() throws Exception {
    deployments.deploy(TWO_VERSIONS, 2, "test");
    infer(2);
    assertThat(scrape()).doesNotContain("evergreen_shadow_comparisons_total{");
    assertThat(scrape()).doesNotContain("evergreen_shadow_difference_count{");

    int third = registerCopy(TWO_VERSIONS, 1);
    deployments.startShadow(TWO_VERSIONS, third, ShadowSpec.DEFAULT, "test");
    String exported = scrape();

    String agree =
        "evergreen_shadow_comparisons_total{model=\""
            + TWO_VERSIONS
            + "\",outcome=\"agree\",version=\"";
    assertThat(value(exported, agree + third + "\"}")).isZero();
    assertThat(exported).doesNotContain(agree + "2\"}");
    assertThat(exported).doesNotContain(agree + "1\"}");
    assertThat(exported)
        .contains(
            "evergreen_shadow_difference_count{model=\""
                + TWO_VERSIONS
                + "\",version=\""
                + third
                + "\"} 0");
  }

  @Test
  void histogramsUseDocumentedBuckets() throws Exception {
    infer(1);

    String exported = scrape();
    assertThat(buckets(exported, "evergreen_inference_duration_seconds_bucket"))
        .isEqualTo(InferenceMetrics.DURATION_BUCKETS.length + 1)
        .isEqualTo(20);
    assertThat(buckets(exported, "evergreen_inference_compute_seconds_bucket")).isEqualTo(23);
    assertThat(buckets(exported, "evergreen_inference_queue_seconds_bucket")).isEqualTo(23);
    assertThat(buckets(exported, "evergreen_inference_batch_size_rows_bucket")).isEqualTo(18);
    assertThat(exported)
        .contains(
            "evergreen_inference_duration_seconds_bucket{model=\""
                + TWO_VERSIONS
                + "\",version=\"1\",le=\"1.0E-5\"}")
        .contains(
            "evergreen_inference_batch_size_rows_bucket{model=\""
                + TWO_VERSIONS
                + "\",version=\"1\",le=\"65536.0\"}");
  }

  /** Registers a new version of a model with the model file of an existing one. */
  private int registerCopy(String model, int version) {
    ModelVersion source = fixture.evergreen.registry().require(model, version);
    return fixture
        .evergreen
        .registry()
        .register(
            new ModelVersion(
                model,
                0,
                source.artifactKey(),
                source.artifactSha256(),
                null,
                null,
                source.metrics(),
                null,
                Instant.now()),
            "test")
        .version();
  }

  private void infer(int requests) throws Exception {
    for (int i = 0; i < requests; i++) {
      var response =
          fixture.send("POST", "/v2/models/" + TWO_VERSIONS + "/infer", fixture.viewerSecret, body);
      assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    }
  }

  private String scrape() throws Exception {
    var response = fixture.send("GET", "/metrics", fixture.viewerSecret, null);
    assertThat(response.statusCode()).isEqualTo(200);
    return response.body();
  }

  private void awaitShadowScorings(String version, int count) throws Exception {
    String agree =
        "evergreen_shadow_comparisons_total{model=\""
            + TWO_VERSIONS
            + "\",outcome=\"agree\",version=\""
            + version
            + "\"}";
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (System.nanoTime() < deadline && value(scrape(), agree) < count) {
      Thread.sleep(20);
    }
  }

  /** Returns the series of a version of {@link ServerFixture#TWO_VERSIONS}. */
  private static List<String> seriesOf(String exported, String version) {
    return exported
        .lines()
        .filter(line -> !line.startsWith("#"))
        .filter(line -> line.contains("model=\"" + TWO_VERSIONS + "\""))
        .filter(line -> line.contains("version=\"" + version + "\""))
        .toList();
  }

  /** Returns the value of one series, or -1 when it is not exported. */
  private static double value(String exported, String series) {
    Matcher matcher =
        Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE)
            .matcher(exported);
    return matcher.find() ? Double.parseDouble(matcher.group(1)) : -1;
  }

  /** Returns the number of buckets of a histogram of version 1, {@code +Inf} included. */
  private static long buckets(String exported, String name) {
    String prefix = name + "{model=\"" + TWO_VERSIONS + "\",version=\"1\",le=";
    return exported.lines().filter(line -> line.startsWith(prefix)).count();
  }
}
