package dev.evergreen.server;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.deployment.DeploymentManager;
import dev.evergreen.core.deployment.ServingState;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.TensorSpec;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Open Inference Protocol (KServe V2) REST endpoints: health, server and model metadata, model
 * readiness and inference.
 *
 * <p>Inference runs on the event loop, because decoding, scoring and encoding one request takes
 * microseconds. It reads the model's {@link ServingState} once, so every row of a response and its
 * {@code model_version} come from the same version even while a deploy switches versions.
 */
final class InferenceApi {
  static final String SERVER_NAME = "evergreen";

  private static final CharSequence JSON_TYPE = HttpHeaders.createOptimized("application/json");

  private final Vertx vertx;
  private final Evergreen evergreen;
  private final DeploymentManager deployments;
  private final InferenceMetrics metrics;
  private final Readiness readiness;

  InferenceApi(Vertx vertx, Evergreen evergreen, InferenceMetrics metrics, Readiness readiness) {
    this.vertx = vertx;
    this.evergreen = evergreen;
    this.deployments = evergreen.deployments();
    this.metrics = metrics;
    this.readiness = readiness;
  }

  static String serverVersion() {
    String version = InferenceApi.class.getPackage().getImplementationVersion();
    return version == null ? "development" : version;
  }

  void live(RoutingContext ctx) {
    sendJson(ctx, 200, Map.of("live", true));
  }

  /**
   * Responds 200 when the server is ready (see {@link Readiness}), else 503 saying why: it is
   * shutting down, or names the models with a champion alias and no version serving.
   */
  void ready(RoutingContext ctx) {
    vertx
        .executeBlocking(readiness::notReadyReason, false)
        .onComplete(
            result -> {
              if (result.failed()) {
                ctx.fail(result.cause());
              } else if (result.result() == null) {
                sendJson(ctx, 200, Map.of("ready", true));
              } else {
                HttpErrors.send(ctx, 503, result.result());
              }
            });
  }

  void serverMetadata(RoutingContext ctx) {
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("name", SERVER_NAME);
    metadata.put("version", serverVersion());
    metadata.put("extensions", List.of());
    sendJson(ctx, 200, metadata);
  }

  void modelMetadata(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    ServingState state = deployments.serving(name).orElse(null);
    if (state == null) {
      notServing(ctx, name);
      return;
    }
    ServableModel model = select(ctx, state);
    if (model == null) {
      return;
    }
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("name", name);
    metadata.put("versions", addressableVersions(state));
    metadata.put("platform", model.platform());
    metadata.put("inputs", tensors(model.signature().inputs()));
    metadata.put("outputs", tensors(model.signature().outputs()));
    sendJson(ctx, 200, metadata);
  }

  /**
   * Returns the versions that a request may name in {@code /versions/{version}}, in ascending
   * order: the active, canary, standby and shadow versions. The Open Inference Protocol defines the
   * {@code versions} of model metadata as the versions that can be requested explicitly.
   */
  static List<String> addressableVersions(ServingState state) {
    return state.models().stream()
        .mapToInt(ServableModel::version)
        .distinct()
        .sorted()
        .mapToObj(Integer::toString)
        .toList();
  }

  private static List<Map<String, Object>> tensors(List<TensorSpec> specs) {
    List<Map<String, Object>> tensors = new ArrayList<>(specs.size());
    for (TensorSpec spec : specs) {
      Map<String, Object> tensor = new LinkedHashMap<>();
      tensor.put("name", spec.name());
      tensor.put("datatype", spec.datatype());
      tensor.put("shape", spec.shape());
      tensors.add(tensor);
    }
    return tensors;
  }

  void modelReady(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    ServingState state = deployments.serving(name).orElse(null);
    if (state == null) {
      notServing(ctx, name);
      return;
    }
    ServableModel model = select(ctx, state);
    if (model == null) {
      return;
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("name", name);
    body.put("version", Integer.toString(model.version()));
    body.put("ready", true);
    sendJson(ctx, 200, body);
  }

  void infer(RoutingContext ctx) {
    long start = System.nanoTime();
    String name = ctx.pathParam("name");
    ServingState state = deployments.serving(name).orElse(null);
    if (state == null) {
      notServing(ctx, name);
      return;
    }
    String versionText = ctx.pathParam("version");
    Integer version = null;
    if (versionText != null) {
      version = parseVersion(ctx, versionText);
      if (version == null) {
        return;
      }
    }
    Buffer body = ctx.body().buffer();
    byte[] bytes = body == null ? new byte[0] : body.getBytes();
    Scoring<InferenceRequestDecoder.Decoded> scoring =
        new Scoring<>(
            evergreen.router(),
            metrics,
            InferenceMetrics.Protocol.V2,
            model -> InferenceRequestDecoder.decode(bytes, model),
            InferenceRequestDecoder.Decoded::batch);
    scoring.run(
        vertx,
        state,
        version,
        ctx.request().getHeader(Scoring.keyHeader(state)),
        start,
        bytes.length,
        (model, request, scores) ->
            ctx.response()
                .setStatusCode(200)
                .putHeader(HttpHeaders.CONTENT_TYPE, JSON_TYPE)
                .end(encode(model, request, scores)),
        ctx::fail);
  }

  /**
   * Writes {@code {"model_name", "model_version", "id"?, "outputs": [{"name", "shape", "datatype",
   * "data"}]}} with the scores as one FP64 tensor, shaped {@code [rows]} for one value per row and
   * {@code [rows, width]} otherwise. When the request names {@code outputs}, only those are
   * written, so an empty list gives an empty {@code outputs} array.
   */
  static Buffer encode(
      ServableModel model, InferenceRequestDecoder.Decoded request, double[] scores) {
    int rows = request.batch().rows();
    int width = model.outputWidth();
    List<TensorSpec> outputs = model.signature().outputs();
    String outputName = outputs.isEmpty() ? "output" : outputs.get(0).name();
    boolean matrix = width > 1 || (!outputs.isEmpty() && outputs.get(0).shape().size() > 1);
    ByteArrayBuilder bytes = new ByteArrayBuilder(128 + scores.length * 20);
    try (JsonGenerator json = Json.FACTORY.createGenerator(bytes)) {
      json.writeStartObject();
      json.writeStringField("model_name", model.model());
      json.writeStringField("model_version", Integer.toString(model.version()));
      if (request.id() != null) {
        json.writeStringField("id", request.id());
      }
      json.writeArrayFieldStart("outputs");
      if (request.outputs() == null || request.outputs().contains(outputName)) {
        writeScores(json, outputName, rows, matrix ? width : -1, scores);
      }
      json.writeEndArray();
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Buffer.buffer(bytes.toByteArray());
  }

  /** Writes one FP64 output tensor; {@code width} is -1 for shape {@code [rows]}. */
  private static void writeScores(
      JsonGenerator json, String outputName, int rows, int width, double[] scores)
      throws IOException {
    json.writeStartObject();
    json.writeStringField("name", outputName);
    json.writeArrayFieldStart("shape");
    json.writeNumber(rows);
    if (width >= 0) {
      json.writeNumber(width);
    }
    json.writeEndArray();
    json.writeStringField("datatype", "FP64");
    json.writeArrayFieldStart("data");
    for (double score : scores) {
      json.writeNumber(score);
    }
    json.writeEndArray();
    json.writeEndObject();
  }

  /**
   * Returns the model of the request's version, the active one when the path names no version. When
   * the version is not loaded, sends 404 naming the loaded versions and returns null.
   */
  private static ServableModel select(RoutingContext ctx, ServingState state) {
    String versionText = ctx.pathParam("version");
    if (versionText == null) {
      return state.active();
    }
    Integer version = parseVersion(ctx, versionText);
    if (version == null) {
      return null;
    }
    ServableModel loaded = state.loaded(version);
    if (loaded != null) {
      return loaded;
    }
    HttpErrors.send(
        ctx,
        404,
        "version "
            + version
            + " of model '"
            + state.active().model()
            + "' is not loaded; loaded versions: "
            + DeploymentManager.loadedVersions(state));
    return null;
  }

  /** Returns the version number in a path, or sends 400 and returns null when it is not one. */
  private static Integer parseVersion(RoutingContext ctx, String versionText) {
    try {
      return Integer.parseInt(versionText);
    } catch (NumberFormatException e) {
      HttpErrors.send(
          ctx,
          400,
          "model version '"
              + InferenceRequestDecoder.abbreviate(versionText)
              + "' is not a number; versions are counted from 1");
      return null;
    }
  }

  /** Responds to a request for a model with no serving version: 404 if unregistered, else 503. */
  private void notServing(RoutingContext ctx, String name) {
    vertx
        .executeBlocking(() -> evergreen.registry().versions(name).isEmpty(), false)
        .onComplete(
            result -> {
              if (result.failed()) {
                ctx.fail(result.cause());
              } else if (result.result()) {
                HttpErrors.send(
                    ctx,
                    404,
                    "model '"
                        + InferenceRequestDecoder.abbreviate(name)
                        + "' not found; list models with GET /api/v1/models");
              } else {
                HttpErrors.send(
                    ctx,
                    503,
                    "model '"
                        + name
                        + "' has no version serving; deploy one with POST /api/v1/models/"
                        + name
                        + "/deploy");
              }
            });
  }

  private static void sendJson(RoutingContext ctx, int status, Object body) {
    MultiMap headers = ctx.response().headers();
    headers.set(HttpHeaders.CONTENT_TYPE, JSON_TYPE);
    ctx.response().setStatusCode(status).end(Json.encode(body));
  }
}
