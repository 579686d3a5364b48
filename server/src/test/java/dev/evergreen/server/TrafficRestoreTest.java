package dev.evergreen.server;

import static dev.evergreen.server.RestartChecks.audit;
import static dev.evergreen.server.RestartChecks.await;
import static dev.evergreen.server.RestartChecks.restored;
import static dev.evergreen.server.RestartChecks.send;
import static dev.evergreen.server.ServerFixture.MODEL;
import static dev.evergreen.server.ServerFixture.TWO_VERSIONS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.deployment.DeploymentManager;
import dev.evergreen.core.deployment.ServingState;
import dev.evergreen.core.serving.TensorSpec;
import dev.evergreen.core.store.DeploymentEvent;
import dev.evergreen.core.store.TrafficSettings;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Canaries, shadows and batching set through the REST API, then the server and its {@link
 * Evergreen} closed and started again on the same SQLite file and artifact folder.
 */
class TrafficRestoreTest {
  private static final List<TensorSpec> INPUTS =
      List.of(
          new TensorSpec("distance", "FP64", List.of(-1L)),
          new TensorSpec("origin", "BYTES", List.of(-1L)),
          new TensorSpec("destination", "BYTES", List.of(-1L)),
          new TensorSpec("date", "BYTES", List.of(-1L)));

  private static final int CALLERS = 200;

  /** A server started again on the data of a closed {@link ServerFixture}. */
  private static final class Restarted implements AutoCloseable {
    final Evergreen evergreen;
    final EvergreenServer server;

    Restarted(Path dir) {
      evergreen = TestHomes.open(dir, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
      server =
          EvergreenServer.start(evergreen, new ServerOptions("127.0.0.1", 0, 2).withGrpcPort(0));
    }

    @Override
    public void close() {
      server.close();
      evergreen.close();
    }
  }

  private HttpResponse<String> ok(HttpResponse<String> response) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return response;
  }

  /** Returns the version that scores one row for each caller key. */
  private int[] versionsByCaller(int port, String viewer, String row) throws Exception {
    int[] versions = new int[CALLERS];
    for (int caller = 0; caller < CALLERS; caller++) {
      HttpResponse<String> response =
          ok(
              send(
                  port,
                  "POST",
                  "/v2/models/" + TWO_VERSIONS + "/infer",
                  viewer,
                  row,
                  "caller-" + caller));
      versions[caller] = ServerFixture.json(response).get("model_version").asInt();
    }
    return versions;
  }

  private static TrafficSettings stored(Evergreen evergreen, String model) {
    return evergreen.store().listTrafficSettings().stream()
        .filter(settings -> settings.model().equals(model))
        .findFirst()
        .orElse(null);
  }

  @Test
  void canaryShadowAndBatchingSurviveRestart(@TempDir Path dir) throws Exception {
    String operator;
    String viewer;
    String row;
    int[] before;
    try (ServerFixture fixture = new ServerFixture(dir)) {
      operator = fixture.operatorSecret;
      viewer = fixture.viewerSecret;
      row = ServerFixture.inferRequest(fixture.binaryCheck.inputs(), INPUTS, 1).toString();
      int port = fixture.server.port();
      ok(
          send(
              port,
              "POST",
              "/api/v1/models/" + TWO_VERSIONS + "/canary",
              operator,
              "{\"version\": 2, \"percent\": 30, \"key_header\": \"X-Caller\","
                  + " \"rollback\": {\"max_error_rate\": 0.2, \"window_seconds\": 30,"
                  + " \"min_requests\": 5}}",
              null));
      ok(
          send(
              port,
              "PUT",
              "/api/v1/models/" + MODEL + "/batching",
              operator,
              "{\"max_batch_size\": 16, \"max_delay_millis\": 1.5, \"max_queue\": 100}",
              null));
      before = versionsByCaller(port, viewer, row);
    }
    long canaryCallers = java.util.Arrays.stream(before).filter(v -> v == 2).count();
    assertThat(canaryCallers).isBetween(30L, 90L);

    try (Restarted restarted = new Restarted(dir)) {
      int port = restarted.server.port();
      var deployments = restarted.evergreen.deployments();
      // Batching is restored apart from the canary, so wait for the audit entries of both.
      await(
          "the canary of " + TWO_VERSIONS + " and the batching of " + MODEL + " are restored",
          () ->
              deployments.serving(TWO_VERSIONS).map(s -> s.canary() != null).orElse(false)
                  && restored(restarted.evergreen, AuditActions.CANARY_STARTED)
                  && restored(restarted.evergreen, AuditActions.BATCHING_CONFIGURED));

      JsonNode serving =
          ServerFixture.json(
              ok(
                  send(
                      port,
                      "GET",
                      "/api/v1/models/" + TWO_VERSIONS + "/serving",
                      viewer,
                      null,
                      null)));
      assertThat(serving.get("active_version").asInt()).isEqualTo(1);
      JsonNode canary = serving.get("canary");
      assertThat(canary.get("version").asInt()).isEqualTo(2);
      assertThat(canary.get("percent").asDouble()).isEqualTo(30.0);
      assertThat(canary.get("key_header").asText()).isEqualTo("X-Caller");
      assertThat(canary.get("window_requests").asLong()).isZero();
      assertThat(canary.get("rollback").get("max_error_rate").asDouble()).isEqualTo(0.2);
      assertThat(canary.get("rollback").get("window_seconds").asInt()).isEqualTo(30);
      assertThat(canary.get("rollback").get("min_requests").asInt()).isEqualTo(5);
      assertThat(versionsByCaller(port, viewer, row)).isEqualTo(before);

      JsonNode batching =
          ServerFixture.json(
                  ok(send(port, "GET", "/api/v1/models/" + MODEL + "/serving", viewer, null, null)))
              .get("batching");
      assertThat(batching.get("max_batch_size").asInt()).isEqualTo(16);
      assertThat(batching.get("max_delay_millis").asDouble()).isEqualTo(1.5);
      assertThat(batching.get("max_queue").asInt()).isEqualTo(100);

      AuditEntry canaryRestore = audit(restarted.evergreen, AuditActions.CANARY_STARTED).getLast();
      assertThat(canaryRestore.actor()).isEqualTo(DeploymentManager.RECONCILER_ACTOR);
      assertThat(canaryRestore.details()).containsEntry("restored", "true");
      AuditEntry batchingRestore =
          audit(restarted.evergreen, AuditActions.BATCHING_CONFIGURED).getLast();
      assertThat(batchingRestore.actor()).isEqualTo(DeploymentManager.RECONCILER_ACTOR);
      assertThat(batchingRestore.details()).containsEntry("restored", "true");

      // Replace the canary by a shadow of the same version for the next restart.
      ok(
          send(
              port,
              "POST",
              "/api/v1/models/" + TWO_VERSIONS + "/canary/abort",
              operator,
              "{\"reason\": \"switch to a shadow\"}",
              null));
      ok(
          send(
              port,
              "POST",
              "/api/v1/models/" + TWO_VERSIONS + "/shadow",
              operator,
              "{\"version\": 2, \"percent\": 60, \"tolerance\": 0.001}",
              null));
      ok(send(port, "DELETE", "/api/v1/models/" + MODEL + "/batching", operator, null, null));
    }

    try (Restarted restarted = new Restarted(dir)) {
      int port = restarted.server.port();
      var deployments = restarted.evergreen.deployments();
      await(
          "the shadow of " + TWO_VERSIONS + " is restored",
          () -> deployments.serving(TWO_VERSIONS).map(s -> s.shadow() != null).orElse(false));

      ServingState state = deployments.serving(TWO_VERSIONS).orElseThrow();
      assertThat(state.canary()).isNull();
      assertThat(state.shadow().model().version()).isEqualTo(2);
      assertThat(state.shadow().spec().percent()).isEqualTo(60.0);
      assertThat(state.shadow().spec().tolerance()).isEqualTo(0.001);
      assertThat(restarted.evergreen.router().batching()).doesNotContainKey(MODEL);
      assertThat(stored(restarted.evergreen, MODEL)).isNull();

      // Stopping the shadow and promoting a canary leave no stored slot.
      ok(send(port, "DELETE", "/api/v1/models/" + TWO_VERSIONS + "/shadow", operator, null, null));
      ok(
          send(
              port,
              "POST",
              "/api/v1/models/" + TWO_VERSIONS + "/canary",
              operator,
              "{\"version\": 2, \"percent\": 50}",
              null));
      assertThat(stored(restarted.evergreen, TWO_VERSIONS).canary().version()).isEqualTo(2);
      ok(
          send(
              port,
              "POST",
              "/api/v1/models/" + TWO_VERSIONS + "/canary/promote",
              operator,
              null,
              null));
      assertThat(stored(restarted.evergreen, TWO_VERSIONS)).isNull();
    }
  }

  @Test
  void canaryWithAlteredArtifactIsNotRestored(@TempDir Path dir) throws Exception {
    Path modelFile;
    String viewer;
    String row;
    try (ServerFixture fixture = new ServerFixture(dir)) {
      viewer = fixture.viewerSecret;
      row = ServerFixture.inferRequest(fixture.binaryCheck.inputs(), INPUTS, 1).toString();
      ok(
          send(
              fixture.server.port(),
              "POST",
              "/api/v1/models/" + TWO_VERSIONS + "/canary",
              fixture.operatorSecret,
              "{\"version\": 2, \"percent\": 40}",
              null));
      ModelVersion canary = fixture.evergreen.registry().require(TWO_VERSIONS, 2);
      modelFile = fixture.evergreen.artifacts().localPath("sha256/" + canary.artifactSha256());
    }
    // The artifact store keeps files read-only; flip one byte so the SHA-256 no longer matches.
    modelFile.toFile().setWritable(true);
    byte[] bytes = Files.readAllBytes(modelFile);
    bytes[bytes.length / 2] ^= 0x01;
    Files.write(modelFile, bytes);

    try (Restarted restarted = new Restarted(dir)) {
      var store = restarted.evergreen.store();
      await(
          "the canary of " + TWO_VERSIONS + " is reported as not restored",
          () ->
              store.listDeploymentEvents(TWO_VERSIONS).stream()
                  .anyMatch(e -> e.kind().equals("canary_not_restored")));

      DeploymentEvent event =
          store.listDeploymentEvents(TWO_VERSIONS).stream()
              .filter(e -> e.kind().equals("canary_not_restored"))
              .findFirst()
              .orElseThrow();
      assertThat(event.version()).isEqualTo(2);
      assertThat(event.previousVersion()).isEqualTo(1);
      assertThat(event.actor()).isEqualTo(DeploymentManager.RECONCILER_ACTOR);
      assertThat(event.detail())
          .contains("stored canary version 2 was not restored")
          .contains("the artifact was altered");
      AuditEntry entry = audit(restarted.evergreen, AuditActions.CANARY_NOT_RESTORED).getLast();
      assertThat(entry.actor()).isEqualTo(DeploymentManager.RECONCILER_ACTOR);
      assertThat(entry.details().get("reason")).contains("the artifact was altered");
      assertThat(stored(restarted.evergreen, TWO_VERSIONS)).isNull();

      ServingState state = restarted.evergreen.deployments().serving(TWO_VERSIONS).orElseThrow();
      assertThat(state.canary()).isNull();
      assertThat(state.active().version()).isEqualTo(1);
      int[] versions = versionsByCaller(restarted.server.port(), viewer, row);
      assertThat(versions).containsOnly(1);
    }
  }
}
