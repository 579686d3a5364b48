package dev.evergreen.server;

import dev.evergreen.core.serving.ServableModel;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Inference meters, registered once per loaded model version so that a request only increments
 * meters it already holds: {@code evergreen.inference.requests} counts requests by model, version
 * and outcome, and {@code evergreen.inference.duration} times them with a percentile histogram.
 */
final class InferenceMetrics {
  static final String REQUESTS = "evergreen.inference.requests";
  static final String DURATION = "evergreen.inference.duration";

  private final MeterRegistry registry;
  private final ConcurrentHashMap<ServableModel, Meters> byModel = new ConcurrentHashMap<>();

  /** Meters of one model version. */
  static final class Meters {
    final Counter ok;
    final Counter invalid;
    final Counter error;
    final Timer duration;

    private Meters(MeterRegistry registry, String model, String version) {
      ok = counter(registry, model, version, "ok");
      invalid = counter(registry, model, version, "invalid");
      error = counter(registry, model, version, "error");
      duration =
          Timer.builder(DURATION)
              .description("Time to decode, score and encode an inference request")
              .tags("model", model, "version", version)
              .publishPercentileHistogram()
              // Single-row scoring takes microseconds, below the default 1 ms lowest bucket.
              .minimumExpectedValue(Duration.ofNanos(10_000))
              .maximumExpectedValue(Duration.ofSeconds(10))
              .register(registry);
    }

    private static Counter counter(
        MeterRegistry registry, String model, String version, String outcome) {
      return Counter.builder(REQUESTS)
          .description("Inference requests by outcome")
          .tags("model", model, "version", version, "outcome", outcome)
          .register(registry);
    }

    void record(Counter outcome, long startNanos) {
      outcome.increment();
      duration.record(System.nanoTime() - startNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }
  }

  InferenceMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  Meters of(ServableModel model) {
    Meters meters = byModel.get(model);
    if (meters != null) {
      return meters;
    }
    return byModel.computeIfAbsent(
        model, m -> new Meters(registry, m.model(), Integer.toString(m.version())));
  }
}
