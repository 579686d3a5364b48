package dev.evergreen.server;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.CanarySpec;
import dev.evergreen.core.deployment.Canary;
import dev.evergreen.core.deployment.ServingState;
import dev.evergreen.core.inference.InferenceRouter;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Scores one decoded request for any protocol: picks the version through the {@link
 * InferenceRouter}, decodes the body for that version's signature, scores, samples the rows for
 * skew, records the protocol's meters and hands the result back on the request's event loop.
 *
 * @param <T> the protocol's decoded request
 */
final class Scoring<T> {
  private final InferenceRouter router;
  private final InferenceMetrics metrics;
  private final InferenceMetrics.Protocol protocol;
  private final Function<ServableModel, T> decoder;
  private final Function<T, InputBatch> batchOf;

  /** Receives the scores of a request. */
  interface Responder<T> {
    void respond(ServableModel model, T request, double[] scores);
  }

  /**
   * @param decoder reads the body for a version's signature; throws {@link EvergreenException}
   *     INVALID_INPUT naming the input when it does not fit
   */
  Scoring(
      InferenceRouter router,
      InferenceMetrics metrics,
      InferenceMetrics.Protocol protocol,
      Function<ServableModel, T> decoder,
      Function<T, InputBatch> batchOf) {
    this.router = router;
    this.metrics = metrics;
    this.protocol = protocol;
    this.decoder = decoder;
    this.batchOf = batchOf;
  }

  /** Returns the routing key header of a model's canary, or the default one. */
  static String keyHeader(ServingState state) {
    Canary canary = state.canary();
    return canary == null ? CanarySpec.DEFAULT.keyHeader() : canary.spec().keyHeader();
  }

  /**
   * Request bodies from this size on are decoded and scored on a worker thread: 256 KiB, about
   * 2,500 rows of four inputs, which take a few milliseconds. On the event loop they would hold up
   * every other request of that loop, health checks included.
   */
  static final int LARGE_REQUEST_BYTES = 256 * 1024;

  /**
   * Scores the request and calls {@code respond} or {@code fail} once, on the event loop of {@code
   * vertx}'s current context.
   *
   * @param version the version the request names, null for the routed one
   * @param headerKey value of the routing key header, null when absent
   * @param requestBytes size of the request body, which decides where it is decoded
   */
  void run(
      Vertx vertx,
      ServingState state,
      Integer version,
      String headerKey,
      long startNanos,
      int requestBytes,
      Responder<T> respond,
      Consumer<Throwable> fail) {
    Context context = vertx.getOrCreateContext();
    if (requestBytes < LARGE_REQUEST_BYTES) {
      score(context, false, state, version, headerKey, startNanos, respond, fail);
      return;
    }
    context.executeBlocking(
        () -> {
          score(context, true, state, version, headerKey, startNanos, respond, fail);
          return null;
        },
        false);
  }

  /**
   * Decodes, routes and scores on the calling thread, and finishes on {@code context}: at once when
   * the scores are ready on the calling event loop, else through the context.
   *
   * @param offloaded whether the calling thread is a worker rather than the context's event loop
   */
  private void score(
      Context context,
      boolean offloaded,
      ServingState state,
      Integer version,
      String headerKey,
      long startNanos,
      Responder<T> respond,
      Consumer<Throwable> fail) {
    InferenceRouter.Route route;
    T request;
    // An empty header is no key, as a missing one, so that such callers are split as unkeyed.
    String key = headerKey == null || headerKey.isBlank() ? null : headerKey;
    try {
      String keyInput = state.canary() == null ? null : state.canary().spec().keyInput();
      if (key == null && version == null && keyInput != null) {
        // The key is read from the rows, so they are decoded before routing. Routing runs once,
        // because a request without a key advances the count that splits unkeyed requests.
        T probe = decoder.apply(state.active());
        key = InferenceRouter.inputKey(batchOf.apply(probe), keyInput);
        route = router.route(state, null, key);
        request = route.model() == state.active() ? probe : decoder.apply(route.model());
      } else {
        route = router.route(state, version, key);
        request = decoder.apply(route.model());
      }
    } catch (RuntimeException e) {
      Runnable failed =
          () -> {
            InferenceMetrics.Meters meters = metrics.of(state.active(), protocol);
            meters.record(outcome(meters, e), startNanos);
            fail.accept(e);
          };
      if (offloaded) {
        context.runOnContext(ignored -> failed.run());
      } else {
        failed.run();
      }
      return;
    }
    ServableModel model = route.model();
    InferenceMetrics.Meters meters = metrics.of(model, protocol);
    InputBatch batch = batchOf.apply(request);
    T decoded = request;
    Thread caller = Thread.currentThread();
    router
        .score(route, batch, key, startNanos)
        .whenComplete(
            (scores, failure) -> {
              Runnable finish =
                  () -> {
                    if (failure != null) {
                      Throwable cause = unwrap(failure);
                      meters.record(outcome(meters, cause), startNanos);
                      fail.accept(cause);
                      return;
                    }
                    try {
                      respond.respond(model, decoded, scores);
                    } catch (RuntimeException e) {
                      meters.record(meters.error, startNanos);
                      fail.accept(e);
                      return;
                    }
                    meters.record(meters.ok, startNanos);
                    metrics.sampler().sample(model, batch);
                  };
              if (!offloaded && Thread.currentThread() == caller) {
                finish.run();
              } else {
                context.runOnContext(ignored -> finish.run());
              }
            });
  }

  private static Throwable unwrap(Throwable failure) {
    return failure instanceof CompletionException && failure.getCause() != null
        ? failure.getCause()
        : failure;
  }

  /** Returns the counter of a failed request: invalid input, rejected as overloaded, or error. */
  private static io.micrometer.core.instrument.Counter outcome(
      InferenceMetrics.Meters meters, Throwable e) {
    if (e instanceof EvergreenException failure) {
      if (failure.kind() == ErrorKind.INVALID_INPUT) {
        return meters.invalid;
      }
      if (failure.kind() == ErrorKind.UNAVAILABLE) {
        return meters.rejected;
      }
    }
    return meters.error;
  }
}
