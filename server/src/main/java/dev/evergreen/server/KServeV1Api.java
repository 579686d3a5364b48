package dev.evergreen.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.security.Role;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * KServe V1 prediction protocol: {@code POST /v1/models/{name}:predict} scores with the serving
 * version and {@code GET /v1/models/{name}} reports readiness. Both require the viewer role, as V2
 * inference does, and errors have the body {@code {"error": "..."}}.
 *
 * <p>A predict body is {@code {"instances": [row, ...]}}, each row an object keyed by input name or
 * an array of values in signature order, or {@code {"inputs": ...}} with the same rows or with
 * columns, {@code {"input name": [value per row]}}. An input of shape {@code [-1, d1, ...]} takes a
 * nested array of shape {@code [d1, ...]} as its value in each row, and for a model with one input
 * each instance may be that value itself, such as {@code {"instances": [[5.1, 3.5, 1.4, 0.2]]}} for
 * an input of shape {@code [-1, 4]}. The response is {@code {"predictions": [...]}}. A body with a
 * Content-Type other than JSON gets 415, as {@link JsonContentType} describes.
 */
final class KServeV1Api {
  // The model name ends at the first ':', where ':predict' starts. The MLflow API rejects model
  // names that contain ':'. NOTE: a model named with ':' in some other way cannot be reached here.
  private static final String PREDICT_PATH = "/v1/models/([^/:]+):predict";
  private static final String MODEL_PATH = "/v1/models/([^/:]+)";

  private final TabularInference inference;

  private KServeV1Api(TabularInference inference) {
    this.inference = inference;
  }

  static void register(Router router, TabularInference inference, Authenticator authenticator) {
    KServeV1Api api = new KServeV1Api(inference);
    router
        .postWithRegex(PREDICT_PATH)
        .putMetadata(AllowedMethods.PATH_REGEX, PREDICT_PATH)
        .handler(authenticator.require(Role.VIEWER, "POST /v1/models/{name}:predict"))
        .handler(JsonContentType.required(api::predict));
    router
        .getWithRegex(MODEL_PATH)
        .putMetadata(AllowedMethods.PATH_REGEX, MODEL_PATH)
        .handler(authenticator.require(Role.VIEWER, "GET /v1/models/{name}"))
        .handler(api::modelReady);
  }

  private void predict(RoutingContext ctx) {
    String name = ctx.pathParam("param0");
    inference.predict(ctx, name, InferenceMetrics.Protocol.KSERVE_V1, model -> decode(ctx, model));
  }

  private static InputBatch decode(RoutingContext ctx, ServableModel model) {
    JsonNode body = Json.parse(ctx.body().buffer());
    if (!body.isObject()) {
      throw EvergreenException.invalid(
          "request body must be a JSON object with 'instances' or 'inputs', got "
              + TabularDecoder.describe(body));
    }
    JsonNode instances = null;
    JsonNode inputs = null;
    Iterator<Map.Entry<String, JsonNode>> fields = body.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      switch (field.getKey()) {
        case "instances" -> instances = field.getValue();
        case "inputs" -> inputs = field.getValue();
        // TensorFlow Serving's signature selector is ignored, because these models have one
        // signature.
        case "signature_name" -> {}
        default ->
            throw EvergreenException.invalid(
                "unknown field '"
                    + InferenceRequestDecoder.abbreviate(field.getKey())
                    + "'; send {\"instances\": [...]} or {\"inputs\": ...}");
      }
    }
    if ((instances == null) == (inputs == null)) {
      throw EvergreenException.invalid(
          "request must have exactly one of 'instances' and 'inputs', got "
              + (instances == null ? "neither" : "both"));
    }
    if (instances != null) {
      return TabularDecoder.fromRows(instances, "instances", model, true);
    }
    if (inputs.isObject()) {
      return TabularDecoder.fromColumns(inputs, "inputs", model);
    }
    return TabularDecoder.fromRows(inputs, "inputs", model, true);
  }

  /** Responds {@code {"name", "ready": true}} when a version serves, else fails with 404 or 503. */
  private void modelReady(RoutingContext ctx) {
    String name = ctx.pathParam("param0");
    if (!inference.serves(name)) {
      inference.notServing(ctx, name);
      return;
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("name", name);
    body.put("ready", true);
    ctx.response()
        .setStatusCode(200)
        .putHeader(HttpErrors.CONTENT_TYPE, HttpErrors.APPLICATION_JSON)
        .end(Json.encode(body));
  }
}
