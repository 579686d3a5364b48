package dev.evergreen.server;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.deployment.ServingState;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.TensorSpec;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Scoring for the KServe V1 and MLflow scoring endpoints: finds the serving version of a model,
 * decodes the body into rows, scores them and sends {@code {"predictions": [...]}}.
 *
 * <p>Like V2 inference, scoring runs on the event loop, or on a worker thread for a large body (see
 * {@link Scoring#LARGE_REQUEST_BYTES}), and reads the model's {@link ServingState} once, so every
 * prediction of a response comes from one version.
 */
final class TabularInference {
  private final Vertx vertx;
  private final Evergreen evergreen;
  private final InferenceMetrics metrics;

  TabularInference(Vertx vertx, Evergreen evergreen, InferenceMetrics metrics) {
    this.vertx = vertx;
    this.evergreen = evergreen;
    this.metrics = metrics;
  }

  /**
   * Scores the request body with the serving version of {@code name} and sends the predictions, or
   * fails the request with 400 for an invalid body, 404 for an unknown model and 503 for a model
   * with no serving version.
   *
   * @param decoder reads the request into rows for the model's signature; throws {@link
   *     EvergreenException} INVALID_INPUT for a body that does not fit
   */
  void predict(
      RoutingContext ctx,
      String name,
      InferenceMetrics.Protocol protocol,
      Function<ServableModel, InputBatch> decoder) {
    long start = System.nanoTime();
    ServingState state = evergreen.deployments().serving(name).orElse(null);
    if (state == null) {
      notServing(ctx, name);
      return;
    }
    Scoring<InputBatch> scoring =
        new Scoring<>(evergreen.router(), metrics, protocol, decoder, batch -> batch);
    scoring.run(
        vertx,
        state,
        null,
        ctx.request().getHeader(Scoring.keyHeader(state)),
        start,
        ctx.body().length(),
        (model, batch, scores) ->
            ctx.response()
                .setStatusCode(200)
                .putHeader(HttpErrors.CONTENT_TYPE, HttpErrors.APPLICATION_JSON)
                .end(encode(model, batch.rows(), scores)),
        ctx::fail);
  }

  /**
   * Writes {@code {"predictions": [...]}}: one number per row when the V2 output of the model has
   * shape {@code [rows]}, else one array of {@code outputWidth} numbers per row.
   */
  static Buffer encode(ServableModel model, int rows, double[] scores) {
    int width = model.outputWidth();
    List<TensorSpec> outputs = model.signature().outputs();
    boolean perRowArrays = width > 1 || (!outputs.isEmpty() && outputs.get(0).shape().size() > 1);
    ByteArrayBuilder bytes = new ByteArrayBuilder(32 + scores.length * 20);
    try (JsonGenerator json = Json.FACTORY.createGenerator(bytes)) {
      json.writeStartObject();
      json.writeArrayFieldStart("predictions");
      for (int row = 0; row < rows; row++) {
        if (perRowArrays) {
          json.writeStartArray();
          for (int i = 0; i < width; i++) {
            json.writeNumber(scores[row * width + i]);
          }
          json.writeEndArray();
        } else {
          json.writeNumber(scores[row]);
        }
      }
      json.writeEndArray();
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Buffer.buffer(bytes.toByteArray());
  }

  /** Returns whether a version of the model serves now. */
  boolean serves(String name) {
    return evergreen.deployments().serving(name).isPresent();
  }

  /**
   * Returns the names of the models with a serving version. It reads the registry, so it blocks.
   */
  List<String> servingModels() {
    List<String> serving = new ArrayList<>();
    for (String model : evergreen.registry().models()) {
      if (serves(model)) {
        serving.add(model);
      }
    }
    return serving;
  }

  /** Fails a request for a model with no serving version: 404 if unregistered, else 503. */
  void notServing(RoutingContext ctx, String name) {
    vertx
        .executeBlocking(() -> evergreen.registry().versions(name).isEmpty(), false)
        .onComplete(
            result -> {
              if (result.failed()) {
                ctx.fail(result.cause());
              } else if (result.result()) {
                ctx.fail(
                    new EvergreenException(
                        ErrorKind.NOT_FOUND,
                        "model '"
                            + InferenceRequestDecoder.abbreviate(name)
                            + "' not found; list models with GET /api/v1/models"));
              } else {
                ctx.fail(
                    new EvergreenException(
                        ErrorKind.UNAVAILABLE,
                        "model '"
                            + name
                            + "' has no version serving; deploy one with POST /api/v1/models/"
                            + name
                            + "/deploy"));
              }
            });
  }
}
