package dev.evergreen.core.inference;

import dev.evergreen.core.deployment.ServingListener;
import dev.evergreen.core.deployment.ServingState;
import dev.evergreen.core.serving.ServableModel;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.time.Duration;
import java.util.Collections;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Scoring meters of each loaded model version, registered when the version enters a serving slot so
 * that dashboards show 0 before its first request, and so that a request only updates meters it
 * already holds.
 *
 * <ul>
 *   <li>{@code evergreen.inference.queue}: time a request waited for its batch, batched models
 *       only;
 *   <li>{@code evergreen.inference.compute}: time to score one batch;
 *   <li>{@code evergreen.inference.batch.size}: rows per scored batch;
 *   <li>{@code evergreen.inference.rejected}: requests refused because the queue was full;
 *   <li>{@code evergreen.shadow.comparisons}: shadow scorings by outcome ({@code agree}, {@code
 *       disagree}, {@code error}, {@code dropped}), tagged with the shadow's version and registered
 *       only for a version that runs as a shadow;
 *   <li>{@code evergreen.shadow.difference}: largest absolute score difference per shadowed
 *       request, registered with the shadow counters.
 * </ul>
 *
 * <p>The deployment manager removes a version's meters from the registry when the version leaves
 * every slot. After that, this class hands a request that still scores with the version meters that
 * no registry exports, so the version's series do not come back.
 */
final class InferenceMeters implements ServingListener {
  /**
   * Upper bounds of the histogram buckets of the queue and compute timers: 1, 2.5 and 5 per decade
   * from 1 µs to 10 s. Scoring a few rows takes microseconds, hence the low start. Fixed bounds
   * keep the buckets of all versions equal, so quantile queries can sum them across versions.
   */
  static final Duration[] LATENCY_BUCKETS = MeterBuckets.decades(Duration.ofNanos(1_000));

  /**
   * Upper bounds of the batch size histogram in rows: the powers of 2 up to 65,536. Batching takes
   * at most 100,000 rows per batch. A larger batch, possible without batching, counts in the {@code
   * +Inf} bucket only.
   */
  static final double[] BATCH_SIZE_BUCKETS = batchSizeBuckets();

  /** Meters of a version that is no longer loaded: they record into no exported registry. */
  private static final Meters DETACHED = new Meters(new CompositeMeterRegistry(), "", "");

  private static final ShadowMeters DETACHED_SHADOW =
      new ShadowMeters(new CompositeMeterRegistry(), "", "");

  private final MeterRegistry registry;
  private final ConcurrentHashMap<ServableModel, Meters> byModel = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<ServableModel, ShadowMeters> byShadow = new ConcurrentHashMap<>();

  /** Versions unloaded since this object was created, held weakly so they can be collected. */
  private final Set<ServableModel> unloaded =
      Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

  /** Meters of one model version. */
  static final class Meters {
    final Timer queue;
    final Timer compute;
    final DistributionSummary batchSize;
    final Counter rejected;

    private Meters(MeterRegistry registry, String model, String version) {
      queue =
          Timer.builder("evergreen.inference.queue")
              .description("Time a request waited in its model's batching queue")
              .tags("model", model, "version", version)
              .serviceLevelObjectives(LATENCY_BUCKETS)
              .register(registry);
      compute =
          Timer.builder("evergreen.inference.compute")
              .description("Time to score one batch of rows")
              .tags("model", model, "version", version)
              .serviceLevelObjectives(LATENCY_BUCKETS)
              .register(registry);
      batchSize =
          DistributionSummary.builder("evergreen.inference.batch.size")
              .description("Rows per scored batch")
              .baseUnit("rows")
              .tags("model", model, "version", version)
              .serviceLevelObjectives(BATCH_SIZE_BUCKETS)
              .register(registry);
      rejected =
          Counter.builder("evergreen.inference.rejected")
              .description("Requests refused with 503 because the batching queue was full")
              .tags("model", model, "version", version)
              .register(registry);
    }

    void recordCompute(int rows, long nanos) {
      compute.record(nanos, TimeUnit.NANOSECONDS);
      batchSize.record(rows);
    }
  }

  /** Meters of a version that runs as a shadow. */
  static final class ShadowMeters {
    final Counter agree;
    final Counter disagree;
    final Counter error;
    final Counter dropped;
    final DistributionSummary difference;

    private ShadowMeters(MeterRegistry registry, String model, String version) {
      agree = comparisons(registry, model, version, "agree");
      disagree = comparisons(registry, model, version, "disagree");
      error = comparisons(registry, model, version, "error");
      dropped = comparisons(registry, model, version, "dropped");
      difference =
          DistributionSummary.builder("evergreen.shadow.difference")
              .description("Largest absolute difference between shadow and served scores")
              .tags("model", model, "version", version)
              .register(registry);
    }

    private static Counter comparisons(
        MeterRegistry registry, String model, String version, String outcome) {
      return Counter.builder("evergreen.shadow.comparisons")
          .description("Requests scored by a shadow version, by comparison outcome")
          .tags("model", model, "version", version, "outcome", outcome)
          .register(registry);
    }
  }

  InferenceMeters(MeterRegistry registry) {
    this.registry = registry;
  }

  /**
   * Returns the meters of a version. A version that no serving change announced, as in a test that
   * scores without a deployment manager, gets its meters registered here.
   */
  Meters of(ServableModel model) {
    Meters meters = byModel.get(model);
    if (meters != null) {
      return meters;
    }
    if (unloaded.contains(model)) {
      return DETACHED;
    }
    return byModel.computeIfAbsent(model, this::register);
  }

  /** Returns the shadow meters of a version, registered as {@link #of} registers meters. */
  ShadowMeters shadowOf(ServableModel model) {
    ShadowMeters meters = byShadow.get(model);
    if (meters != null) {
      return meters;
    }
    if (unloaded.contains(model)) {
      return DETACHED_SHADOW;
    }
    return byShadow.computeIfAbsent(model, this::registerShadow);
  }

  @Override
  public void servingChanging(ServingState previous, ServingState next) {
    for (ServableModel model : next.models()) {
      unloaded.remove(model);
      byModel.computeIfAbsent(model, this::register);
    }
    if (next.shadow() != null) {
      byShadow.computeIfAbsent(next.shadow().model(), this::registerShadow);
    }
  }

  @Override
  public void versionUnloaded(ServableModel version) {
    // Added to the set before the maps drop it, so a concurrent of() without a map entry finds it.
    unloaded.add(version);
    byModel.remove(version);
    byShadow.remove(version);
  }

  private Meters register(ServableModel model) {
    return new Meters(registry, model.model(), Integer.toString(model.version()));
  }

  private ShadowMeters registerShadow(ServableModel model) {
    return new ShadowMeters(registry, model.model(), Integer.toString(model.version()));
  }

  private static double[] batchSizeBuckets() {
    double[] buckets = new double[17];
    for (int i = 0; i < buckets.length; i++) {
      buckets[i] = 1 << i;
    }
    return buckets;
  }
}
