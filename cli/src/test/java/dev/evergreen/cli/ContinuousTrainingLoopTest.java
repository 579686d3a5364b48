package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.pipeline.LandingWatcher;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole loop on real flight batches: CLI runs, then a server that picks up a landing file,
 * serves the champion over V2 and exposes metrics.
 */
class ContinuousTrainingLoopTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ADMIN = "evg_test_admin_secret";

  @TempDir Path work;

  @Test
  void loopOverRealBatchesThroughCliAndServer() throws Exception {
    Path home = work.resolve("home");
    Path pipeline = FlightBatches.pipeline(work.resolve("pipeline"), 20);
    Path batches = work.resolve("batches");
    Path january = FlightBatches.month(batches, 1, 20_000, null);
    Path february = FlightBatches.month(batches, 2, 20_000, null);
    Path corrupted = FlightBatches.month(batches, 3, 20_000, "CAST(NULL AS INTEGER)");
    Path march = FlightBatches.month(batches, 3, 20_000, null);

    assertThat(run(pipeline, january, home)).isEqualTo(RunOutcome.PROMOTED.exitCode());
    int second = run(pipeline, february, home);
    assertThat(second).isIn(RunOutcome.PROMOTED.exitCode(), RunOutcome.CHAMPION_KEPT.exitCode());
    assertThat(run(pipeline, corrupted, home)).isEqualTo(RunOutcome.REJECTED.exitCode());

    try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry())) {
      List<ModelVersion> versions = evergreen.registry().versions("flights-delay");
      assertThat(versions).hasSize(2);
      assertThat(evergreen.registry().aliases("flights-delay"))
          .containsEntry(Aliases.CHALLENGER, 2)
          .containsKey(Aliases.CHAMPION);
      Run rejected = evergreen.store().listRuns("flights-delay", 1).get(0);
      assertThat(rejected.status()).isEqualTo(RunStatus.FAILED);
      assertThat(rejected.outcome()).isEqualTo(RunOutcome.REJECTED);
      assertThat(rejected.reason()).contains("distance").contains("not_null");
      assertThat(evergreen.store().findValidationReport(rejected.id()).orElseThrow().accepted())
          .isFalse();
      ModelVersion first = versions.get(0);
      assertThat(first.provenance().snapshotIds()).containsExactly(first.snapshotId());
      assertThat(first.provenance().pipelineSha256()).hasSize(64);
      assertThat(first.provenance().seeds()).containsEntry("trainer", 7L);
      assertThat(first.metrics()).containsKeys("auc", "log_loss", "accuracy", "f1");
    }
    int championBefore = champion(home);

    Files.createDirectories(pipeline.resolveSibling("landing"));
    try (ServerRuntime server =
        ServerRuntime.start(
            home, "127.0.0.1", 0, List.of(pipeline), ADMIN, Duration.ofMillis(100))) {
      HttpClient http = HttpClient.newHttpClient();
      String base = "http://127.0.0.1:" + server.port();
      assertThat(
              server
                  .evergreen()
                  .deployments()
                  .serving("flights-delay")
                  .orElseThrow()
                  .active()
                  .version())
          .isEqualTo(championBefore);

      Path landed = pipeline.resolveSibling("landing").resolve("2001-03.parquet");
      Files.copy(march, landed.resolveSibling("2001-03.parquet.part"));
      Files.move(landed.resolveSibling("2001-03.parquet.part"), landed);
      Run landedRun = awaitRun(server.evergreen(), landed, Duration.ofMinutes(3));
      assertThat(landedRun.outcome()).isIn(RunOutcome.PROMOTED, RunOutcome.CHAMPION_KEPT);
      assertThat(server.evergreen().registry().versions("flights-delay")).hasSize(3);
      int servingNow =
          server
              .evergreen()
              .deployments()
              .serving("flights-delay")
              .orElseThrow()
              .active()
              .version();
      assertThat(servingNow).isEqualTo(champion(server.evergreen()));

      HttpResponse<String> infer = post(http, base + "/v2/models/flights-delay/infer", INFER);
      assertThat(infer.statusCode()).isEqualTo(200);
      JsonNode body = JSON.readTree(infer.body());
      assertThat(body.path("model_name").asText()).isEqualTo("flights-delay");
      assertThat(body.path("model_version").asText()).isEqualTo(Integer.toString(servingNow));
      double probability = body.path("outputs").get(0).path("data").get(0).asDouble();
      assertThat(probability).isBetween(0.0, 1.0);

      String metrics = get(http, base + "/metrics").body();
      assertThat(metrics).contains("evergreen_pipeline_runs_total");
      assertThat(metrics).contains("evergreen_inference_requests_total");
      assertThat(metrics).contains("evergreen_feature_drift_psi");
      assertThat(metrics).contains("evergreen_pipeline_step_duration_seconds");
    }

    try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry())) {
      Set<String> actions =
          evergreen.store().listAuditEntries(0, 10_000).stream()
              .map(AuditEntry::action)
              .collect(Collectors.toSet());
      assertThat(actions)
          .contains(
              AuditActions.SNAPSHOT_CREATED,
              AuditActions.VALIDATION_VERDICT,
              AuditActions.RUN_STARTED,
              AuditActions.RUN_FINISHED,
              AuditActions.MODEL_REGISTERED,
              AuditActions.ALIAS_MOVED,
              AuditActions.DEPLOYMENT_SWITCHED,
              AuditActions.TOKEN_CREATED);
      assertThat(evergreen.verifyAudit().intact()).isTrue();
      List<AliasMove> history = evergreen.registry().aliasHistory("flights-delay");
      assertThat(history).isNotEmpty();
      assertThat(history.get(0).alias()).isIn(Aliases.CHAMPION, Aliases.CHALLENGER);
      assertThat(history).allSatisfy(m -> assertThat(m.actor()).isNotBlank());
    }
    assertThat(Main.execute("audit", "verify", "--home", home.toString())).isZero();
    assertThat(Main.execute("lineage", "flights-delay:1", "--home", home.toString())).isZero();
  }

  @Test
  void retrainingSameSnapshotGivesIdenticalModel() throws Exception {
    Path pipeline = FlightBatches.pipeline(work.resolve("pipeline"), 15);
    Path batch = FlightBatches.month(work.resolve("batches"), 2, 15_000, null);
    Path homeA = work.resolve("a");
    Path homeB = work.resolve("b");
    assertThat(run(pipeline, batch, homeA)).isZero();
    assertThat(run(pipeline, batch, homeB)).isZero();
    try (Evergreen a = Home.open(homeA, new SimpleMeterRegistry());
        Evergreen b = Home.open(homeB, new SimpleMeterRegistry())) {
      ModelVersion first = a.registry().version("flights-delay", 1).orElseThrow();
      ModelVersion second = b.registry().version("flights-delay", 1).orElseThrow();
      assertThat(second.snapshotId()).isEqualTo(first.snapshotId());
      assertThat(second.artifactSha256()).isEqualTo(first.artifactSha256());
    }
  }

  static final String INFER =
      """
      {"id": "t-1", "inputs": [
        {"name": "date", "shape": [2], "datatype": "BYTES",
         "data": ["2001-03-05T07:00:00", "2001-03-09T18:45:00"]},
        {"name": "distance", "shape": [2], "datatype": "FP64", "data": [733, 1846]},
        {"name": "origin", "shape": [2], "datatype": "BYTES", "data": ["ORD", "ATL"]},
        {"name": "destination", "shape": [2], "datatype": "BYTES", "data": ["LGA", "LAX"]}]}
      """;

  static int run(Path pipeline, Path data, Path home) {
    return Main.execute(
        "run", pipeline.toString(), "--data", data.toString(), "--home", home.toString());
  }

  static int champion(Path home) throws Exception {
    try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry())) {
      return champion(evergreen);
    }
  }

  static int champion(Evergreen evergreen) {
    return evergreen.registry().aliases("flights-delay").get(Aliases.CHAMPION);
  }

  /**
   * Waits for the finished run of a landing file, whose source is the landing path or, once the
   * watcher has moved the file, its path under {@code processed/}.
   */
  static Run awaitRun(Evergreen evergreen, Path source, Duration timeout) throws Exception {
    String path = source.toAbsolutePath().toString();
    String moved =
        source
            .toAbsolutePath()
            .resolveSibling(LandingWatcher.PROCESSED)
            .resolve(source.getFileName())
            .toString();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (Run run : evergreen.store().listRuns(null, 50)) {
        boolean ofSource = run.source().equals(path) || run.source().equals(moved);
        if (ofSource && run.status().isTerminal()) {
          return run;
        }
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no finished run for " + path + " within " + timeout);
  }

  static HttpResponse<String> post(HttpClient http, String url, String body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url))
            .header("Authorization", "Bearer " + ADMIN)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> get(HttpClient http, String url) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + ADMIN).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
