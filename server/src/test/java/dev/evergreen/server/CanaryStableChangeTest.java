package dev.evergreen.server;

import static dev.evergreen.server.RestartChecks.audit;
import static dev.evergreen.server.RestartChecks.await;
import static dev.evergreen.server.RestartChecks.restored;
import static dev.evergreen.server.RestartChecks.send;
import static dev.evergreen.server.ServerFixture.MODEL;
import static dev.evergreen.server.ServerFixture.TWO_VERSIONS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.EvergreenSettings;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.deployment.DeploymentManager;
import dev.evergreen.core.deployment.ServingState;
import dev.evergreen.core.store.DeploymentEvent;
import dev.evergreen.store.fs.FileArtifactStore;
import dev.evergreen.store.sqlite.SqliteMetadataStore;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stored traffic settings restored by a server started again on the same SQLite file and artifact
 * folder: a canary whose stable version changed while no server ran, and the actor of every
 * restored setting.
 */
class CanaryStableChangeTest {
  private static final String CANARY_BODY =
      "{\"version\": 2, \"percent\": 30, \"key_header\": \"X-Caller\"}";

  private static Evergreen open(Path dir) {
    return new Evergreen(
        SqliteMetadataStore.open(dir.resolve("evergreen.db")),
        FileArtifactStore.open(dir.resolve("artifacts")),
        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
        Clock.systemUTC(),
        EvergreenSettings.defaults().withThreads(1));
  }

  private static void ok(HttpResponse<String> response) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
  }

  @Test
  void canaryWhoseStableChangedIsNotRestored(@TempDir Path dir) throws Exception {
    String viewer;
    String row;
    try (ServerFixture fixture = new ServerFixture(dir)) {
      viewer = fixture.viewerSecret;
      row =
          ServerFixture.inferRequest(fixture.binaryCheck.inputs(), ProtocolRequests.INPUTS, 1)
              .toString();
      // Version 3 is version 1's model file registered again.
      ModelVersion first = fixture.evergreen.registry().require(TWO_VERSIONS, 1);
      fixture
          .evergreen
          .registry()
          .register(
              new ModelVersion(
                  TWO_VERSIONS,
                  0,
                  first.artifactKey(),
                  first.artifactSha256(),
                  null,
                  null,
                  Map.of(),
                  null,
                  Instant.now()),
              "test");
      ok(
          fixture.send(
              "POST",
              "/api/v1/models/" + TWO_VERSIONS + "/canary",
              fixture.operatorSecret,
              CANARY_BODY));
    }
    // Another process moves the champion while no server runs, as `evergreen rollback` does.
    try (Evergreen offline = open(dir)) {
      offline
          .registry()
          .moveAlias(TWO_VERSIONS, Aliases.CHAMPION, 3, "bob", "promoted version 3 by hand");
    }

    try (Evergreen evergreen = open(dir);
        EvergreenServer server =
            EvergreenServer.start(evergreen, new ServerOptions("127.0.0.1", 0, 2))) {
      await(
          "the canary of " + TWO_VERSIONS + " is reported as not restored",
          () ->
              evergreen.store().listDeploymentEvents(TWO_VERSIONS).stream()
                  .anyMatch(e -> e.kind().equals("canary_not_restored")));

      DeploymentEvent event =
          evergreen.store().listDeploymentEvents(TWO_VERSIONS).stream()
              .filter(e -> e.kind().equals("canary_not_restored"))
              .findFirst()
              .orElseThrow();
      assertThat(event.version()).isEqualTo(2);
      assertThat(event.previousVersion()).isEqualTo(3);
      assertThat(event.actor()).isEqualTo(DeploymentManager.RECONCILER_ACTOR);
      assertThat(event.detail())
          .contains("stored canary version 2 was not restored")
          .contains("champion alias moved from version 1")
          .contains("to version 3");
      AuditEntry entry = audit(evergreen, AuditActions.CANARY_NOT_RESTORED).getLast();
      assertThat(entry.actor()).isEqualTo(DeploymentManager.RECONCILER_ACTOR);
      assertThat(entry.details()).containsEntry("stored_stable_version", "1");
      assertThat(entry.details()).containsEntry("serving_version", "3");
      assertThat(entry.details().get("reason")).contains("version 1").contains("version 3");
      assertThat(evergreen.store().listTrafficSettings()).isEmpty();

      ServingState state = evergreen.deployments().serving(TWO_VERSIONS).orElseThrow();
      assertThat(state.active().version()).isEqualTo(3);
      assertThat(state.canary()).isNull();
      for (int caller = 0; caller < 20; caller++) {
        HttpResponse<String> response =
            send(server.port(), "POST", "/v2/models/" + TWO_VERSIONS + "/infer", viewer, row, null);
        ok(response);
        assertThat(ServerFixture.json(response).get("model_version").asText()).isEqualTo("3");
      }
    }
  }

  /**
   * Starts the reconciler with its own actor before the server, as the {@code evergreen server}
   * command does, so restored canaries and restored batching are audited by different code paths.
   */
  @Test
  void restoredSettingsShareOneActor(@TempDir Path dir) throws Exception {
    try (ServerFixture fixture = new ServerFixture(dir)) {
      ok(
          fixture.send(
              "POST",
              "/api/v1/models/" + TWO_VERSIONS + "/canary",
              fixture.operatorSecret,
              CANARY_BODY));
      ok(
          fixture.send(
              "PUT",
              "/api/v1/models/" + MODEL + "/batching",
              fixture.operatorSecret,
              "{\"max_batch_size\": 16, \"max_delay_millis\": 1.0, \"max_queue\": 100}"));
    }

    try (Evergreen evergreen = open(dir)) {
      evergreen.deployments().startReconciler(Duration.ofMillis(100), "server");
      try (EvergreenServer server =
          EvergreenServer.start(evergreen, new ServerOptions("127.0.0.1", 0, 2))) {
        // Batching is restored apart from the canary, so wait for the audit entries of both. The
        // canary serves only after its audit entry is stored, so wait for that as well.
        await(
            "the canary of " + TWO_VERSIONS + " and the batching of " + MODEL + " are restored",
            () ->
                restored(evergreen, AuditActions.CANARY_STARTED)
                    && restored(evergreen, AuditActions.BATCHING_CONFIGURED)
                    && evergreen
                        .deployments()
                        .serving(TWO_VERSIONS)
                        .map(state -> state.canary() != null)
                        .orElse(false));
        assertThat(evergreen.deployments().serving(TWO_VERSIONS).orElseThrow().canary())
            .isNotNull();

        assertThat(server.port()).isPositive();
        assertThat(DeploymentManager.RECONCILER_ACTOR).isEqualTo("reconciler");
        AuditEntry canary = audit(evergreen, AuditActions.CANARY_STARTED).getLast();
        assertThat(canary.details()).containsEntry("restored", "true");
        assertThat(canary.actor()).isEqualTo(DeploymentManager.RECONCILER_ACTOR);
        AuditEntry batching = audit(evergreen, AuditActions.BATCHING_CONFIGURED).getLast();
        assertThat(batching.details()).containsEntry("restored", "true");
        assertThat(batching.actor()).isEqualTo(DeploymentManager.RECONCILER_ACTOR);
        DeploymentEvent championDeploy =
            evergreen.store().listDeploymentEvents(TWO_VERSIONS).stream()
                .filter(e -> e.kind().equals("switch"))
                .toList()
                .getLast();
        assertThat(championDeploy.actor()).isEqualTo("server");
      }
    }
  }
}
