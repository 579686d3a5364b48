package dev.evergreen.server;

import dev.evergreen.core.serving.ServableModel;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Inference meters, registered once per loaded model version so that a request only increments
 * meters it already holds: {@code evergreen.inference.requests} counts requests by model, version,
 * protocol and outcome, and {@code evergreen.inference.duration} times them by model and version
 * with a percentile histogram.
 */
final class InferenceMetrics {
  static final String REQUESTS = "evergreen.inference.requests";
  static final String DURATION = "evergreen.inference.duration";

  /** The API an inference request came through, the {@code protocol} tag of the request counter. */
  enum Protocol {
    /** Open Inference Protocol (KServe V2) REST under {@code /v2}. */
    V2("v2"),
    /** KServe V1 prediction under {@code /v1}. */
    KSERVE_V1("v1"),
    /** MLflow scoring server format at {@code /invocations}. */
    MLFLOW("mlflow"),
    /** Open Inference Protocol (KServe V2) gRPC, {@code inference.GRPCInferenceService}. */
    GRPC("grpc");

    final String tag;

    Protocol(String tag) {
      this.tag = tag;
    }
  }

  private final MeterRegistry registry;

  /** Meters of each model version, indexed by {@link Protocol#ordinal()}. */
  private final ConcurrentHashMap<ServableModel, Meters[]> byModel = new ConcurrentHashMap<>();

  /** Meters of one model version. */
  static final class Meters {
    final Counter ok;
    final Counter invalid;
    final Counter rejected;
    final Counter error;
    final Timer duration;

    private Meters(MeterRegistry registry, String model, String version, Protocol protocol) {
      ok = counter(registry, model, version, protocol, "ok");
      invalid = counter(registry, model, version, protocol, "invalid");
      rejected = counter(registry, model, version, protocol, "rejected");
      error = counter(registry, model, version, protocol, "error");
      // Every protocol of one version shares this timer: Micrometer returns the registered meter
      // when the name and tags repeat.
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
        MeterRegistry registry, String model, String version, Protocol protocol, String outcome) {
      return Counter.builder(REQUESTS)
          .description("Inference requests by protocol and outcome")
          .tags("model", model, "version", version, "protocol", protocol.tag, "outcome", outcome)
          .register(registry);
    }

    void record(Counter outcome, long startNanos) {
      outcome.increment();
      duration.record(System.nanoTime() - startNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }
  }

  private final PredictionSampler sampler;

  InferenceMetrics(MeterRegistry registry, PredictionSampler sampler) {
    this.registry = registry;
    this.sampler = sampler;
  }

  /** Returns the sampler of scored rows that every inference protocol feeds. */
  PredictionSampler sampler() {
    return sampler;
  }

  /** Returns the meters of Open Inference Protocol (V2) requests to a model version. */
  Meters of(ServableModel model) {
    return of(model, Protocol.V2);
  }

  Meters of(ServableModel model, Protocol protocol) {
    Meters[] meters = byModel.get(model);
    if (meters == null) {
      meters = byModel.computeIfAbsent(model, this::register);
    }
    return meters[protocol.ordinal()];
  }

  private Meters[] register(ServableModel model) {
    String version = Integer.toString(model.version());
    Protocol[] protocols = Protocol.values();
    Meters[] meters = new Meters[protocols.length];
    for (Protocol protocol : protocols) {
      meters[protocol.ordinal()] = new Meters(registry, model.model(), version, protocol);
    }
    return meters;
  }
}
