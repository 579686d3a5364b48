package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.deployment.DeploymentManager;
import dev.evergreen.core.deployment.ServingState;
import dev.evergreen.core.store.DeploymentEvent;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The {@code traffic} commands against a running server, and a pipeline whose deployment strategy
 * is canary.
 */
class TrafficCommandTest {
  private static final String ADMIN = "evg_test_admin_secret";
  private static final String MODEL = "flights-delay";

  @TempDir Path work;

  @Test
  void canaryShadowAndBatchingThroughCommands() throws Exception {
    Path home = work.resolve("home");
    Path pipeline = FlightBatches.pipeline(work.resolve("pipeline"), 10);
    Path batches = work.resolve("batches");
    assertThat(
            ContinuousTrainingLoopTest.run(
                pipeline, FlightBatches.month(batches, 1, 5_000, null), home))
        .isZero();
    assertThat(
            ContinuousTrainingLoopTest.run(
                pipeline, FlightBatches.month(batches, 6, 5_000, null), home))
        .isIn(0, 4);
    int champion = ContinuousTrainingLoopTest.champion(home);
    int other = champion == 1 ? 2 : 1;

    try (ServerRuntime server =
        ServerRuntime.start(home, "127.0.0.1", 0, List.of(), ADMIN, Duration.ofMillis(100))) {
      String url = "http://127.0.0.1:" + server.port();
      awaitServing(server, champion);

      assertThat(
              Main.execute(
                  "traffic",
                  "canary",
                  MODEL,
                  Integer.toString(other),
                  "--percent",
                  "25",
                  "--max-error-rate",
                  "0.1",
                  "--url",
                  url,
                  "--token",
                  ADMIN))
          .isZero();
      ServingState state = server.evergreen().deployments().serving(MODEL).orElseThrow();
      assertThat(state.canary().model().version()).isEqualTo(other);
      assertThat(state.canary().split().percent()).isEqualTo(25.0);
      assertThat(state.canary().spec().rollback().maxErrorRate()).isEqualTo(0.1);
      assertThat(Main.execute("traffic", "show", MODEL, "--url", url, "--token", ADMIN)).isZero();
      assertThat(
              Main.execute(
                  "traffic", "ramp", MODEL, "--percent", "40", "--url", url, "--token", ADMIN))
          .isZero();
      assertThat(
              server
                  .evergreen()
                  .deployments()
                  .serving(MODEL)
                  .orElseThrow()
                  .canary()
                  .split()
                  .percent())
          .isEqualTo(40.0);
      assertThat(
              Main.execute(
                  "traffic", "ramp", MODEL, "--percent", "100", "--url", url, "--token", ADMIN))
          .isEqualTo(Main.EXIT_FAILED);

      assertThat(
              Main.execute(
                  "traffic",
                  "abort",
                  MODEL,
                  "--reason",
                  "manual check",
                  "--url",
                  url,
                  "--token",
                  ADMIN))
          .isZero();
      assertThat(server.evergreen().deployments().serving(MODEL).orElseThrow().canary()).isNull();
      // A second abort has nothing to stop, so it fails.
      assertThat(Main.execute("traffic", "abort", MODEL, "--url", url, "--token", ADMIN))
          .isEqualTo(Main.EXIT_FAILED);

      assertThat(
              Main.execute(
                  "traffic",
                  "canary",
                  MODEL,
                  Integer.toString(other),
                  "--url",
                  url,
                  "--token",
                  ADMIN))
          .isZero();
      assertThat(Main.execute("traffic", "promote", MODEL, "--url", url, "--token", ADMIN))
          .isZero();
      assertThat(server.evergreen().deployments().serving(MODEL).orElseThrow().active().version())
          .isEqualTo(other);
      assertThat(server.evergreen().registry().aliases(MODEL))
          .containsEntry(Aliases.CHAMPION, other);

      assertThat(
              Main.execute(
                  "traffic",
                  "shadow",
                  MODEL,
                  Integer.toString(champion),
                  "--percent",
                  "50",
                  "--url",
                  url,
                  "--token",
                  ADMIN))
          .isZero();
      assertThat(server.evergreen().deployments().serving(MODEL).orElseThrow().shadow())
          .isNotNull();
      assertThat(Main.execute("traffic", "shadow-stop", MODEL, "--url", url, "--token", ADMIN))
          .isZero();

      assertThat(
              Main.execute(
                  "traffic",
                  "batching",
                  MODEL,
                  "--max-batch-size",
                  "16",
                  "--url",
                  url,
                  "--token",
                  ADMIN))
          .isZero();
      assertThat(server.evergreen().router().batching().get(MODEL).maxBatchSize()).isEqualTo(16);
      assertThat(
              Main.execute("traffic", "batching", MODEL, "--off", "--url", url, "--token", ADMIN))
          .isZero();
      assertThat(server.evergreen().router().batching()).doesNotContainKey(MODEL);

      List<String> actions =
          server.evergreen().store().listAuditEntries(0, 10_000).stream()
              .map(AuditEntry::action)
              .toList();
      assertThat(actions)
          .contains(
              AuditActions.CANARY_STARTED,
              AuditActions.CANARY_ABORTED,
              AuditActions.CANARY_PROMOTED,
              AuditActions.SHADOW_STARTED,
              AuditActions.SHADOW_STOPPED,
              AuditActions.BATCHING_CONFIGURED);
    }
  }

  @Test
  void trafficCommandWithoutServerNamesTheFix() {
    assertThat(Main.execute("traffic", "promote", MODEL, "--url", "", "--token", ADMIN))
        .isEqualTo(Main.EXIT_FAILED);
  }

  @Test
  void canaryPipelineRunInServerStartsCanary() throws Exception {
    Path home = work.resolve("home");
    Path pipeline = FlightBatches.pipeline(work.resolve("pipeline"), 10);
    String canary =
        Files.readString(pipeline)
            .replace(
                "  checkRows: 50\n",
                "  checkRows: 50\n  strategy: canary\n  canary:\n    percent: 20\n");
    Files.writeString(pipeline, canary);
    Path batches = work.resolve("batches");
    assertThat(
            ContinuousTrainingLoopTest.run(
                pipeline, FlightBatches.month(batches, 1, 5_000, null), home))
        .isZero();

    try (ServerRuntime server =
        ServerRuntime.start(home, "127.0.0.1", 0, List.of(), ADMIN, Duration.ofMillis(100))) {
      awaitServing(server, 1);
      server
          .evergreen()
          .pipelines()
          .run(pipeline, FlightBatches.month(batches, 6, 5_000, null), "test");

      ServingState state = server.evergreen().deployments().serving(MODEL).orElseThrow();
      assertThat(state.active().version()).isEqualTo(1);
      assertThat(state.canary()).isNotNull();
      assertThat(state.canary().model().version()).isEqualTo(2);
      assertThat(state.canary().split().percent()).isEqualTo(20.0);
      assertThat(server.evergreen().registry().aliases(MODEL)).containsEntry(Aliases.CHAMPION, 1);
    }
  }

  /** Writes a pipeline whose deployment strategy is a canary for 20% of requests. */
  private Path canaryPipeline() throws Exception {
    Path pipeline = FlightBatches.pipeline(work.resolve("pipeline"), 10);
    Files.writeString(
        pipeline,
        Files.readString(pipeline)
            .replace(
                "  checkRows: 50\n",
                "  checkRows: 50\n  strategy: canary\n  canary:\n    percent: 20\n"));
    return pipeline;
  }

  private record Outcome(int code, String err) {}

  private static Outcome execute(String... args) {
    StringWriter err = new StringWriter();
    CommandLine commandLine = Main.commandLine();
    commandLine.setErr(new PrintWriter(err, true));
    int code = commandLine.execute(args);
    return new Outcome(code, err.toString());
  }

  @Test
  void abortWithoutServerWithdrawsStoredCanary() throws Exception {
    Path home = work.resolve("home");
    Path pipeline = canaryPipeline();
    Path batches = work.resolve("batches");
    assertThat(
            ContinuousTrainingLoopTest.run(
                pipeline, FlightBatches.month(batches, 1, 5_000, null), home))
        .isZero();
    // No server runs, so the run stores the canary for the next server to start.
    assertThat(
            ContinuousTrainingLoopTest.run(
                pipeline, FlightBatches.month(batches, 6, 5_000, null), home))
        .isZero();
    String dir = home.toString();

    try (ServerLock running = ServerLock.acquire(home)) {
      Outcome whileServerRuns = execute("traffic", "abort", MODEL, "--home", dir);
      assertThat(whileServerRuns.code()).isEqualTo(Main.EXIT_FAILED);
      assertThat(whileServerRuns.err())
          .contains("a server runs on data directory")
          .contains("pass that server's --url");
    }
    Outcome withdrawn =
        execute("traffic", "abort", MODEL, "--reason", "not this week", "--home", dir);
    Outcome again = execute("traffic", "abort", MODEL, "--home", dir);
    Outcome noHome = execute("traffic", "abort", MODEL, "--home", work.resolve("empty").toString());

    assertThat(withdrawn.code()).as(withdrawn.err()).isZero();
    assertThat(again.code()).isEqualTo(Main.EXIT_FAILED);
    assertThat(again.err()).contains("model 'flights-delay' has no stored canary");
    Outcome both = execute("traffic", "abort", MODEL, "--url", "http://127.0.0.1:0", "--home", dir);
    assertThat(both.code()).isEqualTo(Main.EXIT_FAILED);
    assertThat(both.err()).contains("pass --url to change a running server or --home");
    assertThat(noHome.code()).isEqualTo(Main.EXIT_FAILED);
    assertThat(noHome.err()).contains("empty has no metadata database; pass --home");
    assertThat(work.resolve("empty")).doesNotExist();
    try (ServerRuntime server =
        ServerRuntime.start(home, "127.0.0.1", 0, List.of(), ADMIN, Duration.ofMillis(100))) {
      awaitServing(server, 1);
      // Several reconciler passes of 100 ms, any of which would start a stored canary.
      Thread.sleep(500);

      assertThat(server.evergreen().deployments().serving(MODEL).orElseThrow().canary()).isNull();
      assertThat(server.evergreen().store().listTrafficSettings()).isEmpty();
      AuditEntry aborted =
          server.evergreen().store().listAuditEntries(0, 10_000).stream()
              .filter(e -> e.action().equals(AuditActions.CANARY_ABORTED))
              .toList()
              .getLast();
      assertThat(aborted.actor()).isEqualTo(Main.actor());
      assertThat(aborted.details()).containsEntry("stored", "true");
      assertThat(aborted.details()).containsEntry("reason", "not this week");
      assertThat(aborted.targets()).containsEntry("version", "2");
    }
  }

  @Test
  void canaryPipelineRunBesideServerStartsCanary() throws Exception {
    Path home = work.resolve("home");
    Path pipeline = canaryPipeline();
    Path batches = work.resolve("batches");
    assertThat(
            ContinuousTrainingLoopTest.run(
                pipeline, FlightBatches.month(batches, 1, 5_000, null), home))
        .isZero();

    try (ServerRuntime server =
        ServerRuntime.start(home, "127.0.0.1", 0, List.of(), ADMIN, Duration.ofMillis(100))) {
      awaitServing(server, 1);

      // The run opens its own store connection, as `evergreen run` in a CI job would.
      assertThat(
              ContinuousTrainingLoopTest.run(
                  pipeline, FlightBatches.month(batches, 6, 5_000, null), home))
          .isZero();

      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      ServingState state = server.evergreen().deployments().serving(MODEL).orElseThrow();
      while (state.canary() == null && System.nanoTime() < deadline) {
        Thread.sleep(50);
        state = server.evergreen().deployments().serving(MODEL).orElseThrow();
      }
      assertThat(state.active().version()).isEqualTo(1);
      assertThat(state.canary()).isNotNull();
      assertThat(state.canary().model().version()).isEqualTo(2);
      assertThat(state.canary().split().percent()).isEqualTo(20.0);
      assertThat(server.evergreen().registry().aliases(MODEL))
          .containsEntry(Aliases.CHAMPION, 1)
          .containsEntry(Aliases.CHALLENGER, 2);
      List<AuditEntry> requested =
          server.evergreen().store().listAuditEntries(0, 10_000).stream()
              .filter(e -> e.action().equals(AuditActions.CANARY_REQUESTED))
              .toList();
      assertThat(requested).hasSize(1);
      assertThat(requested.get(0).details()).containsEntry("stable_version", "1");
      assertThat(server.evergreen().store().listRunsByStatus(Set.of(RunStatus.FINISHED)))
          .extracting(Run::reason)
          .anyMatch(
              reason ->
                  reason.startsWith("version 2 passed the gate and is stored as a canary for the"));
    }
  }

  @Test
  void blueGreenRunBesideServerRecordsOneSwitch() throws Exception {
    Path home = work.resolve("home");
    Path pipeline = FlightBatches.pipeline(work.resolve("pipeline"), 10);
    Path batches = work.resolve("batches");
    assertThat(
            ContinuousTrainingLoopTest.run(
                pipeline, FlightBatches.month(batches, 1, 5_000, null), home))
        .isZero();

    try (ServerRuntime server =
        ServerRuntime.start(home, "127.0.0.1", 0, List.of(), ADMIN, Duration.ofMillis(100))) {
      awaitServing(server, 1);

      assertThat(
              ContinuousTrainingLoopTest.run(
                  pipeline, FlightBatches.month(batches, 6, 5_000, null), home))
          .isZero();
      awaitServing(server, 2);

      // A switch is recorded before its version serves, so the event exists now.
      List<DeploymentEvent> switches = switchesTo(server, 2);
      assertThat(switches).hasSize(1);
      assertThat(switches.get(0).previousVersion()).isEqualTo(1);
      assertThat(switches.get(0).actor()).isEqualTo(DeploymentManager.RECONCILER_ACTOR);
    }
  }

  private static List<DeploymentEvent> switchesTo(ServerRuntime server, int version) {
    return server.evergreen().store().listDeploymentEvents(MODEL).stream()
        .filter(e -> e.kind().equals("switch") && e.version() == version)
        .toList();
  }

  private static void awaitServing(ServerRuntime server, int version) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      var state = server.evergreen().deployments().serving(MODEL);
      if (state.isPresent() && state.get().active().version() == version) {
        return;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("version " + version + " did not serve within 60 s");
  }
}
