package dev.evergreen.server;

import dev.evergreen.core.deployment.ServingListener;
import dev.evergreen.core.deployment.ServingState;
import dev.evergreen.core.inference.MeterBuckets;
import dev.evergreen.core.serving.ServableModel;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.time.Duration;
import java.util.Collections;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Inference meters of each loaded model version: {@code evergreen.inference.requests} counts
 * requests by model, version, protocol and outcome, and {@code evergreen.inference.duration} times
 * them by model and version in a histogram with the buckets of {@link #DURATION_BUCKETS}.
 *
 * <p>Registered as a {@link ServingListener}, it registers a version's meters when the version
 * enters a serving slot, so they export 0 before the first request and a request only increments
 * meters it already holds. The deployment manager removes them from the registry when the version
 * leaves every slot. After that, a request that still scores with the version records into meters
 * that no registry exports, so the version's series do not come back.
 */
final class InferenceMetrics implements ServingListener {
  static final String REQUESTS = "evergreen.inference.requests";
  static final String DURATION = "evergreen.inference.duration";

  /**
   * Upper bounds of the request duration histogram: 10 µs, then 1, 2.5 and 5 per decade from 25 µs
   * to 10 s. A request of a few rows takes well under 1 ms, hence the low start. Fixed bounds keep
   * the buckets of all versions equal, so quantile queries can sum them.
   */
  static final Duration[] DURATION_BUCKETS = MeterBuckets.decades(Duration.ofNanos(10_000));

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

  /** Versions unloaded since this object was created, held weakly so they can be collected. */
  private final Set<ServableModel> unloaded =
      Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

  /** Meters of a version that is no longer loaded: they record into no exported registry. */
  private static final Meters[] DETACHED = metersOf(new CompositeMeterRegistry(), "", "");

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
              .serviceLevelObjectives(DURATION_BUCKETS)
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

  /**
   * Returns the meters of requests to a version through one protocol. A version that no serving
   * change announced, as in a test without a deployment manager, gets its meters registered here.
   */
  Meters of(ServableModel model, Protocol protocol) {
    Meters[] meters = byModel.get(model);
    if (meters == null) {
      meters = unloaded.contains(model) ? DETACHED : byModel.computeIfAbsent(model, this::register);
    }
    return meters[protocol.ordinal()];
  }

  @Override
  public void servingChanging(ServingState previous, ServingState next) {
    for (ServableModel model : next.models()) {
      unloaded.remove(model);
      byModel.computeIfAbsent(model, this::register);
      sampler.versionLoaded(model);
    }
  }

  @Override
  public void versionUnloaded(ServableModel version) {
    // Added to the set before the map drops it, so a concurrent of() without a map entry finds it.
    unloaded.add(version);
    byModel.remove(version);
    sampler.versionUnloaded(version);
  }

  private Meters[] register(ServableModel model) {
    return metersOf(registry, model.model(), Integer.toString(model.version()));
  }

  private static Meters[] metersOf(MeterRegistry registry, String model, String version) {
    Protocol[] protocols = Protocol.values();
    Meters[] meters = new Meters[protocols.length];
    for (Protocol protocol : protocols) {
      meters[protocol.ordinal()] = new Meters(registry, model, version, protocol);
    }
    return meters;
  }
}
