package dev.evergreen.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.BatchingSpec;
import dev.evergreen.api.pipeline.CanarySpec;
import dev.evergreen.api.pipeline.ShadowSpec;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.deployment.Canary;
import dev.evergreen.core.deployment.CanaryWindow;
import dev.evergreen.core.deployment.ServingState;
import dev.evergreen.core.deployment.Shadow;
import dev.evergreen.core.store.TrafficSettings;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * REST endpoints that split a model's traffic: canary start, promote and abort, shadow start and
 * stop, dynamic batching, and the serving state that shows them. Every change is audited and
 * stored, so a restarted server restores it.
 */
final class TrafficApi {
  private static final Logger LOG = LoggerFactory.getLogger(TrafficApi.class);

  /**
   * Reads request bodies strictly: an unknown field, a number sent as a string and a fraction for
   * an integer field are errors rather than silently converted.
   */
  private static final com.fasterxml.jackson.databind.ObjectMapper STRICT =
      Json.MAPPER
          .copy()
          .configure(
              com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES,
              true)
          .configure(
              com.fasterxml.jackson.databind.DeserializationFeature.ACCEPT_FLOAT_AS_INT, false)
          .configure(com.fasterxml.jackson.databind.MapperFeature.ALLOW_COERCION_OF_SCALARS, false);

  private final Vertx vertx;
  private final Evergreen evergreen;

  TrafficApi(Vertx vertx, Evergreen evergreen) {
    this.vertx = vertx;
    this.evergreen = evergreen;
  }

  /** {@code GET /api/v1/models/{name}/serving}: the slots, the canary window and batching. */
  void serving(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    blocking(
        ctx,
        () -> {
          if (evergreen.registry().versions(name).isEmpty()) {
            throw RestApi.modelNotFound(name);
          }
          return describe(name, evergreen.deployments().serving(name).orElse(null));
        });
  }

  /**
   * {@code POST /api/v1/models/{name}/canary} with {@code {"version": N, "percent": P,
   * "key_header": ..., "key_input": ..., "rollback": {"max_error_rate", "max_p99_millis",
   * "window_seconds", "min_requests"}}}, in the snake_case of the rest of the REST API; fields
   * other than version are optional.
   */
  void startCanary(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    JsonNode body = Json.parse(ctx.body().buffer());
    int version = version(body, name);
    CanarySpec spec = read(without(body, "version"), CanarySpec.class, "canary");
    String actor = RestApi.actor(ctx);
    blocking(
        ctx, () -> RestApi.result(evergreen.deployments().startCanary(name, version, spec, actor)));
  }

  void promoteCanary(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    String actor = RestApi.actor(ctx);
    blocking(ctx, () -> RestApi.result(evergreen.deployments().promoteCanary(name, actor)));
  }

  /** {@code POST /api/v1/models/{name}/canary/percent} with {@code {"percent": P}}. */
  void setCanaryPercent(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    PercentRequest request = read(Json.parse(ctx.body().buffer()), PercentRequest.class, "percent");
    if (request.percent() == null) {
      throw EvergreenException.invalid(
          "field 'percent' is missing; send {\"percent\": P} with P from 0.01 to 99.99");
    }
    String actor = RestApi.actor(ctx);
    blocking(
        ctx,
        () ->
            RestApi.result(
                evergreen.deployments().setCanaryPercent(name, request.percent(), actor)));
  }

  /** {@code POST /api/v1/models/{name}/canary/abort}, optionally with {@code {"reason": ...}}. */
  void abortCanary(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    Buffer raw = ctx.body().buffer();
    String abortReason =
        raw == null || raw.length() == 0
            ? null
            : read(Json.parse(raw), AbortRequest.class, "abort").reason();
    String actor = RestApi.actor(ctx);
    blocking(
        ctx, () -> RestApi.result(evergreen.deployments().abortCanary(name, actor, abortReason)));
  }

  /** {@code POST /api/v1/models/{name}/shadow} with {@code {"version": N, "percent": P}}. */
  void startShadow(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    JsonNode body = Json.parse(ctx.body().buffer());
    int version = version(body, name);
    ShadowSpec spec = read(without(body, "version"), ShadowSpec.class, "shadow");
    String actor = RestApi.actor(ctx);
    blocking(
        ctx, () -> RestApi.result(evergreen.deployments().startShadow(name, version, spec, actor)));
  }

  void stopShadow(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    String actor = RestApi.actor(ctx);
    blocking(ctx, () -> RestApi.result(evergreen.deployments().stopShadow(name, actor)));
  }

  /**
   * {@code PUT /api/v1/models/{name}/batching} with {@code {"max_batch_size", "max_delay_millis",
   * "max_queue"}}, each optional.
   */
  void putBatching(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    BatchingSpec spec = read(Json.parse(ctx.body().buffer()), BatchingSpec.class, "batching");
    configureBatching(ctx, name, spec);
  }

  void deleteBatching(RoutingContext ctx) {
    configureBatching(ctx, ctx.pathParam("name"), null);
  }

  private void configureBatching(RoutingContext ctx, String name, BatchingSpec spec) {
    String actor = RestApi.actor(ctx);
    blocking(
        ctx,
        () -> {
          if (evergreen.registry().versions(name).isEmpty()) {
            throw RestApi.modelNotFound(name);
          }
          BatchingSpec previous = evergreen.router().batching().get(name);
          evergreen.router().configureBatching(name, spec);
          try {
            evergreen
                .store()
                .inTransaction(
                    () -> {
                      evergreen.store().saveBatching(name, spec);
                      evergreen
                          .audit()
                          .append(
                              actor,
                              AuditActions.BATCHING_CONFIGURED,
                              Map.of("model", name),
                              batchingDetails(spec, false));
                    });
          } catch (RuntimeException e) {
            // The stored settings are what a restart restores, so memory goes back to match them.
            evergreen.router().configureBatching(name, previous);
            throw e;
          }
          return describe(name, evergreen.deployments().serving(name).orElse(null));
        });
  }

  /**
   * Turns on the stored batching settings of each model that has none in this process, and audits
   * each as {@code actor}. Settings that the router rejects are cleared, logged and audited with
   * the reason.
   */
  static void restoreBatching(Evergreen evergreen, String actor) {
    for (TrafficSettings settings : evergreen.store().listTrafficSettings()) {
      String model = settings.model();
      BatchingSpec spec = settings.batching();
      if (spec == null || evergreen.router().batching().containsKey(model)) {
        continue;
      }
      try {
        evergreen.router().configureBatching(model, spec);
        evergreen
            .audit()
            .append(
                actor,
                AuditActions.BATCHING_CONFIGURED,
                Map.of("model", model),
                batchingDetails(spec, true));
      } catch (EvergreenException e) {
        LOG.error("Stored batching of model {} was not restored and is cleared", model, e);
        Map<String, String> details = new LinkedHashMap<>();
        details.put("batching", "off");
        details.put("restored", "false");
        details.put("reason", e.getMessage());
        evergreen
            .store()
            .inTransaction(
                () -> {
                  evergreen.store().saveBatching(model, null);
                  evergreen
                      .audit()
                      .append(
                          actor, AuditActions.BATCHING_CONFIGURED, Map.of("model", model), details);
                });
      }
    }
  }

  private static Map<String, String> batchingDetails(BatchingSpec spec, boolean restored) {
    Map<String, String> details = new LinkedHashMap<>();
    details.put("batching", spec == null ? "off" : "on");
    if (restored) {
      details.put("restored", "true");
    }
    if (spec != null) {
      details.put("max_batch_size", spec.maxBatchSize().toString());
      details.put("max_delay_ms", spec.maxDelayMillis().toString());
      details.put("max_queue", spec.maxQueue().toString());
    }
    return details;
  }

  private Map<String, Object> describe(String name, ServingState state) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("model", name);
    body.put("active_version", state == null ? null : state.active().version());
    body.put(
        "standby_version",
        state == null || state.standby() == null ? null : state.standby().version());
    Canary canary = state == null ? null : state.canary();
    if (canary == null) {
      body.put("canary", null);
    } else {
      CanaryWindow.Summary summary = canary.window().summary();
      Map<String, Object> section = new LinkedHashMap<>();
      section.put("version", canary.model().version());
      section.put("percent", canary.split().percent());
      section.put("key_header", canary.spec().keyHeader());
      section.put("key_input", canary.spec().keyInput());
      section.put("rollback", canary.spec().rollback());
      section.put("window_requests", summary.requests());
      section.put("window_errors", summary.errors());
      section.put("window_p99_ms", summary.p99Millis());
      body.put("canary", section);
    }
    Shadow shadow = state == null ? null : state.shadow();
    if (shadow == null) {
      body.put("shadow", null);
    } else {
      Map<String, Object> section = new LinkedHashMap<>();
      section.put("version", shadow.model().version());
      section.put("percent", shadow.split().percent());
      section.put("tolerance", shadow.spec().tolerance());
      section.put("comparisons", shadow.tally().counts());
      body.put("shadow", section);
    }
    body.put("batching", evergreen.router().batching().get(name));
    return body;
  }

  /** Body of a canary abort. */
  record AbortRequest(String reason) {}

  /** Body of a change of the canary's share. */
  record PercentRequest(Double percent) {}

  private static int version(JsonNode body, String name) {
    if (!body.isObject()) {
      throw EvergreenException.invalid(
          "the request body must be a JSON object such as {\"version\": 2}");
    }
    return RestApi.versionField(body, name);
  }

  private static JsonNode without(JsonNode body, String field) {
    JsonNode copy = body.deepCopy();
    if (copy.isObject()) {
      ((com.fasterxml.jackson.databind.node.ObjectNode) copy).remove(field);
    }
    return copy;
  }

  /** Reads a spec from JSON, naming an unknown or mistyped field in a 400. */
  private static <T> T read(JsonNode body, Class<T> type, String section) {
    if (!body.isObject()) {
      throw EvergreenException.invalid("the " + section + " request body must be a JSON object");
    }
    try {
      return STRICT.treeToValue(body, type);
    } catch (UnrecognizedPropertyException e) {
      List<String> path = new ArrayList<>();
      e.getPath().forEach(reference -> path.add(reference.getFieldName()));
      String parent = String.join(".", path.subList(0, Math.max(0, path.size() - 1)));
      throw EvergreenException.invalid(
          "unknown field '"
              + String.join(".", path)
              + "' in the "
              + section
              + " request; known fields"
              + (parent.isEmpty() ? "" : " of '" + parent + "'")
              + ": "
              + knownFields(parent.isEmpty() ? type : null, e.getKnownPropertyIds()));
    } catch (JsonProcessingException e) {
      throw Json.invalidField("the " + section + " request", body, e);
    }
  }

  /**
   * Lists the fields of a request object, with {@code version} for the top level of the bodies that
   * carry one; {@code type} is null for a nested object.
   */
  private static String knownFields(Class<?> type, java.util.Collection<Object> fields) {
    java.util.TreeSet<String> names = new java.util.TreeSet<>();
    fields.forEach(field -> names.add(field.toString()));
    if (type == CanarySpec.class || type == ShadowSpec.class) {
      names.add("version");
    }
    return String.join(", ", names);
  }

  private <T> void blocking(RoutingContext ctx, Callable<T> work) {
    vertx
        .executeBlocking(work, false)
        .onComplete(
            result -> {
              if (result.failed()) {
                ctx.fail(result.cause());
              } else {
                RestApi.send(ctx, 200, result.result());
              }
            });
  }
}
