package dev.evergreen.core.deployment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

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
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.store.DeploymentEvent;
import dev.evergreen.core.store.TrafficSettings;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The canary and shadow that {@link DeploymentManager} stores with each change, and their restore
 * by a second manager over the same store, as after a server restart.
 */
class StoredTrafficTest {
  private static final String MODEL = "delays";
  private static final String RESTORER = "reconciler";

  private static final CanarySpec CANARY =
      new CanarySpec(25.0, "X-Caller", null, new RollbackSpec(0.1, 40.0, 30, 5));
  private static final ShadowSpec SHADOW = new ShadowSpec(50.0, 1e-3);

  private final Clock clock = Clock.systemUTC();
  private InMemoryMetadataStore store;
  private AuditLog audit;
  private LineageService lineage;
  private ModelRegistry registry;
  private DeploymentManager manager;

  /** Versions whose load fails. */
  private final Set<Integer> broken = ConcurrentHashMap.newKeySet();

  /** Versions whose requests fail after they passed their check. */
  private final Set<Integer> failing = ConcurrentHashMap.newKeySet();

  /** Runs while a version loads, as another process acting during a deploy would. */
  private java.util.function.IntConsumer duringLoad = version -> {};

  @BeforeEach
  void createServices() {
    store = new InMemoryMetadataStore();
    audit = new AuditLog(store, clock);
    lineage = new LineageService(store, clock);
    registry = new ModelRegistry(store, audit, lineage, clock);
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
    manager = newManager();
    manager.deploy(MODEL, 1, "alice");
  }

  @AfterEach
  void close() {
    manager.close();
    store.close();
  }

  private DeploymentManager newManager() {
    return new DeploymentManager(
        store, registry, this::load, audit, lineage, new SimpleMeterRegistry(), clock, 1e-6);
  }

  private ServableModel load(ModelVersion version) {
    duringLoad.accept(version.version());
    if (broken.contains(version.version())) {
      throw new EvergreenException(ErrorKind.INTERNAL, "artifact is unreadable");
    }
    return new ScriptedModel(
        version.model(), version.version(), failing.contains(version.version()), 0, null);
  }

  /**
   * Replaces the manager with a new one over the same store, deploys the champion as the reconciler
   * does at start, and restores the stored traffic.
   */
  private void restart() {
    manager.close();
    manager = newManager();
    manager.reconcile(RESTORER);
    manager.restoreTraffic(RESTORER);
  }

  private TrafficSettings stored() {
    List<TrafficSettings> all = store.listTrafficSettings();
    assertThat(all).hasSizeLessThanOrEqualTo(1);
    return all.isEmpty() ? null : all.get(0);
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

  /** Returns the version that scores each of 400 keys under the current manager. */
  private int[] versionsByKey() {
    try (InferenceRouter router = new InferenceRouter(manager, new SimpleMeterRegistry())) {
      int[] versions = new int[400];
      for (int caller = 0; caller < versions.length; caller++) {
        String key = "caller-" + caller;
        InferenceRouter.Route route = router.route(state(), null, key);
        versions[caller] = route.model().version();
      }
      return versions;
    }
  }

  @Test
  void startCanaryStoresVersionAndSpec() {
    manager.startCanary(MODEL, 2, CANARY, "alice");

    TrafficSettings settings = stored();
    assertThat(settings.model()).isEqualTo(MODEL);
    assertThat(settings.canary()).isEqualTo(new TrafficSettings.CanarySetting(2, CANARY));
    assertThat(settings.shadow()).isNull();
    assertThat(settings.batching()).isNull();
  }

  @Test
  void restartRestoresCanaryWithSameRouting() {
    manager.startCanary(MODEL, 2, CANARY, "alice");
    int[] before = versionsByKey();

    restart();

    Canary canary = state().canary();
    assertThat(canary).isNotNull();
    assertThat(canary.model().version()).isEqualTo(2);
    assertThat(canary.spec()).isEqualTo(CANARY);
    assertThat(canary.window().summary().requests()).isZero();
    assertThat(state().active().version()).isEqualTo(1);
    assertThat(versionsByKey()).isEqualTo(before);
    assertThat(stored().canary()).isEqualTo(new TrafficSettings.CanarySetting(2, CANARY));
    AuditEntry restored = audit(AuditActions.CANARY_STARTED).getLast();
    assertThat(restored.actor()).isEqualTo(RESTORER);
    assertThat(restored.details()).containsEntry("restored", "true");
    assertThat(events(DeploymentManager.KIND_CANARY).getLast().detail())
        .startsWith("restored after restart: version 2 takes 25.00% of requests");
  }

  @Test
  void restartLoadsPreviousChampionAsStandby() {
    manager.deploy(MODEL, 2, "alice");

    restart();

    assertThat(state().active().version()).isEqualTo(2);
    assertThat(state().standby().version()).isEqualTo(1);
    manager.rollback(MODEL, "bob");
    assertThat(state().active().version()).isEqualTo(1);
    assertThat(registry.aliases(MODEL)).containsEntry(Aliases.CHAMPION, 1);
  }

  @Test
  void restartWithBrokenPreviousChampionServesWithoutStandby() {
    manager.deploy(MODEL, 2, "alice");
    broken.add(1);
    int failuresBefore = events(DeploymentManager.KIND_FAILED).size();

    restart();

    assertThat(state().active().version()).isEqualTo(2);
    assertThat(state().standby()).isNull();
    assertThat(events(DeploymentManager.KIND_FAILED)).hasSize(failuresBefore);
  }

  @Test
  void restartRestoresShadowWithSpec() {
    manager.startShadow(MODEL, 3, SHADOW, "alice");

    restart();

    Shadow shadow = state().shadow();
    assertThat(shadow).isNotNull();
    assertThat(shadow.model().version()).isEqualTo(3);
    assertThat(shadow.spec()).isEqualTo(SHADOW);
    assertThat(audit(AuditActions.SHADOW_STARTED).getLast().actor()).isEqualTo(RESTORER);
  }

  @Test
  void restartRestoresCanaryAndShadowTogether() {
    manager.startCanary(MODEL, 2, CANARY, "alice");
    manager.startShadow(MODEL, 3, SHADOW, "alice");

    restart();

    assertThat(state().canary().model().version()).isEqualTo(2);
    assertThat(state().shadow().model().version()).isEqualTo(3);
    assertThat(stored().canary().version()).isEqualTo(2);
    assertThat(stored().shadow().version()).isEqualTo(3);
  }

  @Test
  void secondRestoreChangesNothing() {
    manager.startCanary(MODEL, 2, CANARY, "alice");
    restart();
    int events = store.listDeploymentEvents(MODEL).size();

    manager.restoreTraffic(RESTORER);

    assertThat(store.listDeploymentEvents(MODEL)).hasSize(events);
    assertThat(state().canary().model().version()).isEqualTo(2);
  }

  @Test
  void promoteClearsStoredCanary() {
    manager.startCanary(MODEL, 2, CANARY, "alice");

    manager.promoteCanary(MODEL, "alice");

    assertThat(stored()).isNull();
    restart();
    assertThat(state().active().version()).isEqualTo(2);
    assertThat(state().canary()).isNull();
  }

  @Test
  void abortClearsStoredCanary() {
    manager.startCanary(MODEL, 2, CANARY, "alice");

    manager.abortCanary(MODEL, "alice", "enough");

    assertThat(stored()).isNull();
    restart();
    assertThat(state().canary()).isNull();
  }

  @Test
  void automaticRollbackClearsStoredCanary() {
    failing.add(2);
    manager.startCanary(
        MODEL, 2, new CanarySpec(50.0, null, null, new RollbackSpec(0.1, null, 60, 20)), "alice");
    try (InferenceRouter router = new InferenceRouter(manager, new SimpleMeterRegistry())) {
      for (int caller = 0; caller < 100; caller++) {
        InferenceRouter.Route route = router.route(state(), null, "caller-" + caller);
        CompletableFuture<double[]> result =
            router.score(route, ScriptedModel.row(1.0), "caller-" + caller, System.nanoTime());
        assertThat(result).isNotNull();
      }
    }

    assertThat(manager.checkCanaries()).containsExactly(MODEL);

    assertThat(stored()).isNull();
  }

  @Test
  void abortKeepsStoredShadow() {
    manager.startShadow(MODEL, 3, SHADOW, "alice");
    manager.startCanary(MODEL, 2, CANARY, "alice");

    manager.abortCanary(MODEL, "alice", null);

    assertThat(stored().canary()).isNull();
    assertThat(stored().shadow()).isEqualTo(new TrafficSettings.ShadowSetting(3, SHADOW));
  }

  @Test
  void stopShadowClearsStoredShadow() {
    manager.startShadow(MODEL, 3, SHADOW, "alice");

    manager.stopShadow(MODEL, "alice");

    assertThat(stored()).isNull();
  }

  @Test
  void deployingShadowVersionClearsStoredShadow() {
    manager.startShadow(MODEL, 3, SHADOW, "alice");

    manager.deploy(MODEL, 3, "alice");

    assertThat(state().shadow()).isNull();
    assertThat(stored()).isNull();
  }

  @Test
  void brokenCanaryIsNotRestoredAndCleared() {
    manager.startCanary(MODEL, 2, CANARY, "alice");
    manager.startShadow(MODEL, 3, SHADOW, "alice");
    broken.add(2);

    restart();

    assertThat(state().active().version()).isEqualTo(1);
    assertThat(state().canary()).isNull();
    assertThat(state().shadow().model().version()).isEqualTo(3);
    assertThat(stored().canary()).isNull();
    assertThat(stored().shadow()).isEqualTo(new TrafficSettings.ShadowSetting(3, SHADOW));
    DeploymentEvent event = events(DeploymentManager.KIND_CANARY_NOT_RESTORED).getLast();
    assertThat(event.version()).isEqualTo(2);
    assertThat(event.previousVersion()).isEqualTo(1);
    assertThat(event.actor()).isEqualTo(RESTORER);
    assertThat(event.detail())
        .contains("stored canary version 2 was not restored")
        .contains("artifact is unreadable");
    AuditEntry entry = audit(AuditActions.CANARY_NOT_RESTORED).getLast();
    assertThat(entry.actor()).isEqualTo(RESTORER);
    assertThat(entry.details().get("reason")).contains("artifact is unreadable");
    assertThat(events(DeploymentManager.KIND_FAILED)).hasSize(1);
  }

  @Test
  void brokenShadowIsNotRestoredAndKeepsCanary() {
    manager.startCanary(MODEL, 2, CANARY, "alice");
    manager.startShadow(MODEL, 3, SHADOW, "alice");
    broken.add(3);

    restart();

    assertThat(state().canary().model().version()).isEqualTo(2);
    assertThat(state().shadow()).isNull();
    assertThat(stored().canary()).isEqualTo(new TrafficSettings.CanarySetting(2, CANARY));
    assertThat(stored().shadow()).isNull();
    assertThat(events(DeploymentManager.KIND_SHADOW_NOT_RESTORED).getLast().detail())
        .contains("artifact is unreadable");
    assertThat(audit(AuditActions.SHADOW_NOT_RESTORED)).hasSize(1);
  }

  @Test
  void canaryIsNotRestoredWithoutServingVersion() {
    manager.startCanary(MODEL, 2, CANARY, "alice");
    broken.add(1);

    restart();

    assertThat(manager.serving(MODEL)).isEmpty();
    assertThat(stored()).isNull();
    assertThat(events(DeploymentManager.KIND_CANARY_NOT_RESTORED).getLast().detail())
        .contains("has no version serving");
  }

  @Test
  void canaryWhoseStableChangedIsNotRestored() {
    manager.startCanary(MODEL, 2, CANARY, "alice");
    manager.close();
    // Another process moves the champion while no server runs, as `evergreen rollback` does.
    registry.moveAlias(MODEL, Aliases.CHAMPION, 3, "bob", "promoted by hand");

    restart();

    assertThat(state().active().version()).isEqualTo(3);
    assertThat(state().canary()).isNull();
    assertThat(stored()).isNull();
    DeploymentEvent event = events(DeploymentManager.KIND_CANARY_NOT_RESTORED).getLast();
    assertThat(event.version()).isEqualTo(2);
    assertThat(event.previousVersion()).isEqualTo(3);
    assertThat(event.actor()).isEqualTo(RESTORER);
    assertThat(event.detail())
        .contains("stored canary version 2 was not restored")
        .contains("champion alias moved from version 1")
        .contains("to version 3");
    AuditEntry entry = audit(AuditActions.CANARY_NOT_RESTORED).getLast();
    assertThat(entry.actor()).isEqualTo(RESTORER);
    assertThat(entry.details()).containsEntry("stored_stable_version", "1");
    assertThat(entry.details()).containsEntry("serving_version", "3");
    assertThat(audit(AuditActions.CANARY_STARTED)).hasSize(1);
  }

  @Test
  void canaryWhoseStableChangedKeepsStoredShadow() {
    manager.startCanary(MODEL, 2, CANARY, "alice");
    manager.startShadow(MODEL, 3, SHADOW, "alice");
    manager.close();
    // Version 2, the canary, became the champion while no server ran.
    registry.moveAlias(MODEL, Aliases.CHAMPION, 2, "bob", "promoted by hand");

    restart();

    assertThat(state().active().version()).isEqualTo(2);
    assertThat(state().canary()).isNull();
    assertThat(state().shadow().model().version()).isEqualTo(3);
    assertThat(stored().canary()).isNull();
    assertThat(stored().shadow()).isEqualTo(new TrafficSettings.ShadowSetting(3, SHADOW));
    assertThat(events(DeploymentManager.KIND_CANARY_NOT_RESTORED).getLast().detail())
        .contains("champion alias moved from version 1")
        .contains("to version 2");
  }

  @Test
  void canaryKeepsStableAfterRollback() {
    manager.deploy(MODEL, 3, "alice");
    manager.startCanary(MODEL, 2, CANARY, "alice");
    // A rollback in the server keeps the canary and makes version 1 its stable version.
    manager.rollback(MODEL, "alice");

    restart();

    assertThat(state().active().version()).isEqualTo(1);
    assertThat(state().canary().model().version()).isEqualTo(2);
    assertThat(events(DeploymentManager.KIND_CANARY_NOT_RESTORED)).isEmpty();
  }

  @Test
  void reconcilerRestoresUnderRestoreActor() throws InterruptedException {
    manager.startCanary(MODEL, 2, CANARY, "alice");
    manager.startShadow(MODEL, 3, SHADOW, "alice");
    manager.close();
    manager = newManager();

    manager.startReconciler(Duration.ofMillis(20), "server");

    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (audit(AuditActions.SHADOW_STARTED).size() < 2 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(DeploymentManager.RECONCILER_ACTOR).isEqualTo("reconciler");
    assertThat(audit(AuditActions.CANARY_STARTED).getLast().actor())
        .isEqualTo(DeploymentManager.RECONCILER_ACTOR);
    assertThat(audit(AuditActions.SHADOW_STARTED)).hasSize(2);
    assertThat(audit(AuditActions.SHADOW_STARTED).getLast().actor())
        .isEqualTo(DeploymentManager.RECONCILER_ACTOR);
    assertThat(events(DeploymentManager.KIND_SWITCH).getLast().actor()).isEqualTo("server");
  }

  /**
   * Waits until the manager runs a canary of {@code version} and has recorded its start, or 30 s
   * pass.
   */
  private void awaitCanary(int version) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      Canary canary = state().canary();
      if (canary != null
          && canary.model().version() == version
          && events(DeploymentManager.KIND_CANARY).stream().anyMatch(e -> e.version() == version)) {
        return;
      }
      Thread.sleep(20);
    }
  }

  @Test
  void requestedCanaryStartsInServingManager() throws InterruptedException {
    manager.startReconciler(Duration.ofMillis(20), "server");
    DeploymentManager other = newManager();

    String detail = other.requestCanary(MODEL, 2, CANARY, 1, "ci");
    awaitCanary(2);

    assertThat(detail).contains("version 2 is stored as a canary for 25.00% of requests");
    assertThat(other.serving(MODEL)).isEmpty();
    assertThat(state().canary()).isNotNull();
    assertThat(state().canary().split().percent()).isEqualTo(25.0);
    assertThat(stored().canary().version()).isEqualTo(2);
    assertThat(events(DeploymentManager.KIND_CANARY_REQUESTED)).hasSize(1);
    assertThat(events(DeploymentManager.KIND_CANARY_REQUESTED).get(0).actor()).isEqualTo("ci");
    assertThat(events(DeploymentManager.KIND_CANARY).getLast().detail())
        .startsWith("started as requested in the store: version 2 takes 25.00% of requests");
    assertThat(audit(AuditActions.CANARY_REQUESTED).get(0).details())
        .containsEntry("stable_version", "1");
    assertThat(audit(AuditActions.CANARY_STARTED).getLast().details())
        .containsEntry("requested", "true");
    assertThat(registry.aliases(MODEL)).containsEntry(Aliases.CHAMPION, 1);
    String requestEvent = events(DeploymentManager.KIND_CANARY_REQUESTED).get(0).id();
    assertThat(lineage.forModel(MODEL, 2).edges())
        .anyMatch(
            e -> e.toKind().equals(LineageService.DEPLOYMENT) && e.toId().equals(requestEvent));
  }

  @Test
  void requestedShadowStartsInServingManager() throws InterruptedException {
    manager.startReconciler(Duration.ofMillis(20), "server");

    newManager().requestShadow(MODEL, 3, SHADOW, 1, "ci");
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (state().shadow() == null && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }

    assertThat(state().shadow()).isNotNull();
    assertThat(state().shadow().model().version()).isEqualTo(3);
    assertThat(audit(AuditActions.SHADOW_REQUESTED)).hasSize(1);
    assertThat(events(DeploymentManager.KIND_SHADOW_REQUESTED).get(0).previousVersion())
        .isEqualTo(1);
  }

  @Test
  void requestKeepsAlreadyStoredCanary() {
    manager.startCanary(MODEL, 2, CANARY, "alice");
    DeploymentManager other = newManager();

    EvergreenException error =
        catchThrowableOfType(
            EvergreenException.class, () -> other.requestCanary(MODEL, 3, CANARY, 1, "ci"));

    assertThat(error.kind()).isEqualTo(ErrorKind.CONFLICT);
    assertThat(error.getMessage())
        .isEqualTo(
            "canary version 2 of model 'delays' is already stored, so version 3 was not stored;"
                + " promote or abort that canary first");
    assertThat(stored().canary().version()).isEqualTo(2);
    assertThat(events(DeploymentManager.KIND_CANARY_REQUESTED)).isEmpty();
  }

  @Test
  void requestKeepsAlreadyStoredShadow() {
    DeploymentManager other = newManager();
    other.requestCanary(MODEL, 2, CANARY, 1, "ci");
    other.requestShadow(MODEL, 3, SHADOW, 1, "ci");

    EvergreenException error =
        catchThrowableOfType(
            EvergreenException.class, () -> other.requestShadow(MODEL, 2, SHADOW, 1, "ci"));

    assertThat(error.kind()).isEqualTo(ErrorKind.CONFLICT);
    assertThat(error.getMessage())
        .isEqualTo(
            "shadow version 3 of model 'delays' is already stored, so version 2 was not stored;"
                + " stop that shadow first");
    assertThat(stored().shadow().version()).isEqualTo(3);
    assertThat(stored().canary().version()).isEqualTo(2);
    assertThat(events(DeploymentManager.KIND_SHADOW_REQUESTED)).hasSize(1);
  }

  @Test
  void requestedCanaryNotStartedAfterStableMoved() throws InterruptedException {
    newManager().requestCanary(MODEL, 2, CANARY, 3, "ci");

    manager.startReconciler(Duration.ofMillis(20), "server");
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (events(DeploymentManager.KIND_CANARY_NOT_RESTORED).isEmpty()
        && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }

    assertThat(state().canary()).isNull();
    assertThat(stored()).isNull();
    assertThat(events(DeploymentManager.KIND_CANARY_NOT_RESTORED)).hasSize(1);
    assertThat(events(DeploymentManager.KIND_CANARY_NOT_RESTORED).get(0).detail())
        .contains("champion alias moved from version 3")
        .contains("to version 1");
    String notStarted = events(DeploymentManager.KIND_CANARY_NOT_RESTORED).get(0).id();
    assertThat(lineage.forModel(MODEL, 2).edges())
        .anyMatch(e -> e.toKind().equals(LineageService.DEPLOYMENT) && e.toId().equals(notStarted));
  }

  @Test
  void abortedCanaryIsNotStartedAgain() throws InterruptedException {
    manager.startReconciler(Duration.ofMillis(20), "server");
    newManager().requestCanary(MODEL, 2, CANARY, 1, "ci");
    awaitCanary(2);

    manager.abortCanary(MODEL, "alice", "too slow");
    // Another process's change moves the change counter, so the reconciler makes a further pass.
    registry.moveAlias(MODEL, "candidate", 3, "ci", "bump the change counter");
    Thread.sleep(300);

    assertThat(state().canary()).isNull();
    assertThat(stored()).isNull();
    assertThat(events(DeploymentManager.KIND_CANARY)).hasSize(1);
  }

  @Test
  void championMovedElsewhereAbortsCanary() {
    manager.startCanary(MODEL, 2, CANARY, "alice");
    // Another process moves the champion while this manager serves, as `evergreen rollback` does.
    registry.moveAlias(MODEL, Aliases.CHAMPION, 3, "bob", "rolled back elsewhere");

    manager.reconcile("server");

    assertThat(state().active().version()).isEqualTo(3);
    assertThat(state().canary()).isNull();
    assertThat(stored()).isNull();
    assertThat(events(DeploymentManager.KIND_ABORT)).hasSize(1);
    assertThat(events(DeploymentManager.KIND_ABORT).get(0).detail())
        .contains("the champion alias moved from version 1 to version 3 outside this server");
  }

  @Test
  void championMovedToCanaryPromotesIt() {
    manager.startCanary(MODEL, 2, CANARY, "alice");
    registry.moveAlias(MODEL, Aliases.CHAMPION, 2, "bob", "promoted elsewhere");

    manager.reconcile("server");

    assertThat(state().active().version()).isEqualTo(2);
    assertThat(state().canary()).isNull();
    assertThat(events(DeploymentManager.KIND_PROMOTE)).hasSize(1);
    assertThat(events(DeploymentManager.KIND_ABORT)).isEmpty();
  }

  @Test
  void reconcileKeepsAliasMovedDuringDeploy() {
    registry.moveAlias(MODEL, Aliases.CHAMPION, 2, "ci", "better auc");
    duringLoad =
        version -> {
          if (version == 2) {
            registry.moveAlias(MODEL, Aliases.CHAMPION, 3, "bob", "moved during the deploy");
          }
        };

    manager.reconcile("server");

    assertThat(state().active().version()).isEqualTo(2);
    assertThat(registry.aliases(MODEL)).containsEntry(Aliases.CHAMPION, 3);
    manager.reconcile("server");
    assertThat(state().active().version()).isEqualTo(3);
  }

  @Test
  void withdrawnCanaryIsNotStarted() {
    DeploymentManager other = newManager();
    other.requestCanary(MODEL, 2, CANARY, 1, "ci");

    String detail = other.withdrawStoredCanary(MODEL, "bob", "wrong version");
    restart();

    assertThat(detail)
        .isEqualTo("withdrew stored canary version 2, which no server runs: wrong version");
    assertThat(stored()).isNull();
    assertThat(state().canary()).isNull();
    assertThat(events(DeploymentManager.KIND_CANARY)).isEmpty();
    DeploymentEvent withdrawn = events(DeploymentManager.KIND_ABORT).getLast();
    assertThat(withdrawn.version()).isEqualTo(2);
    assertThat(withdrawn.previousVersion()).isEqualTo(1);
    assertThat(withdrawn.actor()).isEqualTo("bob");
    AuditEntry entry = audit(AuditActions.CANARY_ABORTED).getLast();
    assertThat(entry.actor()).isEqualTo("bob");
    assertThat(entry.details()).containsEntry("stored", "true");
    assertThat(entry.details()).containsEntry("reason", "wrong version");
    assertThat(lineage.forModel(MODEL, 2).edges())
        .anyMatch(
            e -> e.toKind().equals(LineageService.DEPLOYMENT) && e.toId().equals(withdrawn.id()));
  }

  @Test
  void withdrawingCanaryKeepsStoredShadow() {
    DeploymentManager other = newManager();
    other.requestCanary(MODEL, 2, CANARY, 1, "ci");
    other.requestShadow(MODEL, 3, SHADOW, 1, "ci");

    other.withdrawStoredCanary(MODEL, "bob", null);
    restart();

    assertThat(stored().canary()).isNull();
    assertThat(stored().shadow().version()).isEqualTo(3);
    assertThat(state().canary()).isNull();
    assertThat(state().shadow().model().version()).isEqualTo(3);
    assertThat(audit(AuditActions.CANARY_ABORTED).getLast().details()).doesNotContainKey("reason");
  }

  @Test
  void withdrawnShadowIsNotStarted() {
    DeploymentManager other = newManager();
    other.requestShadow(MODEL, 3, SHADOW, 1, "ci");

    String detail = other.withdrawStoredShadow(MODEL, "bob");
    restart();

    assertThat(detail).isEqualTo("withdrew stored shadow version 3, which no server runs");
    assertThat(stored()).isNull();
    assertThat(state().shadow()).isNull();
    assertThat(events(DeploymentManager.KIND_SHADOW_STOP).getLast().version()).isEqualTo(3);
    assertThat(audit(AuditActions.SHADOW_STOPPED).getLast().details())
        .containsEntry("stored", "true");
  }

  @Test
  void withdrawWithoutStoredCanaryIsNotFound() {
    EvergreenException error =
        catchThrowableOfType(
            EvergreenException.class, () -> newManager().withdrawStoredCanary(MODEL, "bob", null));

    assertThat(error.kind()).isEqualTo(ErrorKind.NOT_FOUND);
    assertThat(error.getMessage())
        .isEqualTo(
            "model 'delays' has no stored canary, so there is nothing to withdraw; a server that"
                + " runs the canary can abort it with --url");
    assertThat(events(DeploymentManager.KIND_ABORT)).isEmpty();
  }

  @Test
  void withdrawForUnknownModelIsNotFound() {
    EvergreenException error =
        catchThrowableOfType(
            EvergreenException.class, () -> newManager().withdrawStoredShadow("nosuch", "bob"));

    assertThat(error.kind()).isEqualTo(ErrorKind.NOT_FOUND);
    assertThat(error.getMessage())
        .isEqualTo(
            "model 'nosuch' has no registered version; list models with `evergreen models list`");
  }

  @Test
  void requestStartedAtRestartIsNotCalledRestored() {
    newManager().requestCanary(MODEL, 2, CANARY, 1, "ci");

    restart();

    assertThat(state().canary().model().version()).isEqualTo(2);
    AuditEntry started = audit(AuditActions.CANARY_STARTED).getLast();
    assertThat(started.details()).containsEntry("requested", "true");
    assertThat(started.details()).doesNotContainKey("restored");
    assertThat(events(DeploymentManager.KIND_CANARY).getLast().detail())
        .startsWith("started as requested in the store: version 2");

    restart();

    assertThat(audit(AuditActions.CANARY_STARTED).getLast().details())
        .containsEntry("restored", "true");
  }

  @Test
  void withdrawOfRunningCanaryConflicts() {
    manager.startCanary(MODEL, 2, CANARY, "alice");

    EvergreenException error =
        catchThrowableOfType(
            EvergreenException.class, () -> manager.withdrawStoredCanary(MODEL, "bob", null));

    assertThat(error.kind()).isEqualTo(ErrorKind.CONFLICT);
    assertThat(error.getMessage())
        .isEqualTo("the canary of model 'delays' runs in this process; abort it here");
    assertThat(stored().canary().version()).isEqualTo(2);
    assertThat(state().canary().model().version()).isEqualTo(2);
  }

  @Test
  void rollbackToCanaryVersionEndsCanary() {
    manager.deploy(MODEL, 2, "alice");
    manager.startCanary(MODEL, 1, CANARY, "alice");

    manager.rollback(MODEL, "bob");

    assertThat(state().active().version()).isEqualTo(1);
    assertThat(state().standby().version()).isEqualTo(2);
    assertThat(state().canary()).isNull();
    assertThat(stored()).isNull();
    assertThat(events(DeploymentManager.KIND_ROLLBACK).getLast().detail())
        .isEqualTo(
            "rolled back from version 2 to version 1; canary version 1 ended, as it now takes all"
                + " traffic");
    assertThat(audit(AuditActions.ROLLBACK).getLast().details())
        .containsEntry("canary_stopped", "1");
  }

  @Test
  void rollbackKeepsCanaryOfOtherVersion() {
    manager.deploy(MODEL, 2, "alice");
    manager.startCanary(MODEL, 3, CANARY, "alice");

    manager.rollback(MODEL, "bob");

    assertThat(state().active().version()).isEqualTo(1);
    assertThat(state().canary().model().version()).isEqualTo(3);
    assertThat(stored().canary().version()).isEqualTo(3);
    assertThat(audit(AuditActions.ROLLBACK).getLast().details())
        .doesNotContainKey("canary_stopped");
  }
}
