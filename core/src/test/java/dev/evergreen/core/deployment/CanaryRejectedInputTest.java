package dev.evergreen.core.deployment;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.BatchingSpec;
import dev.evergreen.api.pipeline.CanarySpec;
import dev.evergreen.api.pipeline.RollbackSpec;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.inference.InferenceRouter;
import dev.evergreen.core.lineage.LineageService;
import dev.evergreen.core.registry.ModelRegistry;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.external.ExternalFixtures;
import dev.evergreen.core.serving.external.ExternalFormat;
import dev.evergreen.core.serving.external.ExternalModels;
import dev.evergreen.core.serving.external.ExternalSignature;
import dev.evergreen.core.serving.external.OnnxGraphs;
import dev.evergreen.core.store.DeploymentEvent;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Canary requests that the canary rejects as invalid input, with real models: version 1 is the
 * XGBoost fixture, which scores a missing value, and the canary, version 2, is an ONNX graph
 * without an imputer, which rejects it. Such a rejection counts against the canary in its rollback
 * window, while a request that version 1 rejects too does not.
 */
class CanaryRejectedInputTest {
  private static final String MODEL = "flights";

  private final Clock clock = Clock.systemUTC();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final Map<Integer, ServableModel> models = new HashMap<>();
  private InMemoryMetadataStore store;
  private DeploymentManager manager;
  private InferenceRouter router;

  @BeforeEach
  void deploy() {
    store = new InMemoryMetadataStore();
    AuditLog audit = new AuditLog(store, clock);
    LineageService lineage = new LineageService(store, clock);
    ModelRegistry registry = new ModelRegistry(store, audit, lineage, clock);
    add(registry, ExternalFormat.XGBOOST_JSON, ExternalFixtures.file("flights-xgboost.json"));
    add(registry, ExternalFormat.ONNX, OnnxGraphs.flightColumnSum());
    manager =
        new DeploymentManager(
            store,
            registry,
            version -> models.get(version.version()),
            audit,
            lineage,
            meters,
            clock,
            1e-6);
    manager.deploy(MODEL, 1, "alice");
    router = new InferenceRouter(manager, meters);
  }

  @AfterEach
  void close() {
    router.close();
    manager.close();
    store.close();
  }

  /** Opens a model file as the next version of {@link #MODEL}, with an all-zero check row. */
  private void add(ModelRegistry registry, ExternalFormat format, byte[] file) {
    ModelVersion registered =
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
    ExternalSignature signature =
        ExternalSignature.parse(
            ExternalFixtures.utf8(OnnxGraphs.FLIGHT_COLUMNS_SIGNATURE), "signature.json");
    ServableModel unchecked =
        ExternalModels.open(MODEL, registered.version(), format, file, signature, null);
    InputBatch zeros = row(0);
    models.put(
        registered.version(),
        ExternalModels.open(
            MODEL,
            registered.version(),
            format,
            file,
            signature,
            new CheckSet(zeros, unchecked.predict(zeros))));
  }

  /** Returns one flight row with this {@code distance}, where NaN is a missing value. */
  private static InputBatch row(double distance) {
    return new InputBatch(
        1,
        Map.of(
            "distance",
            new double[] {distance},
            "hour",
            new double[] {7},
            "day_of_week",
            new double[] {3},
            "day_of_month",
            new double[] {14}),
        Map.of());
  }

  /** Returns one row without the {@code hour} input, which both versions reject. */
  private static InputBatch rowWithoutHour() {
    return new InputBatch(
        1,
        Map.of(
            "distance",
            new double[] {500},
            "day_of_week",
            new double[] {3},
            "day_of_month",
            new double[] {14}),
        Map.of());
  }

  /** Starts the canary for half of the keys and returns routing keys that reach it. */
  private List<String> startCanary(RollbackSpec rollback, int keys) {
    manager.startCanary(MODEL, 2, new CanarySpec(50.0, null, null, rollback), "alice");
    List<String> canaryKeys = new ArrayList<>();
    for (int caller = 0; canaryKeys.size() < keys; caller++) {
      String key = "caller-" + caller;
      if (router.route(manager.serving(MODEL).orElseThrow(), null, key).canary() != null) {
        canaryKeys.add(key);
      }
    }
    return canaryKeys;
  }

  private CompletableFuture<double[]> score(String key, InputBatch batch) {
    InferenceRouter.Route route = router.route(manager.serving(MODEL).orElseThrow(), null, key);
    return router.score(route, batch, key, System.nanoTime());
  }

  /** Returns the failure of a scoring, which must have failed. */
  private static EvergreenException failure(CompletableFuture<double[]> result) {
    assertThat(result).failsWithin(Duration.ofSeconds(10));
    try {
      result.join();
    } catch (CompletionException e) {
      assertThat(e.getCause()).isInstanceOf(EvergreenException.class);
      return (EvergreenException) e.getCause();
    }
    throw new AssertionError("expected the scoring to fail, but it succeeded");
  }

  private CanaryWindow window() {
    return manager.serving(MODEL).orElseThrow().canary().window();
  }

  @Test
  void stableScoresMissingValue() {
    double[] scores = score("caller", row(Double.NaN)).join();

    assertThat(scores).hasSize(1);
    assertThat(scores[0]).isBetween(0.0, 1.0);
  }

  @Test
  void canaryOnlyRejectionCountsAsError() {
    String key = startCanary(null, 1).get(0);

    EvergreenException rejected = failure(score(key, row(Double.NaN)));
    double[] scored = score(key, row(500)).join();

    assertThat(rejected.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    assertThat(rejected.getMessage()).contains("model 'flights' version 2");
    assertThat(scored).containsExactly(500.0 + 7 + 3 + 14);
    assertThat(window().summary().requests()).isEqualTo(2);
    assertThat(window().summary().errors()).isEqualTo(1);
  }

  @Test
  void sharedRejectionIsNotCounted() {
    String key = startCanary(null, 1).get(0);

    EvergreenException rejected = failure(score(key, rowWithoutHour()));

    assertThat(rejected.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    assertThat(rejected.getMessage()).contains("hour");
    assertThat(window().summary().requests()).isEqualTo(1);
    assertThat(window().summary().errors()).isZero();
  }

  @Test
  void canaryOnlyRejectionsRollCanaryBack() {
    List<String> keys = startCanary(new RollbackSpec(0.1, null, 60, 10), 20);

    for (String key : keys) {
      assertThat(failure(score(key, row(Double.NaN))).kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    }
    List<String> rolledBack = manager.checkCanaries();

    assertThat(rolledBack).containsExactly(MODEL);
    assertThat(manager.serving(MODEL).orElseThrow().canary()).isNull();
    assertThat(score(keys.get(0), row(Double.NaN)).join()).hasSize(1);
    DeploymentEvent event =
        store.listDeploymentEvents(MODEL).stream()
            .filter(e -> e.kind().equals(DeploymentManager.KIND_AUTO_ROLLBACK))
            .findFirst()
            .orElseThrow();
    assertThat(event.detail()).contains("error rate").contains("exceeds the limit 10%");
    AuditEntry entry =
        store.listAuditEntries(0, 1_000).stream()
            .filter(e -> e.action().equals(AuditActions.CANARY_ROLLED_BACK))
            .findFirst()
            .orElseThrow();
    assertThat(entry.details()).containsEntry("window_requests", "20");
    assertThat(entry.details()).containsEntry("window_errors", "20");
  }

  @Test
  void sharedRejectionsKeepCanary() {
    List<String> keys = startCanary(new RollbackSpec(0.1, null, 60, 10), 20);

    for (String key : keys) {
      assertThat(failure(score(key, rowWithoutHour())).kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    }

    assertThat(manager.checkCanaries()).isEmpty();
    assertThat(manager.serving(MODEL).orElseThrow().canary()).isNotNull();
    assertThat(window().summary().requests()).isEqualTo(20);
    assertThat(window().summary().errors()).isZero();
  }

  @Test
  void batchedCanaryOnlyRejectionCountsAsError() throws InterruptedException {
    router.configureBatching(MODEL, new BatchingSpec(16, 1.0, 100));
    String key = startCanary(null, 1).get(0);

    EvergreenException rejected = failure(score(key, row(Double.NaN)));
    EvergreenException shared = failure(score(key, rowWithoutHour()));

    assertThat(rejected.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    assertThat(shared.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    // The window is fed by a callback on the batching worker, after the caller's future failed.
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (window().summary().requests() < 2 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(window().summary().requests()).isEqualTo(2);
    assertThat(window().summary().errors()).isEqualTo(1);
  }
}
