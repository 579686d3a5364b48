package dev.evergreen.core.deployment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.lineage.LineageEdge;
import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.CanarySpec;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.RollbackSpec;
import dev.evergreen.api.pipeline.SplitSpec;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.lineage.LineageService;
import dev.evergreen.core.registry.ModelRegistry;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ModelLoader;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.Signature;
import dev.evergreen.core.serving.TensorSpec;
import dev.evergreen.core.store.DeploymentEvent;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import dev.evergreen.core.testing.TempDirArtifactStore;
import dev.evergreen.core.training.DatasetLoader;
import dev.evergreen.core.training.FlightSamples;
import dev.evergreen.core.training.ModelBundles;
import dev.evergreen.core.training.TrainedModel;
import dev.evergreen.core.training.TrainingData;
import dev.evergreen.core.training.XgboostTrainer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeploymentManagerTest {
  private static final String MODEL = "delays";
  private static final double TOLERANCE = 1e-5;

  @TempDir Path dir;

  private InMemoryMetadataStore store;
  private AuditLog audit;
  private LineageService lineage;
  private ModelRegistry registry;
  private SimpleMeterRegistry meters;
  private final Clock clock = Clock.systemUTC();

  /** How the test loader builds each version of {@link #MODEL}; versions not listed are good. */
  private final Map<Integer, Behaviour> behaviours = new ConcurrentHashMap<>();

  private DeploymentManager manager;

  private enum Behaviour {
    GOOD,
    WRONG_CHECK_SET,
    NON_FINITE_SCORES,
    LOAD_FAILS,
    READ_FAILS
  }

  @BeforeEach
  void createServices() {
    store = new InMemoryMetadataStore();
    audit = new AuditLog(store, clock);
    lineage = new LineageService(store, clock);
    registry = new ModelRegistry(store, audit, lineage, clock);
    meters = new SimpleMeterRegistry();
    manager = newManager(this::loadLinear);
  }

  @AfterEach
  void closeManager() {
    manager.close();
    store.close();
  }

  private DeploymentManager newManager(Function<ModelVersion, ServableModel> loader) {
    return new DeploymentManager(store, registry, loader, audit, lineage, meters, clock, TOLERANCE);
  }

  /**
   * A deterministic model: row {@code r} scores {@code version * x[r] + 0.5}. Its check set
   * contains the correct scores unless the behaviour asks for a wrong one.
   */
  private record LinearModel(String model, int version, boolean nonFinite, double checkOffset)
      implements ServableModel {
    static final InputBatch CHECK_ROWS =
        new InputBatch(3, Map.of("x", new double[] {0.0, 1.0, 2.5}), Map.of());

    @Override
    public Signature signature() {
      return new Signature(
          List.of(new TensorSpec("x", "FP64", List.of(-1L))),
          List.of(new TensorSpec("prediction", "FP64", List.of(-1L))));
    }

    @Override
    public int outputWidth() {
      return 1;
    }

    @Override
    public double[] predict(InputBatch batch) {
      double[] x = batch.numeric().get("x");
      if (x == null) {
        throw EvergreenException.invalid("input 'x' is missing");
      }
      double[] scores = new double[batch.rows()];
      for (int row = 0; row < scores.length; row++) {
        scores[row] = nonFinite ? Double.NaN : version * x[row] + 0.5;
      }
      return scores;
    }

    @Override
    public CheckSet checkSet() {
      double[] x = CHECK_ROWS.numeric().get("x");
      double[] expected = new double[x.length];
      for (int row = 0; row < x.length; row++) {
        expected[row] = version * x[row] + 0.5 + checkOffset;
      }
      return new CheckSet(CHECK_ROWS, expected);
    }
  }

  private ServableModel loadLinear(ModelVersion version) {
    Behaviour behaviour = behaviours.getOrDefault(version.version(), Behaviour.GOOD);
    return switch (behaviour) {
      case GOOD -> new LinearModel(version.model(), version.version(), false, 0.0);
      case WRONG_CHECK_SET -> new LinearModel(version.model(), version.version(), false, 0.01);
      case NON_FINITE_SCORES -> new LinearModel(version.model(), version.version(), true, 0.0);
      case LOAD_FAILS ->
          throw new EvergreenException(
              ErrorKind.INTERNAL, "artifact of version " + version.version() + " is unreadable");
      case READ_FAILS ->
          throw new EvergreenException(
              ErrorKind.INTERNAL,
              "cannot read the model file of version " + version.version(),
              new java.io.IOException("connection reset by the artifact store"));
    };
  }

  private ModelVersion register(String model) {
    return registry.register(
        new ModelVersion(
            model,
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

  private void registerVersions(int count) {
    for (int i = 0; i < count; i++) {
      register(MODEL);
    }
  }

  private int servingVersion() {
    return manager.serving(MODEL).orElseThrow().active().version();
  }

  private List<DeploymentEvent> events(String kind) {
    return store.listDeploymentEvents(MODEL).stream().filter(e -> e.kind().equals(kind)).toList();
  }

  private List<AuditEntry> auditEntries(String action) {
    return store.listAuditEntries(0, 1_000).stream()
        .filter(e -> e.action().equals(action))
        .toList();
  }

  @Test
  void deploySwitchesAndKeepsPreviousAsStandby() {
    registerVersions(2);

    DeploymentResult first = manager.deploy(MODEL, 1, "alice");
    DeploymentResult second = manager.deploy(MODEL, 2, "alice");

    assertThat(first.switched()).isTrue();
    assertThat(first.previousVersion()).isNull();
    assertThat(second.switched()).isTrue();
    assertThat(second.version()).isEqualTo(2);
    assertThat(second.previousVersion()).isEqualTo(1);
    assertThat(second.detail()).contains("from version 1 to version 2").contains(" ms");
    ServingState state = manager.serving(MODEL).orElseThrow();
    assertThat(state.active().version()).isEqualTo(2);
    assertThat(state.standby().version()).isEqualTo(1);
    assertThat(manager.servingVersion(MODEL, 1)).isSameAs(state.standby());
    assertThat(registry.aliases(MODEL)).containsEntry(Aliases.CHAMPION, 2);
  }

  @Test
  void changesServeOnlyAfterTheyAreRecorded() {
    registerVersions(3);
    manager.deploy(MODEL, 1, "alice");
    List<String> servingWhileRecorded = new ArrayList<>();
    store.beforeDeploymentEvent(
        event -> {
          ServingState state = manager.serving(MODEL).orElseThrow();
          servingWhileRecorded.add(
              event.kind()
                  + " "
                  + state.active().version()
                  + (state.canary() == null ? "" : " canary " + state.canary().model().version()));
        });

    manager.deploy(MODEL, 2, "alice");
    manager.rollback(MODEL, "alice");
    manager.startCanary(
        MODEL, 3, new CanarySpec(10.0, null, null, new RollbackSpec(0.5, null, 60, 10)), "alice");

    assertThat(servingWhileRecorded)
        .containsExactly(
            DeploymentManager.KIND_SWITCH + " 1",
            DeploymentManager.KIND_ROLLBACK + " 2",
            DeploymentManager.KIND_CANARY + " 1");
    ServingState state = manager.serving(MODEL).orElseThrow();
    assertThat(state.active().version()).isEqualTo(1);
    assertThat(state.canary().model().version()).isEqualTo(3);
  }

  @Test
  void failedRecordingLeavesPreviousVersionServing() {
    registerVersions(2);
    manager.deploy(MODEL, 1, "alice");
    store.beforeDeploymentEvent(
        event -> {
          throw new IllegalStateException("disk full");
        });

    EvergreenException error =
        catchThrowableOfType(EvergreenException.class, () -> manager.deploy(MODEL, 2, "alice"));

    assertThat(error.kind()).isEqualTo(ErrorKind.INTERNAL);
    assertThat(error.getMessage())
        .contains("could not be recorded in the metadata store, so version 1 keeps serving")
        .contains("disk full");
    assertThat(servingVersion()).isEqualTo(1);
    assertThat(registry.aliases(MODEL)).containsEntry(Aliases.CHAMPION, 1);
    assertThat(events(DeploymentManager.KIND_SWITCH)).hasSize(1);
    assertThat(auditEntries(AuditActions.DEPLOYMENT_SWITCHED)).hasSize(1);
  }

  @Test
  void failedFirstRecordingServesNothing() {
    registerVersions(1);
    store.beforeDeploymentEvent(
        event -> {
          throw new IllegalStateException("disk full");
        });

    EvergreenException error =
        catchThrowableOfType(EvergreenException.class, () -> manager.deploy(MODEL, 1, "alice"));

    assertThat(error.getMessage()).contains("so no version serves");
    assertThat(manager.serving(MODEL)).isEmpty();
    assertThat(meters.find("evergreen.canary.percent").tag("model", MODEL).gauge()).isNull();
  }

  @Test
  void switchRecordsEventAuditAndLineage() {
    registerVersions(1);

    manager.deploy(MODEL, 1, "alice");

    List<DeploymentEvent> switches = events(DeploymentManager.KIND_SWITCH);
    assertThat(switches).hasSize(1);
    DeploymentEvent event = switches.get(0);
    assertThat(event.id()).matches(MODEL + "/[0-9a-f]{32}");
    assertThat(event.version()).isEqualTo(1);
    assertThat(event.actor()).isEqualTo("alice");
    assertThat(event.detail()).startsWith("switched to version 1 after ");
    List<AuditEntry> entries = auditEntries(AuditActions.DEPLOYMENT_SWITCHED);
    assertThat(entries).hasSize(1);
    assertThat(entries.get(0).targets()).isEqualTo(Map.of("model", MODEL, "version", "1"));
    assertThat(entries.get(0).details()).containsEntry("event", event.id());
    List<LineageEdge> edges = store.lineageEdgesFrom(LineageService.MODEL_VERSION, MODEL + ":1");
    assertThat(edges).hasSize(1);
    assertThat(edges.get(0).toKind()).isEqualTo(LineageService.DEPLOYMENT);
    assertThat(edges.get(0).toId()).isEqualTo(event.id());
  }

  @Test
  void olderStandbyIsDropped() {
    registerVersions(3);

    manager.deploy(MODEL, 1, "alice");
    manager.deploy(MODEL, 2, "alice");
    manager.deploy(MODEL, 3, "alice");

    ServingState state = manager.serving(MODEL).orElseThrow();
    assertThat(state.active().version()).isEqualTo(3);
    assertThat(state.standby().version()).isEqualTo(2);
    assertThatThrownBy(() -> manager.servingVersion(MODEL, 1))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("version 1 of model 'delays' is not loaded")
        .hasMessageContaining("3 (active), 2 (standby)")
        .extracting(e -> ((EvergreenException) e).kind())
        .isEqualTo(ErrorKind.NOT_FOUND);
  }

  @Test
  void deployOfActiveVersionChangesNothing() {
    registerVersions(1);
    manager.deploy(MODEL, 1, "alice");
    ServingState before = manager.serving(MODEL).orElseThrow();

    DeploymentResult again = manager.deploy(MODEL, 1, "alice");

    assertThat(again.switched()).isFalse();
    assertThat(again.switchTime()).isEqualTo(Duration.ZERO);
    assertThat(manager.serving(MODEL).orElseThrow()).isSameAs(before);
    assertThat(events(DeploymentManager.KIND_SWITCH)).hasSize(1);
  }

  @Test
  void failingCheckNeverServes() {
    registerVersions(2);
    behaviours.put(2, Behaviour.WRONG_CHECK_SET);
    manager.deploy(MODEL, 1, "alice");
    ServingState before = manager.serving(MODEL).orElseThrow();

    assertThatThrownBy(() -> manager.deploy(MODEL, 2, "alice"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("model 'delays' version 2 failed its check")
        .hasMessageContaining("row 0 scored 0.500000000 but 0.510000000 was recorded")
        .hasMessageContaining("version 1 keeps serving");

    assertThat(manager.serving(MODEL).orElseThrow()).isSameAs(before);
    assertThat(registry.aliases(MODEL)).containsEntry(Aliases.CHAMPION, 1);
    List<DeploymentEvent> failures = events(DeploymentManager.KIND_FAILED);
    assertThat(failures).hasSize(1);
    assertThat(failures.get(0).version()).isEqualTo(2);
    assertThat(failures.get(0).previousVersion()).isEqualTo(1);
    assertThat(failures.get(0).detail()).contains("failed its check");
    List<AuditEntry> entries = auditEntries(AuditActions.DEPLOYMENT_FAILED);
    assertThat(entries).hasSize(1);
    assertThat(entries.get(0).targets()).isEqualTo(Map.of("model", MODEL, "version", "2"));
    assertThat(
            meters
                .get("evergreen.model.load.duration")
                .tags("model", MODEL, "version", "2", "outcome", "check_failed")
                .timer()
                .count())
        .isEqualTo(1);
  }

  @Test
  void nonFiniteScoresNeverServe() {
    registerVersions(1);
    behaviours.put(1, Behaviour.NON_FINITE_SCORES);

    assertThatThrownBy(() -> manager.deploy(MODEL, 1, "alice"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("row 0 scored NaN, which is not a finite number")
        .hasMessageContaining("no version of the model serves");

    assertThat(manager.serving(MODEL)).isEmpty();
  }

  @Test
  void loadExceptionNeverServes() {
    registerVersions(2);
    behaviours.put(2, Behaviour.LOAD_FAILS);
    manager.deploy(MODEL, 1, "alice");

    assertThatThrownBy(() -> manager.deploy(MODEL, 2, "alice"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("version 2 failed to load: artifact of version 2 is unreadable")
        .hasMessageContaining("version 1 keeps serving")
        .extracting(e -> ((EvergreenException) e).kind())
        .isEqualTo(ErrorKind.INTERNAL);

    assertThat(servingVersion()).isEqualTo(1);
    assertThat(events(DeploymentManager.KIND_FAILED)).hasSize(1);
    assertThat(
            meters
                .get("evergreen.model.load.duration")
                .tags("model", MODEL, "version", "2", "outcome", "load_failed")
                .timer()
                .count())
        .isEqualTo(1);
  }

  @Test
  void missingArtifactThroughModelLoaderNeverServes() throws Exception {
    ModelLoader loader = new ModelLoader(new TempDirArtifactStore(dir.resolve("artifacts")));
    manager = newManager(loader::load);
    registerVersions(1);

    assertThatThrownBy(() -> manager.deploy(MODEL, 1, "alice"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("version 1 failed to load")
        .hasMessageContaining("is not in the artifact store");

    assertThat(manager.serving(MODEL)).isEmpty();
    assertThat(events(DeploymentManager.KIND_FAILED)).hasSize(1);
  }

  @Test
  void trainedXgboostModelDeploysThroughModelLoader() throws Exception {
    Path sample = FlightSamples.write(dir, 3_000);
    PipelineSpec spec = FlightSamples.binary(new SplitSpec("random", 0.2, 3L, null));
    TrainingData data = DatasetLoader.load(sample, spec, 1);
    TrainedModel trained = new XgboostTrainer().train(data, spec.trainer());
    TempDirArtifactStore artifacts = new TempDirArtifactStore(dir.resolve("artifacts"));
    ModelBundles.StoredBundle bundle = ModelBundles.store(artifacts, trained, data, spec.trainer());
    ModelVersion registered =
        registry.register(
            new ModelVersion(
                "flights",
                0,
                bundle.manifestKey(),
                bundle.modelSha256(),
                null,
                null,
                Map.of(),
                null,
                Instant.now()),
            "trainer");
    manager = newManager(new ModelLoader(artifacts)::load);

    DeploymentResult result = manager.deploy("flights", registered.version(), "alice");

    assertThat(result.switched()).isTrue();
    ServableModel active = manager.serving("flights").orElseThrow().active();
    assertThat(active.version()).isEqualTo(registered.version());
    assertThat(active.predict(trained.checkSet().inputs()))
        .hasSameSizeAs(trained.checkSet().expected());
    assertThat(
            meters
                .get("evergreen.model.load.duration")
                .tags("model", "flights", "version", "1", "outcome", "ok")
                .timer()
                .count())
        .isEqualTo(1);
  }

  @Test
  void rollbackSwapsSlotsAndMovesAlias() {
    registerVersions(2);
    manager.deploy(MODEL, 1, "alice");
    manager.deploy(MODEL, 2, "alice");
    ServingState before = manager.serving(MODEL).orElseThrow();

    DeploymentResult result = manager.rollback(MODEL, "bob");

    ServingState after = manager.serving(MODEL).orElseThrow();
    assertThat(after.active()).isSameAs(before.standby());
    assertThat(after.standby()).isSameAs(before.active());
    assertThat(result.version()).isEqualTo(1);
    assertThat(result.previousVersion()).isEqualTo(2);
    // Both slots were already loaded, so the rollback is one reference swap.
    assertThat(result.switchTime()).isLessThan(Duration.ofMillis(50));
    assertThat(registry.aliases(MODEL)).containsEntry(Aliases.CHAMPION, 1);
    List<AliasMove> moves = registry.aliasHistory(MODEL);
    AliasMove last = moves.get(moves.size() - 1);
    assertThat(last.fromVersion()).isEqualTo(2);
    assertThat(last.toVersion()).isEqualTo(1);
    assertThat(last.actor()).isEqualTo("bob");
    assertThat(last.reason()).isEqualTo("rollback from version 2");
    assertThat(events(DeploymentManager.KIND_ROLLBACK)).hasSize(1);
    assertThat(auditEntries(AuditActions.ROLLBACK)).hasSize(1);
    assertThat(
            meters.get("evergreen.deployment.switches").tags("kind", "rollback").counter().count())
        .isEqualTo(1.0);
  }

  @Test
  void rollbackWithoutStandbyIsConflict() {
    registerVersions(1);
    manager.deploy(MODEL, 1, "alice");

    assertThatThrownBy(() -> manager.rollback(MODEL, "bob"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("no previous version loaded for model 'delays'")
        .extracting(e -> ((EvergreenException) e).kind())
        .isEqualTo(ErrorKind.CONFLICT);
    assertThat(servingVersion()).isEqualTo(1);
  }

  @Test
  void reconcileDeploysMovedChampion() {
    registerVersions(2);
    registry.moveAlias(MODEL, Aliases.CHAMPION, 1, "pipeline", "first model");

    manager.reconcile("reconciler");
    assertThat(servingVersion()).isEqualTo(1);

    registry.moveAlias(MODEL, Aliases.CHAMPION, 2, "pipeline", "better auc");
    manager.reconcile("reconciler");
    assertThat(servingVersion()).isEqualTo(2);
    assertThat(events(DeploymentManager.KIND_SWITCH)).hasSize(2);
  }

  @Test
  void reconcileKeepsRollback() {
    registerVersions(2);
    manager.deploy(MODEL, 1, "alice");
    manager.deploy(MODEL, 2, "alice");
    manager.rollback(MODEL, "bob");

    manager.reconcile("reconciler");

    assertThat(servingVersion()).isEqualTo(1);
    assertThat(events(DeploymentManager.KIND_SWITCH)).hasSize(2);
  }

  @Test
  void reconcileSkipsChampionThatFailedBefore() {
    registerVersions(2);
    behaviours.put(2, Behaviour.WRONG_CHECK_SET);
    manager.deploy(MODEL, 1, "alice");
    registry.moveAlias(MODEL, Aliases.CHAMPION, 2, "pipeline", "better auc");

    manager.reconcile("reconciler");
    manager.reconcile("reconciler");

    assertThat(servingVersion()).isEqualTo(1);
    assertThat(events(DeploymentManager.KIND_FAILED)).hasSize(1);
  }

  /** A clock that moves only when a test moves it. */
  private static final class ManualClock extends Clock {
    private final AtomicLong millis =
        new AtomicLong(Instant.parse("2026-01-05T10:00:00Z").toEpochMilli());

    void advance(Duration by) {
      millis.addAndGet(by.toMillis());
    }

    @Override
    public java.time.ZoneId getZone() {
      return java.time.ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis.get());
    }
  }

  /**
   * Serves version 1 with a manager on a manual clock, then moves the champion to version 2, which
   * loads as {@code behaviour}; returns the clock.
   */
  private ManualClock championFailing(Behaviour behaviour) {
    ManualClock manual = new ManualClock();
    manager.close();
    manager =
        new DeploymentManager(
            store, registry, this::loadLinear, audit, lineage, meters, manual, TOLERANCE);
    registerVersions(2);
    manager.deploy(MODEL, 1, "alice");
    behaviours.put(2, behaviour);
    registry.moveAlias(MODEL, Aliases.CHAMPION, 2, "pipeline", "better auc");
    return manual;
  }

  @Test
  void reconcileRetriesChampionAfterReadError() {
    ManualClock manual = championFailing(Behaviour.READ_FAILS);

    manager.reconcile("reconciler");
    manager.reconcile("reconciler");
    assertThat(events(DeploymentManager.KIND_FAILED)).hasSize(1);

    behaviours.put(2, Behaviour.GOOD);
    manual.advance(Duration.ofMillis(DeploymentManager.RETRY_FIRST_MILLIS));
    manager.reconcile("reconciler");

    assertThat(servingVersion()).isEqualTo(2);
    assertThat(events(DeploymentManager.KIND_FAILED)).hasSize(1);
  }

  @Test
  void reconcileDoublesWaitAfterEachReadError() {
    ManualClock manual = championFailing(Behaviour.READ_FAILS);
    Duration first = Duration.ofMillis(DeploymentManager.RETRY_FIRST_MILLIS);

    manager.reconcile("reconciler");
    manual.advance(first);
    manager.reconcile("reconciler");
    assertThat(events(DeploymentManager.KIND_FAILED)).hasSize(2);

    manual.advance(first);
    manager.reconcile("reconciler");
    assertThat(events(DeploymentManager.KIND_FAILED)).hasSize(2);

    manual.advance(first);
    manager.reconcile("reconciler");
    assertThat(events(DeploymentManager.KIND_FAILED)).hasSize(3);
    assertThat(servingVersion()).isEqualTo(1);
  }

  @Test
  void reconcileNeverRetriesChampionThatFailedItsCheck() {
    ManualClock manual = championFailing(Behaviour.WRONG_CHECK_SET);

    manager.reconcile("reconciler");
    manual.advance(Duration.ofDays(1));
    manager.reconcile("reconciler");

    assertThat(events(DeploymentManager.KIND_FAILED)).hasSize(1);
    assertThat(servingVersion()).isEqualTo(1);
  }

  @Test
  void isReadErrorExcludesMissingFiles() {
    assertThat(
            DeploymentManager.isReadError(
                new EvergreenException(
                    ErrorKind.INTERNAL, "cannot read", new java.io.IOException("reset"))))
        .isTrue();
    assertThat(
            DeploymentManager.isReadError(
                new EvergreenException(
                    ErrorKind.INTERNAL,
                    "missing",
                    new java.nio.file.NoSuchFileException("model.json"))))
        .isFalse();
    assertThat(DeploymentManager.isReadError(null)).isFalse();
  }

  @Test
  void deleteVersionRejectsStandbyUntilItLeaves() {
    registerVersions(3);
    manager.deploy(MODEL, 1, "alice");
    manager.deploy(MODEL, 2, "alice");

    assertThatThrownBy(() -> registry.deleteVersion(MODEL, 1, "alice"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("loaded as the standby version")
        .extracting(e -> ((EvergreenException) e).kind())
        .isEqualTo(ErrorKind.CONFLICT);
    assertThat(registry.version(MODEL, 1)).isPresent();

    manager.deploy(MODEL, 3, "alice");

    assertThatCode(() -> manager.requireNotLoaded(MODEL, 1)).doesNotThrowAnyException();
  }

  @Test
  void deleteModelRejectsServingModel() {
    registerVersions(1);
    manager.deploy(MODEL, 1, "alice");

    assertThatThrownBy(() -> manager.requireNotLoaded(MODEL, null))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("is serving version 1")
        .extracting(e -> ((EvergreenException) e).kind())
        .isEqualTo(ErrorKind.CONFLICT);
  }

  @Test
  void firstDeployExportsZeroCanaryAndShadowGauges() {
    registerVersions(1);

    manager.deploy(MODEL, 1, "alice");

    assertThat(meters.find("evergreen.canary.percent").tag("model", MODEL).gauge().value())
        .isZero();
    assertThat(meters.find("evergreen.shadow.percent").tag("model", MODEL).gauge().value())
        .isZero();
  }

  @Test
  void reconcilerThreadFollowsAliasMoves() throws Exception {
    registerVersions(2);
    registry.moveAlias(MODEL, Aliases.CHAMPION, 1, "pipeline", "first model");

    manager.startReconciler(Duration.ofMillis(20), "reconciler");
    awaitServing(1);
    registry.moveAlias(MODEL, Aliases.CHAMPION, 2, "pipeline", "better auc");
    awaitServing(2);

    assertThat(manager.serving(MODEL).orElseThrow().standby().version()).isEqualTo(1);
    assertThatThrownBy(() -> manager.startReconciler(Duration.ofMillis(20), "again"))
        .isInstanceOf(IllegalStateException.class);
  }

  private void awaitServing(int version) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      ServingState state = manager.serving(MODEL).orElse(null);
      if (state != null && state.active().version() == version) {
        return;
      }
      Thread.sleep(10);
    }
    throw new AssertionError("version " + version + " did not start serving within 10 s");
  }

  @Test
  void concurrentReadersSeeCompleteStates() throws Exception {
    int switchCount = 50;
    registerVersions(switchCount);
    manager.deploy(MODEL, 1, "alice");
    InputBatch rows = new InputBatch(4, Map.of("x", new double[] {1.0, 2.0, 3.0, 4.0}), Map.of());
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicReference<String> problem = new AtomicReference<>();
    AtomicLong reads = new AtomicLong();
    CountDownLatch started = new CountDownLatch(3);
    List<Thread> readers = new ArrayList<>();
    for (int t = 0; t < 3; t++) {
      Thread reader =
          new Thread(
              () -> {
                started.countDown();
                while (running.get()) {
                  ServingState state = manager.serving(MODEL).orElse(null);
                  String error = inconsistency(state, rows);
                  if (error != null) {
                    problem.compareAndSet(null, error);
                  }
                  reads.incrementAndGet();
                }
              });
      reader.start();
      readers.add(reader);
    }
    started.await();

    for (int version = 2; version <= switchCount; version++) {
      manager.deploy(MODEL, version, "alice");
    }
    running.set(false);
    for (Thread reader : readers) {
      reader.join();
    }

    assertThat(problem.get()).isNull();
    assertThat(reads.get()).isPositive();
    assertThat(servingVersion()).isEqualTo(switchCount);
    assertThat(events(DeploymentManager.KIND_SWITCH)).hasSize(switchCount);
  }

  /** Returns what is wrong with a state read during switches, or null when it is complete. */
  private static String inconsistency(ServingState state, InputBatch rows) {
    if (state == null) {
      return "no serving state after the first deploy";
    }
    ServableModel active = state.active();
    if (active == null) {
      return "serving state without an active version";
    }
    if (state.standby() != null && state.standby().version() != active.version() - 1) {
      return "standby version "
          + state.standby().version()
          + " does not precede active version "
          + active.version();
    }
    double[] scores = active.predict(rows);
    double[] x = rows.numeric().get("x");
    for (int row = 0; row < scores.length; row++) {
      if (scores[row] != active.version() * x[row] + 0.5) {
        return "row " + row + " was not scored by version " + active.version();
      }
    }
    return null;
  }
}
