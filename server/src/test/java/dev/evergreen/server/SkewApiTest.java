package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.SplitSpec;
import dev.evergreen.api.security.Role;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.training.DatasetLoader;
import dev.evergreen.core.training.FlightSamples;
import dev.evergreen.core.training.ModelBundles;
import dev.evergreen.core.training.TrainedModel;
import dev.evergreen.core.training.TrainingData;
import dev.evergreen.core.training.XgboostTrainer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training-serving skew over real HTTP: XGBoost models trained on an ingested flight snapshot,
 * served with every scored row sampled, and compared with that snapshot's stored profile.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SkewApiTest {
  private static final String UNSHIFTED = "flights-skew";
  private static final String SHIFTED = "flights-shifted";
  private static final String EMPTY = "flights-unused";

  /** Serving rows sent per model; the training snapshot has 3,000. */
  private static final int ROWS = 1_500;

  private static final List<String> FEATURES =
      List.of("distance", "origin", "destination", "hour_of_day(date)", "day_of_week(date)");

  private final PrometheusMeterRegistry meters =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private Evergreen evergreen;
  private EvergreenServer server;
  private FlightSamples.Rows rows;
  private String viewerSecret;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    evergreen = TestHomes.open(dir, meters);
    Path sample = FlightSamples.write(dir, 3_000);
    rows = FlightSamples.read(sample);
    PipelineSpec spec = FlightSamples.binary(new SplitSpec("random", 0.2, 3L, null));
    Snapshot snapshot = evergreen.snapshots().ingest(sample, spec, "test").snapshot();
    assertThat(snapshot.profile().sketchKey()).isNotNull();
    TrainingData data = DatasetLoader.load(evergreen.snapshots().parquetOf(snapshot), spec, 1);
    TrainedModel trained = new XgboostTrainer().train(data, spec.trainer());
    ModelBundles.StoredBundle bundle =
        ModelBundles.store(evergreen.artifacts(), trained, data, spec.trainer());
    for (String model : List.of(UNSHIFTED, SHIFTED, EMPTY)) {
      evergreen
          .registry()
          .register(
              new ModelVersion(
                  model,
                  0,
                  bundle.manifestKey(),
                  bundle.modelSha256(),
                  null,
                  snapshot.id(),
                  Map.of("auc", 0.7),
                  null,
                  Instant.now()),
              "test");
      evergreen.registry().moveAlias(model, Aliases.CHAMPION, 1, "test", "first version");
    }
    viewerSecret = evergreen.tokens().create("test-viewer", Role.VIEWER, "test").secret();
    server = EvergreenServer.start(evergreen, new ServerOptions("127.0.0.1", 0, 2, 1.0));
    awaitReady();
  }

  @AfterAll
  void stop() {
    server.close();
    evergreen.close();
  }

  @Test
  void skewOfTrainingDistributionFlagsNothing() throws Exception {
    long warmUp = warmUp(UNSHIFTED);
    score(UNSHIFTED, 1.0);

    HttpResponse<String> response = skew(UNSHIFTED, viewerSecret);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode body = ServerFixture.json(response);
    assertThat(body.get("sampled_rows").asLong()).isEqualTo(warmUp + ROWS);
    assertThat(body.get("sample_fraction").asDouble()).isEqualTo(1.0);
    assertThat(featureNames(body)).containsExactlyElementsOf(FEATURES);
    assertThat(body.get("skipped")).isEmpty();
    assertThat(body.get("drifted")).as(response.body()).isEmpty();
    assertThat(body.get("dataset_drifted").asBoolean()).isFalse();
    assertThat(feature(body, "distance").get("wasserstein").asDouble()).isLessThan(0.05);
  }

  @Test
  void skewOfShiftedDistanceFlagsOnlyDistance() throws Exception {
    warmUp(SHIFTED);
    score(SHIFTED, 1.5);

    HttpResponse<String> response = skew(SHIFTED, viewerSecret);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode body = ServerFixture.json(response);
    assertThat(body.get("drifted")).as(response.body()).hasSize(1);
    assertThat(body.get("drifted").get(0).asText()).isEqualTo("distance");
    assertThat(feature(body, "distance").get("drifted").asBoolean()).isTrue();
    assertThat(feature(body, "distance").get("wasserstein").asDouble()).isGreaterThan(0.3);
    for (String other : FEATURES.subList(1, FEATURES.size())) {
      assertThat(feature(body, other).get("drifted").asBoolean()).as(other).isFalse();
    }
    // One drifted feature of five is below the default dataset share of 0.5.
    assertThat(body.get("share").asDouble()).isEqualTo(0.2);
    assertThat(body.get("dataset_drifted").asBoolean()).isFalse();
  }

  @Test
  void skewBeforeEnoughRowsIsConflict() throws Exception {
    HttpResponse<String> none = skew(EMPTY, viewerSecret);
    assertThat(none.statusCode()).as(none.body()).isEqualTo(409);
    assertThat(ServerFixture.json(none).get("error").asText())
        .contains("has 0 sampled serving rows")
        .contains("at least 100");

    long warmUp = warmUp(EMPTY);
    HttpResponse<String> few = skew(EMPTY, viewerSecret);
    assertThat(few.statusCode()).as(few.body()).isEqualTo(409);
    assertThat(ServerFixture.json(few).get("error").asText())
        .contains("has " + warmUp + " sampled serving rows");
  }

  @Test
  void skewRequiresToken() throws Exception {
    HttpResponse<String> anonymous = skew(UNSHIFTED, null);
    assertThat(anonymous.statusCode()).isEqualTo(401);
  }

  @Test
  void skewOfUnknownVersionIsNotFound() throws Exception {
    HttpResponse<String> response =
        send("GET", "/api/v1/models/" + UNSHIFTED + "/versions/7/skew", viewerSecret, null);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(404);
  }

  @Test
  void sampledRowsGaugeCountsRows() throws Exception {
    long warmUp = warmUp(UNSHIFTED);
    HttpResponse<String> response = infer(UNSHIFTED, 0, 10, 1.0);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);

    Gauge gauge = meters.find(PredictionSampler.ROWS_GAUGE).tag("model", UNSHIFTED).gauge();
    assertThat(gauge.value()).isEqualTo(warmUp + 10.0);
    String scrape = send("GET", "/metrics", viewerSecret, null).body();
    assertThat(scrape)
        .contains("evergreen_prediction_sample_rows{model=\"" + UNSHIFTED + "\",version=\"1\"}");
  }

  /**
   * Sends one-row requests until the sampler has looked up the training schema and counts rows, and
   * returns the rows sampled so far.
   */
  private long warmUp(String model) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      HttpResponse<String> response = infer(model, 0, 1, 1.0);
      assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
      Gauge gauge = meters.find(PredictionSampler.ROWS_GAUGE).tag("model", model).gauge();
      if (gauge != null && gauge.value() > 0) {
        return (long) gauge.value();
      }
      Thread.sleep(20);
    }
    throw new AssertionError("the sampler of " + model + " did not start within 30 s");
  }

  /** Scores the first {@value #ROWS} sample rows in requests of 100 rows. */
  private void score(String model, double distanceScale) throws Exception {
    for (int from = 0; from < ROWS; from += 100) {
      HttpResponse<String> response = infer(model, from, 100, distanceScale);
      assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    }
  }

  private HttpResponse<String> infer(String model, int from, int count, double distanceScale)
      throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    ArrayNode inputs = request.putArray("inputs");
    ArrayNode distance = tensor(inputs, "distance", "FP64", count);
    ArrayNode origin = tensor(inputs, "origin", "BYTES", count);
    ArrayNode destination = tensor(inputs, "destination", "BYTES", count);
    ArrayNode date = tensor(inputs, "date", "BYTES", count);
    for (int row = from; row < from + count; row++) {
      distance.add(rows.distance()[row] * distanceScale);
      origin.add(rows.origin()[row]);
      destination.add(rows.destination()[row]);
      long micros = rows.micros()[row];
      date.add(
          LocalDateTime.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), 0, ZoneOffset.UTC)
              .toString());
    }
    return send("POST", "/v2/models/" + model + "/infer", viewerSecret, request.toString());
  }

  private static ArrayNode tensor(ArrayNode inputs, String name, String datatype, int count) {
    ObjectNode tensor = inputs.addObject();
    tensor.put("name", name);
    tensor.putArray("shape").add(count);
    tensor.put("datatype", datatype);
    return tensor.putArray("data");
  }

  private HttpResponse<String> skew(String model, String secret) throws Exception {
    return send("GET", "/api/v1/models/" + model + "/versions/1/skew", secret, null);
  }

  private static List<String> featureNames(JsonNode body) {
    List<String> names = new ArrayList<>();
    body.get("features").forEach(f -> names.add(f.get("feature").asText()));
    return names;
  }

  private static JsonNode feature(JsonNode body, String name) {
    for (JsonNode feature : body.get("features")) {
      if (feature.get("feature").asText().equals(name)) {
        return feature;
      }
    }
    throw new AssertionError("no feature " + name + " in " + body);
  }

  private void awaitReady() throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      if (send("GET", "/v2/health/ready", null, null).statusCode() == 200) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("the server did not become ready within 60 s");
  }

  private HttpResponse<String> send(String method, String path, String secret, String body)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .timeout(Duration.ofSeconds(60))
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
}
