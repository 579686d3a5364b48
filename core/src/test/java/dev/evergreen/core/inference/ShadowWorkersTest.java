package dev.evergreen.core.inference;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.ShadowSpec;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.deployment.DeploymentManager;
import dev.evergreen.core.deployment.ScriptedModel;
import dev.evergreen.core.deployment.Shadow;
import dev.evergreen.core.lineage.LineageService;
import dev.evergreen.core.registry.ModelRegistry;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Shadows of two models through {@link InferenceRouter}: the shadow of {@link #SLOW} waits at a
 * latch, so its worker scores nothing until the test opens it, while the shadow of {@link #FAST}
 * scores at once. Each model's shadow has its own worker, queue and row bound, so the slow shadow
 * drops only its own copies.
 */
class ShadowWorkersTest {
  private static final String SLOW = "slow";
  private static final String FAST = "fast";

  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final CountDownLatch gate = new CountDownLatch(1);

  /** Models the loader returns by {@code model:version}; others load as good scripted models. */
  private final Map<String, ServableModel> scripted = new ConcurrentHashMap<>();

  private InMemoryMetadataStore store;
  private DeploymentManager manager;
  private InferenceRouter router;

  @BeforeEach
  void deploy() {
    Clock clock = Clock.systemUTC();
    store = new InMemoryMetadataStore();
    AuditLog audit = new AuditLog(store, clock);
    LineageService lineage = new LineageService(store, clock);
    ModelRegistry registry = new ModelRegistry(store, audit, lineage, clock);
    manager =
        new DeploymentManager(
            store,
            registry,
            version -> {
              ServableModel model = scripted.get(version.model() + ":" + version.version());
              return model != null ? model : ScriptedModel.good(version.model(), version.version());
            },
            audit,
            lineage,
            meters,
            clock,
            1e-6);
    router = new InferenceRouter(manager, meters);
    scripted.put(SLOW + ":2", new ScriptedModel(SLOW, 2, false, 0, gate));
    for (String model : new String[] {SLOW, FAST}) {
      for (int i = 0; i < 3; i++) {
        registry.register(
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
      manager.deploy(model, 1, "alice");
      manager.startShadow(model, 2, new ShadowSpec(100.0, null), "alice");
    }
  }

  @AfterEach
  void close() throws InterruptedException {
    gate.countDown();
    router.close();
    manager.close();
    store.close();
    assertThat(waitFor(() -> !workerAlive(SLOW) && !workerAlive(FAST)))
        .as("worker threads of both models ended within 10 s of closing the router")
        .isTrue();
  }

  /** Scores a request with the version serving {@code model} and requires its scores at once. */
  private void score(String model, InputBatch batch) {
    InferenceRouter.Route route = router.route(manager.serving(model).orElseThrow(), null, null);
    CompletableFuture<double[]> result = router.score(route, batch, null, System.nanoTime());
    assertThat(result).isCompleted();
    assertThat(result.join()).hasSize(batch.rows());
  }

  private Shadow shadow(String model) {
    return manager.serving(model).orElseThrow().shadow();
  }

  /** Returns the copies that {@code model}'s shadow scored, agreeing or not, or failed to score. */
  private long handled(Shadow shadow) {
    Map<String, Long> counts = shadow.tally().counts();
    return counts.get("agree") + counts.get("disagree") + counts.get("error");
  }

  private double dropped(String model) {
    return meters
        .get("evergreen.shadow.comparisons")
        .tags("model", model, "version", "2", "outcome", "dropped")
        .counter()
        .count();
  }

  private double queued(String model) {
    return meters.get("evergreen.inference.shadow.queue").tags("model", model).gauge().value();
  }

  private static boolean waitFor(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    return condition.getAsBoolean();
  }

  private static boolean workerAlive(String model) {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(thread -> thread.getName().equals("evergreen-shadow-" + model));
  }

  private static boolean workerWaits(String model) {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(
            thread ->
                thread.getName().equals("evergreen-shadow-" + model)
                    && thread.getState() == Thread.State.TIMED_WAITING);
  }

  @Test
  void fullQueueDropsOnlyItsModelsCopies() throws Exception {
    int slowCopies = InferenceRouter.SHADOW_QUEUE + 100;
    for (int i = 0; i < slowCopies; i++) {
      score(SLOW, ScriptedModel.row(i));
    }
    int fastCopies = 500;
    for (int i = 0; i < fastCopies; i++) {
      score(FAST, ScriptedModel.row(i));
    }

    Shadow fast = shadow(FAST);
    assertThat(waitFor(() -> handled(fast) == fastCopies))
        .as(() -> "copies of model 'fast' by outcome: " + fast.tally().counts())
        .isTrue();
    assertThat(fast.tally().counts()).containsEntry("disagree", (long) fastCopies - 1);
    assertThat(fast.tally().counts()).containsEntry("dropped", 0L);
    assertThat(dropped(FAST)).isZero();
    assertThat(queued(FAST)).isZero();
    // One copy waits at the latch inside the model and SHADOW_QUEUE wait in the queue, unless the
    // worker had not taken the first copy yet when the queue filled.
    assertThat(dropped(SLOW)).isBetween(99.0, 100.0);
    assertThat(shadow(SLOW).tally().counts().get("dropped")).isBetween(99L, 100L);
    assertThat(queued(SLOW))
        .isBetween(InferenceRouter.SHADOW_QUEUE - 1.0, (double) InferenceRouter.SHADOW_QUEUE);
    assertThat(handled(shadow(SLOW))).isZero();

    gate.countDown();
    Shadow slow = shadow(SLOW);
    assertThat(waitFor(() -> handled(slow) + slow.tally().counts().get("dropped") == slowCopies))
        .as(() -> "copies of model 'slow' by outcome: " + slow.tally().counts())
        .isTrue();
    assertThat(queued(SLOW)).isZero();
  }

  @Test
  void rowBoundDropsOnlyItsModelsCopies() throws Exception {
    int rows = (int) (InferenceRouter.SHADOW_ROWS / 4);
    InputBatch large = new InputBatch(rows, Map.of("x", new double[rows]), Map.of());
    // The first copy waits at the latch, three more wait in the queue, and the rest exceed the
    // row bound of the slow model's shadow.
    for (int i = 0; i < 8; i++) {
      score(SLOW, large);
    }
    int fastCopies = 100;
    int fastRows = 900;
    InputBatch medium = new InputBatch(fastRows, Map.of("x", new double[fastRows]), Map.of());
    for (int i = 0; i < fastCopies; i++) {
      score(FAST, medium);
    }

    Shadow fast = shadow(FAST);
    assertThat(waitFor(() -> handled(fast) == fastCopies))
        .as(() -> "copies of model 'fast' by outcome: " + fast.tally().counts())
        .isTrue();
    assertThat(dropped(FAST)).isZero();
    assertThat(dropped(SLOW)).isEqualTo(4);
    assertThat(waitFor(() -> queued(SLOW) == 3))
        .as(() -> "copies waiting for model 'slow': " + queued(SLOW))
        .isTrue();
  }

  @Test
  void stoppedShadowEndsItsWorker() throws Exception {
    score(FAST, ScriptedModel.row(1));
    Shadow fast = shadow(FAST);
    assertThat(waitFor(() -> handled(fast) == 1))
        .as(() -> "copies of model 'fast' by outcome: " + fast.tally().counts())
        .isTrue();
    assertThat(workerAlive(FAST)).as("worker thread of model 'fast' runs").isTrue();

    manager.stopShadow(FAST, "alice");

    assertThat(waitFor(() -> !workerAlive(FAST)))
        .as("worker thread of model 'fast' ended within 10 s")
        .isTrue();
    assertThat(queued(FAST)).isZero();
  }

  @Test
  void shadowWithoutCopiesStartsNoWorker() {
    assertThat(workerAlive(FAST)).as("worker thread of model 'fast' runs").isFalse();
    assertThat(workerAlive(SLOW)).as("worker thread of model 'slow' runs").isFalse();
  }

  @Test
  void replacedShadowSkipsWaitingCopies() throws Exception {
    for (int i = 0; i < 10; i++) {
      score(SLOW, ScriptedModel.row(i));
    }
    Shadow replaced = shadow(SLOW);
    // The worker waits at the latch, with a timeout, once it has taken the first copy.
    assertThat(waitFor(() -> queued(SLOW) == 9 && workerWaits(SLOW)))
        .as(() -> "copies waiting for model 'slow': " + queued(SLOW))
        .isTrue();

    manager.stopShadow(SLOW, "alice");
    manager.startShadow(SLOW, 3, new ShadowSpec(100.0, null), "alice");
    gate.countDown();
    for (int i = 0; i < 5; i++) {
      score(SLOW, ScriptedModel.row(i));
    }

    Shadow current = shadow(SLOW);
    assertThat(waitFor(() -> handled(current) == 5))
        .as(() -> "copies of the new shadow by outcome: " + current.tally().counts())
        .isTrue();
    // Only the copy that was already at the latch is scored by the replaced shadow.
    assertThat(waitFor(() -> handled(replaced) == 1))
        .as(() -> "copies of the replaced shadow by outcome: " + replaced.tally().counts())
        .isTrue();
    Thread.sleep(50);
    assertThat(handled(replaced)).isEqualTo(1);
    assertThat(replaced.tally().counts()).containsEntry("dropped", 0L);
  }

  @Test
  void closedRouterEndsWorkers() throws Exception {
    score(SLOW, ScriptedModel.row(1));
    score(FAST, ScriptedModel.row(1));
    assertThat(waitFor(() -> workerAlive(SLOW) && workerAlive(FAST)))
        .as("worker threads of both models run")
        .isTrue();

    router.close();

    assertThat(waitFor(() -> !workerAlive(SLOW) && !workerAlive(FAST)))
        .as("worker threads of both models ended within 10 s")
        .isTrue();
    assertThat(meters.find("evergreen.inference.shadow.queue").gauges()).isEmpty();
  }
}
