package dev.evergreen.core.inference;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.BatchingSpec;
import dev.evergreen.core.deployment.Canary;
import dev.evergreen.core.deployment.DeploymentManager;
import dev.evergreen.core.deployment.ServingState;
import dev.evergreen.core.deployment.Shadow;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one scoring path of every inference protocol. It picks the version that scores a request
 * (stable, canary or an explicit version) and scores the rows directly or through the model's
 * dynamic batcher. It then feeds the canary's rollback window and copies a share of requests to a
 * shadow version in the background.
 *
 * <p>On every path (batched or not, stable, canary or shadow), {@link FiniteScores} turns a score
 * that is not finite into a failure, so no caller receives one. The failure is INVALID_INPUT when
 * the row has a missing value that the model cannot score.
 *
 * <p>A canary request that fails with a server error counts as an error in the canary's rollback
 * window. One that fails as INVALID_INPUT counts as an error only when the stable version scores
 * the same rows. Requests are bound to the stable version's inputs, so a canary that rejects what
 * the stable version accepts fails callers that the stable version serves. An example is an ONNX
 * graph without an imputer given a missing value. The stable version scores those rows again only
 * on this failure path, on the thread that completed the canary's scoring. The caller still
 * receives the canary's INVALID_INPUT failure.
 *
 * <p>Without batching, scoring runs on the caller's thread and the returned future is already
 * complete. A shadow scoring never delays the caller: it is handed to the {@link ShadowWorkers}
 * after the caller's scores exist, where each model's shadow has its own worker thread and bounds.
 * A copy that exceeds its model's bounds is dropped and counted. Copies of a shadow that stopped
 * are skipped.
 */
public final class InferenceRouter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(InferenceRouter.class);

  /**
   * Maximum number of request copies that wait for one model's shadow. Further copies are dropped
   * rather than delaying anyone.
   */
  public static final int SHADOW_QUEUE = 1_024;

  /**
   * Maximum rows that the copies waiting for one model's shadow, and the copy it is scoring,
   * contain together. Each copy keeps its request's rows until it is scored, so the count alone
   * would let 1,024 large requests fill the heap.
   */
  public static final long SHADOW_ROWS = 100_000;

  private final DeploymentManager deployments;
  private final InferenceMeters meters;
  private final ConcurrentHashMap<String, DynamicBatcher> batchers = new ConcurrentHashMap<>();
  private final ShadowWorkers shadows;

  /**
   * The version that scores one request.
   *
   * @param canary the canary of {@code state} when it scores this request, else null
   */
  public record Route(ServingState state, ServableModel model, Canary canary) {}

  public InferenceRouter(DeploymentManager deployments, MeterRegistry registry) {
    this.deployments = deployments;
    this.meters = new InferenceMeters(registry);
    deployments.addServingListener(meters);
    this.shadows = new ShadowWorkers(meters, registry);
    deployments.addServingListener(shadows);
  }

  /** Returns what serves a model, empty when no version does. */
  public Optional<ServingState> serving(String model) {
    return deployments.serving(model);
  }

  /**
   * Picks the version that scores a request.
   *
   * @param version the version the request names, null for whichever serves it
   * @param key the request's routing key, null when it has none
   * @throws EvergreenException NOT_FOUND when the named version is not loaded
   */
  public Route route(ServingState state, Integer version, String key) {
    if (version != null) {
      ServableModel loaded = state.loaded(version);
      if (loaded == null) {
        throw EvergreenException.notFound(
            "version "
                + version
                + " of model '"
                + state.active().model()
                + "' is not loaded; loaded versions: "
                + DeploymentManager.loadedVersions(state));
      }
      Canary canary = state.canary();
      return new Route(state, loaded, canary != null && canary.model() == loaded ? canary : null);
    }
    ServableModel chosen = state.route(key);
    Canary canary = state.canary();
    return new Route(state, chosen, canary != null && canary.model() == chosen ? canary : null);
  }

  /**
   * Scores a batch with the routed version.
   *
   * @param key the request's routing key, which also decides whether a shadow scores a copy
   * @param startNanos {@link System#nanoTime()} when the request arrived, for the canary's latency
   * @return the scores, {@code rows * outputWidth()} finite values. The future fails with the
   *     scoring's {@link EvergreenException}, with UNAVAILABLE when the model's batching queue is
   *     full, or with the failure of {@link FiniteScores#requireFinite} when a score is not finite
   */
  public CompletableFuture<double[]> score(
      Route route, InputBatch batch, String key, long startNanos) {
    ServableModel model = route.model();
    DynamicBatcher batcher = batchers.get(model.model());
    CompletableFuture<double[]> result;
    if (batcher == null || batch.rows() == 0) {
      result = new CompletableFuture<>();
      long started = System.nanoTime();
      try {
        double[] scores = batch.rows() == 0 ? new double[0] : model.predict(batch);
        meters.of(model).recordCompute(batch.rows(), System.nanoTime() - started);
        result.complete(FiniteScores.requireFinite(model, batch, scores));
      } catch (RuntimeException e) {
        result.completeExceptionally(e);
      }
    } else {
      result = batcher.submit(model, batch);
    }
    if (route.canary() != null) {
      Canary canary = route.canary();
      ServableModel stable = route.state().active();
      result.whenComplete(
          (scores, failure) -> {
            long latencyNanos = System.nanoTime() - startNanos;
            canary.window().record(isCanaryError(failure, stable, batch), latencyNanos);
          });
    }
    Shadow shadow = route.state().shadow();
    if (shadow != null && route.canary() == null && shadow.model() != model) {
      result.thenAccept(
          scores -> {
            if (shadow.split().takes(key)) {
              shadows.submit(shadow, batch, scores);
            }
          });
    }
    return result;
  }

  /**
   * Returns the value of an input in the first row as text, the routing key of a canary keyed by an
   * input, or null when the batch has no rows, no such input or a missing value.
   */
  public static String inputKey(InputBatch batch, String input) {
    if (batch.rows() == 0) {
      return null;
    }
    String[] text = batch.text().get(input);
    if (text != null) {
      return text.length == 0 ? null : text[0];
    }
    double[] numbers = batch.numeric().get(input);
    if (numbers == null || numbers.length == 0 || Double.isNaN(numbers[0])) {
      return null;
    }
    double value = numbers[0];
    // Whole numbers route the same whether a caller sent 42 or 42.0.
    return value == Math.rint(value) && Math.abs(value) < 1e15
        ? Long.toString((long) value)
        : Double.toString(value);
  }

  /** Returns whether a failure is the server's fault, as opposed to a bad request. */
  static boolean isServerError(Throwable failure) {
    if (failure == null) {
      return false;
    }
    Throwable cause =
        failure instanceof CompletionException && failure.getCause() != null
            ? failure.getCause()
            : failure;
    return !(cause instanceof EvergreenException e && e.kind() == ErrorKind.INVALID_INPUT);
  }

  /**
   * Returns whether a canary's failure counts against it in its rollback window: a server error
   * always, and an INVALID_INPUT failure when {@code stable} scores the same rows to finite values.
   * Only this failure path scores the rows with {@code stable}.
   */
  static boolean isCanaryError(Throwable failure, ServableModel stable, InputBatch batch) {
    if (failure == null) {
      return false;
    }
    if (isServerError(failure)) {
      return true;
    }
    try {
      FiniteScores.requireFinite(stable, batch, stable.predict(batch));
      LOG.debug(
          "Counted a canary error for model {}: stable version {} scores rows that the canary"
              + " rejected: {}",
          stable.model(),
          stable.version(),
          failure.getMessage());
      return true;
    } catch (RuntimeException e) {
      // The stable version rejects or fails these rows too, so the canary is not worse.
      return false;
    }
  }

  /**
   * Returns the largest absolute difference, infinity when the lengths differ or a score is NaN.
   */
  static double maxDifference(double[] served, double[] shadow) {
    if (served.length != shadow.length) {
      return Double.POSITIVE_INFINITY;
    }
    double max = 0;
    for (int i = 0; i < served.length; i++) {
      double difference = Math.abs(served[i] - shadow[i]);
      if (!(difference <= max)) {
        max = Double.isNaN(difference) ? Double.POSITIVE_INFINITY : difference;
      }
    }
    return max;
  }

  /**
   * Turns dynamic batching of a model on with these settings, replacing earlier ones, or off when
   * {@code spec} is null. Requests queued under earlier settings fail with UNAVAILABLE.
   */
  public void configureBatching(String model, BatchingSpec spec) {
    if (spec != null) {
      checkBatching(spec);
    }
    DynamicBatcher previous =
        spec == null
            ? batchers.remove(model)
            : batchers.put(model, new DynamicBatcher(model, spec, meters));
    if (previous != null) {
      previous.close();
    }
    LOG.info(
        "Batching of model {}: {}",
        model,
        spec == null
            ? "off"
            : "at most "
                + spec.maxBatchSize()
                + " rows, "
                + spec.maxDelayMillis()
                + " ms delay, "
                + spec.maxQueue()
                + " queued requests");
  }

  /** Returns the batching settings of each model that has batching on. */
  public Map<String, BatchingSpec> batching() {
    Map<String, BatchingSpec> settings = new java.util.TreeMap<>();
    batchers.forEach((model, batcher) -> settings.put(model, batcher.spec()));
    return settings;
  }

  static void checkBatching(BatchingSpec spec) {
    if (spec.maxBatchSize() < 1 || spec.maxBatchSize() > 100_000) {
      throw EvergreenException.invalid(
          "batching max_batch_size must be between 1 and 100000, got " + spec.maxBatchSize());
    }
    if (!(spec.maxDelayMillis() >= 0 && spec.maxDelayMillis() <= 1_000)) {
      throw EvergreenException.invalid(
          "batching max_delay_millis must be between 0 and 1000, got " + spec.maxDelayMillis());
    }
    if (spec.maxQueue() < 1 || spec.maxQueue() > 1_000_000) {
      throw EvergreenException.invalid(
          "batching max_queue must be between 1 and 1000000, got " + spec.maxQueue());
    }
  }

  /** Returns the seconds an overloaded caller should wait, for {@code Retry-After}. */
  public static int retryAfterSeconds() {
    return DynamicBatcher.RETRY_AFTER_SECONDS;
  }

  @Override
  public void close() {
    deployments.removeServingListener(meters);
    batchers.values().forEach(DynamicBatcher::close);
    batchers.clear();
    deployments.removeServingListener(shadows);
    shadows.close();
  }
}
