package dev.evergreen.core.inference;

import dev.evergreen.core.serving.ServableModel;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Scoring meters of each loaded model version, registered once so that a request only updates
 * meters it already holds.
 *
 * <ul>
 *   <li>{@code evergreen.inference.queue}: time a request waited for its batch, batched models
 *       only;
 *   <li>{@code evergreen.inference.compute}: time to score one batch;
 *   <li>{@code evergreen.inference.batch.size}: rows per scored batch;
 *   <li>{@code evergreen.inference.rejected}: requests refused because the queue was full;
 *   <li>{@code evergreen.shadow.comparisons}: shadow scorings by outcome ({@code agree}, {@code
 *       disagree}, {@code error}, {@code dropped}), tagged with the shadow's version;
 *   <li>{@code evergreen.shadow.difference}: largest absolute score difference per shadowed
 *       request.
 * </ul>
 */
final class InferenceMeters {
  private final MeterRegistry registry;
  private final ConcurrentHashMap<ServableModel, Meters> byModel = new ConcurrentHashMap<>();

  /** Meters of one model version. */
  static final class Meters {
    final Timer queue;
    final Timer compute;
    final DistributionSummary batchSize;
    final Counter rejected;
    final Counter shadowAgree;
    final Counter shadowDisagree;
    final Counter shadowError;
    final Counter shadowDropped;
    final DistributionSummary shadowDifference;

    private Meters(MeterRegistry registry, String model, String version) {
      queue =
          Timer.builder("evergreen.inference.queue")
              .description("Time a request waited in its model's batching queue")
              .tags("model", model, "version", version)
              .publishPercentileHistogram()
              .minimumExpectedValue(Duration.ofNanos(1_000))
              .maximumExpectedValue(Duration.ofSeconds(10))
              .register(registry);
      compute =
          Timer.builder("evergreen.inference.compute")
              .description("Time to score one batch of rows")
              .tags("model", model, "version", version)
              .publishPercentileHistogram()
              .minimumExpectedValue(Duration.ofNanos(1_000))
              .maximumExpectedValue(Duration.ofSeconds(10))
              .register(registry);
      batchSize =
          DistributionSummary.builder("evergreen.inference.batch.size")
              .description("Rows per scored batch")
              .baseUnit("rows")
              .tags("model", model, "version", version)
              .publishPercentileHistogram()
              .minimumExpectedValue(1.0)
              .maximumExpectedValue(100_000.0)
              .register(registry);
      rejected =
          Counter.builder("evergreen.inference.rejected")
              .description("Requests refused with 503 because the batching queue was full")
              .tags("model", model, "version", version)
              .register(registry);
      shadowAgree = shadow(registry, model, version, "agree");
      shadowDisagree = shadow(registry, model, version, "disagree");
      shadowError = shadow(registry, model, version, "error");
      shadowDropped = shadow(registry, model, version, "dropped");
      shadowDifference =
          DistributionSummary.builder("evergreen.shadow.difference")
              .description("Largest absolute difference between shadow and served scores")
              .tags("model", model, "version", version)
              .register(registry);
    }

    private static Counter shadow(
        MeterRegistry registry, String model, String version, String outcome) {
      return Counter.builder("evergreen.shadow.comparisons")
          .description("Requests scored by a shadow version, by comparison outcome")
          .tags("model", model, "version", version, "outcome", outcome)
          .register(registry);
    }

    void recordCompute(int rows, long nanos) {
      compute.record(nanos, TimeUnit.NANOSECONDS);
      batchSize.record(rows);
    }
  }

  InferenceMeters(MeterRegistry registry) {
    this.registry = registry;
  }

  Meters of(ServableModel model) {
    Meters meters = byModel.get(model);
    if (meters == null) {
      meters =
          byModel.computeIfAbsent(
              model, m -> new Meters(registry, m.model(), Integer.toString(m.version())));
    }
    return meters;
  }
}
