package dev.evergreen.core.deployment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.CanarySpec;
import dev.evergreen.api.pipeline.RollbackSpec;
import dev.evergreen.api.pipeline.ShadowSpec;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.inference.InferenceRouter;
import dev.evergreen.core.lineage.LineageService;
import dev.evergreen.core.registry.ModelRegistry;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.Signature;
import dev.evergreen.core.serving.TensorSpec;
import dev.evergreen.core.store.DeploymentEvent;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class CanaryDeploymentTest {
  private static final String MODEL = "delays";

  private InMemoryMetadataStore store;
  private ModelRegistry registry;
  private SimpleMeterRegistry meters;
  private DeploymentManager manager;
  private InferenceRouter router;

  /** Models the loader returns by version; versions not listed load as good models. */
  private final Map<Integer, ServableModel> scripted = new ConcurrentHashMap<>();

  /** Versions whose load fails. */
  private final java.util.Set<Integer> broken = ConcurrentHashMap.newKeySet();

  @BeforeEach
  void createServices() {
    Clock clock = Clock.systemUTC();
    store = new InMemoryMetadataStore();
    AuditLog audit = new AuditLog(store, clock);
    LineageService lineage = new LineageService(store, clock);
    registry = new ModelRegistry(store, audit, lineage, clock);
    meters = new SimpleMeterRegistry();
    manager =
        new DeploymentManager(store, registry, this::load, audit, lineage, meters, clock, 1e-6);
    router = new InferenceRouter(manager, meters);
    for (int i = 0; i < 3; i++) {
      registry.register(
          new ModelVersion(
              MODEL,
              0,
              "sha256/" + "a".repeat(64),
              "b".repeat(64),
              null,
              null,
              Map.of(),
              null,
              Instant.now()),
          "trainer");
    }
    manager.deploy(MODEL, 1, "alice");
  }

  @AfterEach
  void close() {
    router.close();
    manager.close();
    store.close();
  }

  private ServableModel load(ModelVersion version) {
    if (broken.contains(version.version())) {
      throw new EvergreenException(ErrorKind.INTERNAL, "artifact is unreadable");
    }
    ServableModel model = scripted.get(version.version());
    return model != null ? model : ScriptedModel.good(version.model(), version.version());
  }

  private static CanarySpec canary(double percent, RollbackSpec rollback) {
    return new CanarySpec(percent, null, null, rollback);
  }

  private ServingState state() {
    return manager.serving(MODEL).orElseThrow();
  }

  private List<DeploymentEvent> events(String kind) {
    return store.listDeploymentEvents(MODEL).stream().filter(e -> e.kind().equals(kind)).toList();
  }

  private List<AuditEntry> audit(String action) {
    return store.listAuditEntries(0, 1_000).stream()
        .filter(e -> e.action().equals(action))
        .toList();
  }

  /** Scores one row with key {@code key} and returns the version that scored it. */
  private int score(String key) {
    InferenceRouter.Route route = router.route(state(), null, key);
    CompletableFuture<double[]> result =
        router.score(route, ScriptedModel.row(2.0), key, System.nanoTime());
    double score = result.join()[0];
    return (int) Math.round((score - 0.5) / 2.0);
  }

  @Test
  void deleteVersionRejectsCanaryAndShadow() {
    manager.startCanary(MODEL, 2, canary(20, null), "alice");
    manager.startShadow(MODEL, 3, new ShadowSpec(50.0, null), "alice");

    assertThatThrownBy(() -> registry.deleteVersion(MODEL, 2, "alice"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("loaded as the canary version")
        .hasMessageContaining("abort or promote the canary first")
        .extracting(e -> ((EvergreenException) e).kind())
        .isEqualTo(ErrorKind.CONFLICT);
    assertThatThrownBy(() -> registry.deleteVersion(MODEL, 3, "alice"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("loaded as the shadow version")
        .hasMessageContaining("stop the shadow first");

    manager.abortCanary(MODEL, "alice", "test");

    assertThat(state().canary()).isNull();
    assertThatCode(() -> manager.requireNotLoaded(MODEL, 2)).doesNotThrowAnyException();
  }

  @Test
  void canaryTakesItsShareAndKeepsChampion() {
    manager.startCanary(MODEL, 2, canary(20, null), "alice");

    int canaryAnswers = 0;
    for (int caller = 0; caller < 10_000; caller++) {
      canaryAnswers += score("caller-" + caller) == 2 ? 1 : 0;
    }

    assertThat(canaryAnswers / 100.0).isBetween(19.0, 21.0);
    assertThat(state().active().version()).isEqualTo(1);
    assertThat(state().canary().model().version()).isEqualTo(2);
    assertThat(registry.aliases(MODEL)).containsEntry(Aliases.CHAMPION, 1);
    assertThat(events(DeploymentManager.KIND_CANARY)).hasSize(1);
    AuditEntry started = audit(AuditActions.CANARY_STARTED).get(0);
    assertThat(started.actor()).isEqualTo("alice");
    assertThat(started.details()).containsEntry("percent", "20.0");
  }

  @Test
  void sameKeyReachesSameVersionThroughoutCanary() {
    manager.startCanary(MODEL, 2, canary(50, null), "alice");
    for (int caller = 0; caller < 200; caller++) {
      int first = score("user-" + caller);
      for (int repeat = 0; repeat < 5; repeat++) {
        assertThat(score("user-" + caller)).isEqualTo(first);
      }
    }
  }

  @Test
  void promoteMovesAllTrafficAndChampion() {
    manager.startCanary(MODEL, 2, canary(10, null), "alice");

    DeploymentResult result = manager.promoteCanary(MODEL, "bob");

    assertThat(result.version()).isEqualTo(2);
    assertThat(state().active().version()).isEqualTo(2);
    assertThat(state().standby().version()).isEqualTo(1);
    assertThat(state().canary()).isNull();
    assertThat(registry.aliases(MODEL)).containsEntry(Aliases.CHAMPION, 2);
    for (int caller = 0; caller < 100; caller++) {
      assertThat(score("caller-" + caller)).isEqualTo(2);
    }
    assertThat(audit(AuditActions.CANARY_PROMOTED))
        .singleElement()
        .extracting(AuditEntry::actor)
        .isEqualTo("bob");
  }

  @Test
  void abortReturnsAllTrafficToStable() {
    manager.startCanary(MODEL, 2, canary(50, null), "alice");

    manager.abortCanary(MODEL, "bob", "looks wrong");

    assertThat(state().canary()).isNull();
    assertThat(state().active().version()).isEqualTo(1);
    assertThat(registry.aliases(MODEL)).containsEntry(Aliases.CHAMPION, 1);
    for (int caller = 0; caller < 100; caller++) {
      assertThat(score("caller-" + caller)).isEqualTo(1);
    }
    AuditEntry aborted = audit(AuditActions.CANARY_ABORTED).get(0);
    assertThat(aborted.details()).containsEntry("reason", "looks wrong");
    assertThat(events(DeploymentManager.KIND_ABORT)).hasSize(1);
  }

  @Test
  void failingCanaryIsRolledBackAutomatically() {
    scripted.put(2, new ScriptedModel(MODEL, 2, true, 0, null));
    manager.startCanary(MODEL, 2, canary(50, new RollbackSpec(0.1, null, 60, 20)), "alice");

    int failures = 0;
    for (int caller = 0; caller < 100; caller++) {
      InferenceRouter.Route route = router.route(state(), null, "caller-" + caller);
      CompletableFuture<double[]> result =
          router.score(route, ScriptedModel.row(1.0), "caller-" + caller, System.nanoTime());
      failures += result.isCompletedExceptionally() ? 1 : 0;
    }
    List<String> rolledBack = manager.checkCanaries();

    assertThat(failures).isGreaterThan(20);
    assertThat(rolledBack).containsExactly(MODEL);
    assertThat(state().canary()).isNull();
    assertThat(state().active().version()).isEqualTo(1);
    assertThat(score("caller-1")).isEqualTo(1);
    DeploymentEvent event = events(DeploymentManager.KIND_AUTO_ROLLBACK).get(0);
    assertThat(event.actor()).isEqualTo(DeploymentManager.AUTO_ROLLBACK_ACTOR);
    assertThat(event.detail()).contains("error rate").contains("exceeds the limit 10%");
    AuditEntry entry = audit(AuditActions.CANARY_ROLLED_BACK).get(0);
    assertThat(entry.details().get("window_errors")).isEqualTo(Integer.toString(failures));
  }

  @Test
  void slowCanaryIsRolledBackOnP99() {
    scripted.put(2, new ScriptedModel(MODEL, 2, false, 3_000_000, null));
    manager.startCanary(MODEL, 2, canary(50, new RollbackSpec(0.5, 1.0, 60, 10)), "alice");

    for (int caller = 0; caller < 60; caller++) {
      score("caller-" + caller);
    }

    assertThat(manager.checkCanaries()).containsExactly(MODEL);
    assertThat(events(DeploymentManager.KIND_AUTO_ROLLBACK).get(0).detail())
        .contains("p99 latency")
        .contains("exceeds the limit 1 ms");
  }

  @Test
  void smallLimitIsShownUnrounded() {
    scripted.put(2, new ScriptedModel(MODEL, 2, false, 3_000_000, null));
    manager.startCanary(MODEL, 2, canary(50, new RollbackSpec(0.5, 0.0001, 60, 10)), "alice");

    for (int caller = 0; caller < 60; caller++) {
      score("caller-" + caller);
    }

    assertThat(manager.checkCanaries()).containsExactly(MODEL);
    assertThat(events(DeploymentManager.KIND_AUTO_ROLLBACK).get(0).detail())
        .contains("exceeds the limit 0.0001 ms");
  }

  @Test
  void healthyCanaryIsKept() {
    manager.startCanary(MODEL, 2, canary(50, new RollbackSpec(0.01, 500.0, 60, 10)), "alice");
    for (int caller = 0; caller < 100; caller++) {
      score("caller-" + caller);
    }

    assertThat(manager.checkCanaries()).isEmpty();
    assertThat(state().canary()).isNotNull();
  }

  @Test
  void invalidInputDoesNotCountAsCanaryError() {
    manager.startCanary(MODEL, 2, canary(99, new RollbackSpec(0.0, null, 60, 5)), "alice");
    for (int caller = 0; caller < 50; caller++) {
      InferenceRouter.Route route = router.route(state(), null, null);
      router
          .score(route, new dev.evergreen.core.serving.InputBatch(1, Map.of(), Map.of()), null, 0)
          .exceptionally(e -> null);
    }

    assertThat(manager.checkCanaries()).isEmpty();
  }

  @Test
  void canaryThatFailsToLoadNeverServes() {
    broken.add(3);

    assertThatThrownBy(() -> manager.startCanary(MODEL, 3, canary(50, null), "alice"))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INTERNAL))
        .hasMessageContaining("version 1 keeps serving");
    assertThat(state().canary()).isNull();
    for (int caller = 0; caller < 100; caller++) {
      assertThat(score("caller-" + caller)).isEqualTo(1);
    }
    assertThat(events(DeploymentManager.KIND_FAILED)).hasSize(1);
  }

  @Test
  void secondCanaryAndBlueGreenDeployConflict() {
    manager.startCanary(MODEL, 2, canary(10, null), "alice");

    assertThatThrownBy(() -> manager.startCanary(MODEL, 3, canary(10, null), "alice"))
        .hasMessageContaining("already runs as a canary");
    assertThatThrownBy(() -> manager.deploy(MODEL, 3, "alice"))
        .hasMessageContaining("promote or abort it before deploying version 3");
    // Deploying the canary's own version promotes it.
    manager.deploy(MODEL, 2, "alice");
    assertThat(state().active().version()).isEqualTo(2);
    assertThat(state().canary()).isNull();
  }

  /** A scripted model whose one input is named {@code y}, so its inputs differ from the others. */
  private record RenamedInput(ScriptedModel base) implements ServableModel {
    @Override
    public String model() {
      return base.model();
    }

    @Override
    public int version() {
      return base.version();
    }

    @Override
    public Signature signature() {
      return new Signature(
          List.of(new TensorSpec("y", "FP64", List.of(-1L))), base.signature().outputs());
    }

    @Override
    public int outputWidth() {
      return 1;
    }

    @Override
    public double[] predict(InputBatch batch) {
      return base.predict(batch);
    }

    @Override
    public CheckSet checkSet() {
      return base.checkSet();
    }
  }

  @Test
  void canaryWithOtherInputsIsRejected() {
    scripted.put(2, new RenamedInput(ScriptedModel.good(MODEL, 2)));

    assertThatThrownBy(() -> manager.startCanary(MODEL, 2, canary(10, null), "alice"))
        .isInstanceOf(EvergreenException.class)
        .hasMessage(
            "version 2 cannot run as a canary of version 1 of model '"
                + MODEL
                + "' because their inputs differ (version 2 lacks x FP64 [-1]; version 2 also"
                + " needs y FP64 [-1]), so it would fail the requests that version 1 serves;"
                + " deploy it blue-green instead, or register a version with the same inputs");
    assertThatThrownBy(() -> manager.startShadow(MODEL, 2, new ShadowSpec(10.0, null), "alice"))
        .hasMessageStartingWith("version 2 cannot run as a shadow of version 1");
    assertThat(state().canary()).isNull();
    assertThat(state().shadow()).isNull();
  }

  @Test
  void percentBelowSplitStepIsRejected() {
    assertThatThrownBy(() -> manager.startCanary(MODEL, 2, canary(0.004, null), "alice"))
        .hasMessage(
            "canary percent must be from 0.01 to 99.99, because traffic splits in steps of 0.01,"
                + " got 0.004; for all traffic deploy the version blue-green");
    assertThatThrownBy(() -> manager.startCanary(MODEL, 2, canary(99.996, null), "alice"))
        .hasMessageStartingWith("canary percent must be from 0.01 to 99.99");
    assertThatThrownBy(() -> manager.startShadow(MODEL, 2, new ShadowSpec(0.001, null), "alice"))
        .hasMessageStartingWith("shadow percent must be from 0.01 to 100");

    manager.startCanary(MODEL, 2, canary(99.99, null), "alice");
    assertThat(state().canary().split().percent()).isEqualTo(99.99);
  }

  @Test
  void rollbackDuringCanaryRecordsTheCanary() {
    manager.deploy(MODEL, 2, "alice");
    manager.startCanary(MODEL, 3, canary(10, null), "alice");

    manager.rollback(MODEL, "bob");

    assertThat(state().active().version()).isEqualTo(1);
    assertThat(state().canary().model().version()).isEqualTo(3);
    AuditEntry rollback = audit(AuditActions.ROLLBACK).getLast();
    assertThat(rollback.details()).containsEntry("canary_version", "3");
    assertThat(rollback.details()).containsEntry("canary_stable_version", "1");
    DeploymentEvent event = store.listDeploymentEvents(MODEL).getLast();
    assertThat(event.detail())
        .isEqualTo(
            "rolled back from version 2 to version 1; canary version 3 keeps its share and is now"
                + " compared with version 1");
  }

  @Test
  void shadowCopiesHoldAtMostShadowRows() throws Exception {
    java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
    scripted.put(2, new ScriptedModel(MODEL, 2, false, 0, gate));
    manager.startShadow(MODEL, 2, new ShadowSpec(100.0, null), "alice");
    int rows = (int) (InferenceRouter.SHADOW_ROWS / 4);
    double[] x = new double[rows];
    InputBatch large = new InputBatch(rows, Map.of("x", x), Map.of());

    // The first copy blocks the worker at the gate, three more wait, and the rest exceed the rows.
    for (int caller = 0; caller < 8; caller++) {
      InferenceRouter.Route route = router.route(state(), null, "caller-" + caller);
      assertThat(router.score(route, large, "caller-" + caller, System.nanoTime())).isCompleted();
    }

    double dropped =
        meters
            .find("evergreen.shadow.comparisons")
            .tags("outcome", "dropped", "version", "2")
            .counter()
            .count();
    assertThat(dropped).isEqualTo(4);
    // The worker thread starts with the first copy and then takes it from the queue.
    long takeDeadline = System.nanoTime() + 10_000_000_000L;
    while (shadowQueue() > 3 && System.nanoTime() < takeDeadline) {
      Thread.sleep(10);
    }
    assertThat(shadowQueue()).isEqualTo(3);
    manager.stopShadow(MODEL, "alice");
    gate.countDown();
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (shadowQueue() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(shadowQueue()).isZero();
  }

  private double shadowQueue() {
    return meters.find("evergreen.inference.shadow.queue").gauge().value();
  }

  @Test
  void stoppedShadowRecordsItsComparisons() throws Exception {
    manager.startShadow(MODEL, 2, new ShadowSpec(100.0, 0.25), "alice");
    for (int caller = 0; caller < 5; caller++) {
      assertThat(score("caller-" + caller)).isEqualTo(1);
    }
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (state().shadow().tally().counts().get("disagree") < 5 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }

    manager.stopShadow(MODEL, "alice");

    assertThat(audit(AuditActions.SHADOW_STARTED).getLast().details())
        .containsEntry("tolerance", "0.25");
    AuditEntry stopped = audit(AuditActions.SHADOW_STOPPED).getLast();
    assertThat(stopped.details())
        .containsEntry("agree", "0")
        .containsEntry("disagree", "5")
        .containsEntry("error", "0")
        .containsEntry("dropped", "0");
    assertThat(store.listDeploymentEvents(MODEL).getLast().detail())
        .isEqualTo(
            "stopped shadow version 2 after 0 agreeing, 5 disagreeing, 0 failed and 0 dropped"
                + " copies");
  }

  @Test
  void blockedShadowNeverDelaysCaller() throws Exception {
    java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
    scripted.put(2, new ScriptedModel(MODEL, 2, false, 0, gate));
    manager.startShadow(MODEL, 2, new ShadowSpec(100.0, null), "alice");

    // The shadow's worker is stuck at the gate, so its queue fills and further copies are dropped.
    for (int caller = 0; caller < InferenceRouter.SHADOW_QUEUE + 50; caller++) {
      InferenceRouter.Route route = router.route(state(), null, "caller-" + caller);
      CompletableFuture<double[]> result =
          router.score(route, ScriptedModel.row(2.0), "caller-" + caller, System.nanoTime());
      assertThat(result).isCompleted();
      assertThat(result.join()).containsExactly(2.5);
    }

    double dropped =
        meters
            .find("evergreen.shadow.comparisons")
            .tags("outcome", "dropped", "version", "2")
            .counter()
            .count();
    assertThat(dropped).isGreaterThanOrEqualTo(49);
    gate.countDown();
  }

  @Test
  void shadowScoresCopiesWithoutChangingAnswers() throws Exception {
    manager.startShadow(MODEL, 2, new ShadowSpec(100.0, null), "alice");

    for (int caller = 0; caller < 50; caller++) {
      assertThat(score("caller-" + caller)).isEqualTo(1);
    }

    long deadline = System.nanoTime() + 10_000_000_000L;
    double compared = 0;
    while (System.nanoTime() < deadline) {
      compared =
          meters
              .find("evergreen.shadow.comparisons")
              .tags("outcome", "disagree", "version", "2")
              .counter()
              .count();
      if (compared == 50) {
        break;
      }
      Thread.sleep(10);
    }
    assertThat(compared).isEqualTo(50);
    assertThat(audit(AuditActions.SHADOW_STARTED)).hasSize(1);
    manager.stopShadow(MODEL, "alice");
    assertThat(state().shadow()).isNull();
    assertThat(audit(AuditActions.SHADOW_STOPPED)).hasSize(1);
  }
}
