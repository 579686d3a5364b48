package dev.evergreen.core.pipeline;

import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.validation.Anomaly;
import dev.evergreen.api.validation.FeatureDrift;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Pipeline meters. Micrometer's Prometheus naming turns them into {@code
 * evergreen_pipeline_runs_total}, {@code evergreen_pipeline_step_duration_seconds}, {@code
 * evergreen_validation_failures_total} and {@code evergreen_feature_drift_psi}.
 */
final class PipelineMetrics {
  private final MeterRegistry meters;

  // Gauge values, as raw double bits, by pipeline and feature.
  private final Map<String, AtomicLong> psi = new ConcurrentHashMap<>();

  PipelineMetrics(MeterRegistry meters) {
    this.meters = meters;
  }

  void runFinished(String pipeline, RunOutcome outcome) {
    Counter.builder("evergreen.pipeline.runs")
        .description("Finished pipeline runs by outcome")
        .tag("pipeline", pipeline)
        .tag("outcome", outcome.name().toLowerCase(Locale.ROOT))
        .register(meters)
        .increment();
  }

  void step(String pipeline, String step, long nanos) {
    Timer.builder("evergreen.pipeline.step.duration")
        .description("Duration of pipeline steps")
        .tag("pipeline", pipeline)
        .tag("step", step)
        .register(meters)
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  void validationFailure(String pipeline, Anomaly anomaly) {
    Counter.builder("evergreen.validation.failures")
        .description("Violated validation rules")
        .tag("pipeline", pipeline)
        .tag("column", anomaly.column())
        .tag("rule", anomaly.rule())
        .tag("severity", anomaly.severity().text())
        .register(meters)
        .increment();
  }

  void drift(String pipeline, FeatureDrift drift) {
    AtomicLong holder =
        psi.computeIfAbsent(
            pipeline + "\u0000" + drift.feature(),
            key -> {
              AtomicLong bits = new AtomicLong(Double.doubleToLongBits(Double.NaN));
              Gauge.builder(
                      "evergreen.feature.drift.psi", bits, b -> Double.longBitsToDouble(b.get()))
                  .description("Population stability index of a feature in the latest batch")
                  .tag("pipeline", pipeline)
                  .tag("feature", drift.feature())
                  .register(meters);
              return bits;
            });
    holder.set(Double.doubleToLongBits(drift.psi()));
  }
}
