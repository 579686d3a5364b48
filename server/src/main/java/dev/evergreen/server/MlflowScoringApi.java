package dev.evergreen.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.security.Role;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The scoring endpoints of an MLflow model server ({@code mlflow models serve}, MLflow 2.x): {@code
 * POST /invocations} scores with the serving version of a model, and {@code GET /ping}, {@code GET
 * /health} and {@code GET /version} report health and version.
 *
 * <p>{@code /invocations} takes the model from the {@code model} query parameter, or uses the only
 * model with a serving version when there is exactly one. A JSON body ({@code application/json})
 * has exactly one of {@code dataframe_split}, {@code dataframe_records}, {@code instances} and
 * {@code inputs}, and may have {@code params}; a {@code text/csv} body has a header row. The
 * response is {@code {"predictions": [...]}} and errors have the body {@code {"error": "..."}}.
 *
 * <p>{@code instances} and {@code inputs} also take MLflow's tensor input format: for a model with
 * one input, a nested array whose first dimension is the row, such as {@code {"inputs": [[5.1, 3.5,
 * 1.4, 0.2], ...]}} for an input of shape {@code [-1, 4]}, and for several inputs rows or columns
 * keyed by input name with a nested array per row. The pandas formats and CSV carry one value per
 * column, so they reject a model with a multi-dimensional input.
 */
final class MlflowScoringApi {
  private static final List<String> JSON_FIELDS =
      List.of("dataframe_split", "dataframe_records", "instances", "inputs");

  private static final String SEND_JSON_OR_CSV = "send application/json or text/csv";

  private final Vertx vertx;
  private final TabularInference inference;
  private final Readiness readiness;

  private MlflowScoringApi(Vertx vertx, TabularInference inference, Readiness readiness) {
    this.vertx = vertx;
    this.inference = inference;
    this.readiness = readiness;
  }

  static void register(
      Router router,
      Vertx vertx,
      TabularInference inference,
      Authenticator authenticator,
      Readiness readiness) {
    MlflowScoringApi api = new MlflowScoringApi(vertx, inference, readiness);
    router
        .post("/invocations")
        .handler(authenticator.require(Role.VIEWER, "POST /invocations"))
        .handler(api::invocations);
    // Health checks need no token, like the V2 health endpoints, so that orchestrators can probe.
    router.get("/ping").handler(authenticator.withoutToken()).handler(api::ping);
    router.get("/health").handler(authenticator.withoutToken()).handler(api::ping);
    router
        .get("/version")
        .handler(authenticator.require(Role.VIEWER, "GET /version"))
        .handler(MlflowScoringApi::version);
  }

  private void invocations(RoutingContext ctx) {
    if (JsonContentType.rejectedRepeated(ctx)) {
      return;
    }
    String header = ctx.request().getHeader(HttpErrors.CONTENT_TYPE);
    String contentType = JsonContentType.mediaType(header);
    boolean csv = contentType.equals("text/csv");
    if (header == null || header.isBlank()) {
      // The body could be JSON or CSV, and MLflow's scoring server also picks the parser by
      // Content-Type.
      JsonContentType.reject(ctx, "Content-Type is missing; " + SEND_JSON_OR_CSV);
      return;
    }
    if (contentType.isEmpty()) {
      JsonContentType.reject(ctx, JsonContentType.noMediaType(header, SEND_JSON_OR_CSV));
      return;
    }
    if (!csv && !contentType.equals(HttpErrors.APPLICATION_JSON)) {
      JsonContentType.reject(
          ctx,
          "Content-Type '"
              + InferenceRequestDecoder.abbreviate(contentType)
              + "' is not supported; "
              + SEND_JSON_OR_CSV);
      return;
    }
    String charsetRejection = JsonContentType.charsetRejection(header);
    if (charsetRejection != null) {
      JsonContentType.reject(ctx, charsetRejection);
      return;
    }
    chooseModel(ctx)
        .onFailure(ctx::fail)
        .onSuccess(
            name ->
                inference.predict(
                    ctx,
                    name,
                    InferenceMetrics.Protocol.MLFLOW,
                    model -> csv ? decodeCsv(ctx, model) : decodeJson(ctx, model)));
  }

  /** Returns the model a request targets. Without ?model=NAME it reads the registry. */
  private Future<String> chooseModel(RoutingContext ctx) {
    String requested = ctx.request().getParam("model");
    if (requested != null) {
      return Future.succeededFuture(requested);
    }
    return vertx.executeBlocking(() -> onlyServingModel(inference.servingModels()), false);
  }

  /**
   * Returns the only model with a serving version.
   *
   * @throws EvergreenException UNAVAILABLE when no model serves, INVALID_INPUT when several do
   */
  static String onlyServingModel(List<String> serving) {
    if (serving.isEmpty()) {
      throw new EvergreenException(
          ErrorKind.UNAVAILABLE,
          "no model has a serving version yet; deploy one with POST /api/v1/models/{name}/deploy");
    }
    if (serving.size() > 1) {
      throw EvergreenException.invalid(
          "this server serves "
              + serving.size()
              + " models ("
              + String.join(", ", serving)
              + "); choose one with /invocations?model=NAME");
    }
    return serving.get(0);
  }

  private static InputBatch decodeJson(RoutingContext ctx, ServableModel model) {
    JsonNode body = Json.parse(ctx.body().buffer());
    if (!body.isObject()) {
      throw EvergreenException.invalid(
          "request body must be a JSON object with one of "
              + String.join(", ", JSON_FIELDS)
              + ", got "
              + TabularDecoder.describe(body));
    }
    String format = null;
    JsonNode data = null;
    Iterator<Map.Entry<String, JsonNode>> fields = body.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      String name = field.getKey();
      if (name.equals("params")) {
        // NOTE: inference parameters are accepted and ignored, because the XGBoost models served
        // here take none.
        if (!field.getValue().isObject() && !field.getValue().isNull()) {
          throw EvergreenException.invalid(
              "'params' must be an object, got " + TabularDecoder.describe(field.getValue()));
        }
      } else if (!JSON_FIELDS.contains(name)) {
        throw EvergreenException.invalid(
            "unknown field '"
                + InferenceRequestDecoder.abbreviate(name)
                + "'; send exactly one of "
                + String.join(", ", JSON_FIELDS)
                + ", and optionally params");
      } else if (format != null) {
        throw EvergreenException.invalid(
            "request has both '"
                + format
                + "' and '"
                + name
                + "'; send exactly one of "
                + String.join(", ", JSON_FIELDS));
      } else {
        format = name;
        data = field.getValue();
      }
    }
    if (format == null) {
      throw EvergreenException.invalid(
          "request has no data; send exactly one of " + String.join(", ", JSON_FIELDS));
    }
    return switch (format) {
      case "dataframe_split" -> TabularDecoder.fromSplit(data, format, model);
      case "dataframe_records" -> TabularDecoder.fromRecords(data, format, model);
      default ->
          data.isObject()
              ? TabularDecoder.fromColumns(data, format, model)
              : TabularDecoder.fromRows(data, format, model, true);
    };
  }

  private static InputBatch decodeCsv(RoutingContext ctx, ServableModel model) {
    Buffer body = ctx.body().buffer();
    return TabularDecoder.fromCsv(body == null ? "" : utf8(body.getBytes()), model);
  }

  /**
   * Decodes a CSV body strictly, as JSON bodies are, because replacing an invalid byte with U+FFFD
   * would score a changed value without telling the caller.
   */
  private static String utf8(byte[] bytes) {
    ByteBuffer input = ByteBuffer.wrap(bytes);
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(input)
          .toString();
    } catch (CharacterCodingException e) {
      throw EvergreenException.invalid(
          "the CSV body is not valid UTF-8 at byte "
              + input.position()
              + "; send the CSV encoded as UTF-8");
    }
  }

  /**
   * Responds 200 with the body {@code "\n"}, as MLflow's scoring server does, when the model of
   * {@code ?model=NAME} serves, or without the parameter when any model serves. Otherwise, and
   * while the server drains for a shutdown, it responds 503.
   */
  private void ping(RoutingContext ctx) {
    if (readiness.draining()) {
      HttpErrors.send(ctx, 503, "the server is shutting down");
      return;
    }
    String requested = ctx.request().getParam("model");
    Future<Boolean> healthy =
        requested != null
            ? Future.succeededFuture(inference.serves(requested))
            : vertx.executeBlocking(() -> !inference.servingModels().isEmpty(), false);
    healthy
        .onFailure(ctx::fail)
        .onSuccess(
            serving -> {
              if (serving) {
                ctx.response()
                    .setStatusCode(200)
                    .putHeader(HttpErrors.CONTENT_TYPE, HttpErrors.APPLICATION_JSON)
                    .end("\n");
              } else {
                HttpErrors.send(
                    ctx,
                    503,
                    requested == null
                        ? "no model has a serving version yet"
                        : "model '"
                            + InferenceRequestDecoder.abbreviate(requested)
                            + "' has no serving version");
              }
            });
  }

  /** Sends the Evergreen server version as plain text, where MLflow sends its own version. */
  private static void version(RoutingContext ctx) {
    ctx.response()
        .setStatusCode(200)
        .putHeader(HttpErrors.CONTENT_TYPE, "text/plain; charset=utf-8")
        .end(InferenceApi.serverVersion());
  }
}
