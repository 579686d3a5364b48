package dev.evergreen.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.api.security.Role;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.tracking.Dataset;
import dev.evergreen.core.tracking.DatasetInput;
import dev.evergreen.core.tracking.Experiment;
import dev.evergreen.core.tracking.MetricPoint;
import dev.evergreen.core.tracking.Page;
import dev.evergreen.core.tracking.TrackedRun;
import dev.evergreen.core.tracking.TrackingService;
import dev.evergreen.core.tracking.ViewType;
import dev.evergreen.store.sqlite.SqliteMetadataStore;
import dev.evergreen.store.sqlite.SqliteTrackingStore;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MLflow tracking and model registry REST API (MLflow 2.x, {@code service.proto} and {@code
 * model_registry.proto}) under {@code /api/2.0/mlflow} and {@code /ajax-api/2.0/mlflow}, so MLflow
 * clients can set {@code MLFLOW_TRACKING_URI} to this server. Reads need the viewer role and writes
 * the operator role. Errors are sent as {@code {"error_code": ..., "message": ...}} with MLflow's
 * statuses, except authentication failures, which keep the server-wide format. Store work runs on
 * worker threads.
 */
final class MlflowApi {
  private static final Logger LOG = LoggerFactory.getLogger(MlflowApi.class);

  static final List<String> PREFIXES = List.of("/api/2.0/mlflow", "/ajax-api/2.0/mlflow");

  /**
   * Default page sizes: 1,000 is MLflow's default for runs and the page size that every MLflow
   * server supports for experiments.
   */
  static final int DEFAULT_EXPERIMENTS_PAGE = 1_000;

  static final int DEFAULT_RUNS_PAGE = 1_000;

  /** Work of one endpoint: reads the request and returns the response body. */
  @FunctionalInterface
  private interface Endpoint {
    ObjectNode handle(MlflowRequest request, String actor);
  }

  /** An endpoint path below the prefixes, the role it needs and the HTTP methods it accepts. */
  private record Route(String path, Role role, List<HttpMethod> methods, Endpoint endpoint) {}

  private final Vertx vertx;
  private final TrackingService tracking;
  private final MlflowRegistry registry;

  private MlflowApi(Vertx vertx, TrackingService tracking, MlflowRegistry registry) {
    this.vertx = vertx;
    this.tracking = tracking;
    this.registry = registry;
  }

  /** Adds the MLflow routes to a router. */
  static void register(
      Router router, Vertx vertx, Evergreen evergreen, Authenticator authenticator) {
    TrackingService tracking = null;
    if (evergreen.store() instanceof SqliteMetadataStore sqlite) {
      tracking =
          new TrackingService(
              evergreen.store(),
              new SqliteTrackingStore(sqlite),
              evergreen.artifacts(),
              evergreen.audit(),
              evergreen.clock());
    } else {
      LOG.warn(
          "The MLflow API is disabled because the metadata store is a {}, not SQLite",
          evergreen.store().getClass().getSimpleName());
    }
    MlflowApi api =
        new MlflowApi(
            vertx, tracking, new MlflowRegistry(evergreen.registry(), evergreen.deployments()));
    api.routes(router, authenticator);
  }

  private void routes(Router router, Authenticator authenticator) {
    List<Route> endpoints = new ArrayList<>();
    read(endpoints, "/experiments/get", this::getExperiment);
    read(endpoints, "/experiments/get-by-name", this::getExperimentByName);
    read(endpoints, "/experiments/search", this::searchExperiments);
    write(endpoints, "/experiments/create", this::createExperiment);
    write(endpoints, "/experiments/update", this::updateExperiment);
    write(endpoints, "/experiments/delete", this::deleteExperiment);
    write(endpoints, "/experiments/restore", this::restoreExperiment);
    write(endpoints, "/experiments/set-experiment-tag", this::setExperimentTag);

    read(endpoints, "/runs/get", this::getRun);
    read(endpoints, "/runs/search", this::searchRuns);
    read(endpoints, "/metrics/get-history", this::metricHistory);
    write(endpoints, "/runs/create", this::createRun);
    write(endpoints, "/runs/update", this::updateRun);
    write(endpoints, "/runs/delete", this::deleteRun);
    write(endpoints, "/runs/restore", this::restoreRun);
    write(endpoints, "/runs/log-metric", this::logMetric);
    write(endpoints, "/runs/log-parameter", this::logParam);
    write(endpoints, "/runs/set-tag", this::setTag);
    write(endpoints, "/runs/delete-tag", this::deleteTag);
    write(endpoints, "/runs/log-batch", this::logBatch);
    write(endpoints, "/runs/log-inputs", this::logInputs);

    registryRoutes(endpoints);

    for (String prefix : PREFIXES) {
      for (Route endpoint : endpoints) {
        String path = prefix + endpoint.path();
        for (HttpMethod method : endpoint.methods()) {
          router
              .route(method, path)
              .handler(authenticator.require(endpoint.role(), method.name() + " " + path))
              .handler(ctx -> handle(ctx, endpoint.endpoint(), path));
        }
      }
    }
  }

  /**
   * Adds the model registry endpoints with MLflow's HTTP methods. Reads also accept POST with a
   * JSON body. DELETE endpoints also accept POST, because MLflow's Java client 2.17.2 cannot send
   * DELETE; {@code registered-models/alias} is the exception, since POST there sets the alias.
   */
  private void registryRoutes(List<Route> endpoints) {
    read(endpoints, "/registered-models/get", registry::get);
    read(endpoints, "/registered-models/search", registry::search);
    read(endpoints, "/registered-models/get-latest-versions", registry::latestVersions);
    write(endpoints, "/registered-models/create", registry::create);
    write(endpoints, "/registered-models/rename", registry::rename);
    patch(endpoints, "/registered-models/update", registry::update);
    delete(endpoints, "/registered-models/delete", registry::delete);
    write(endpoints, "/registered-models/set-tag", registry::setModelTag);
    delete(endpoints, "/registered-models/delete-tag", registry::deleteModelTag);
    endpoints.add(
        new Route(
            "/registered-models/alias", Role.VIEWER, List.of(HttpMethod.GET), registry::byAlias));
    write(endpoints, "/registered-models/alias", registry::setAlias);
    endpoints.add(
        new Route(
            "/registered-models/alias",
            Role.OPERATOR,
            List.of(HttpMethod.DELETE),
            registry::deleteAlias));

    read(endpoints, "/model-versions/get", registry::getVersion);
    read(endpoints, "/model-versions/search", registry::searchVersions);
    read(endpoints, "/model-versions/get-download-uri", registry::downloadUri);
    write(endpoints, "/model-versions/create", registry::createVersion);
    patch(endpoints, "/model-versions/update", registry::updateVersion);
    delete(endpoints, "/model-versions/delete", registry::deleteVersion);
    write(endpoints, "/model-versions/transition-stage", registry::transitionStage);
    write(endpoints, "/model-versions/set-tag", registry::setVersionTag);
    delete(endpoints, "/model-versions/delete-tag", registry::deleteVersionTag);
  }

  /** Adds a read, which accepts GET with a query string and POST with a JSON body. */
  private static void read(List<Route> endpoints, String path, Endpoint endpoint) {
    endpoints.add(new Route(path, Role.VIEWER, List.of(HttpMethod.GET, HttpMethod.POST), endpoint));
  }

  private static void write(List<Route> endpoints, String path, Endpoint endpoint) {
    endpoints.add(new Route(path, Role.OPERATOR, List.of(HttpMethod.POST), endpoint));
  }

  private static void patch(List<Route> endpoints, String path, Endpoint endpoint) {
    endpoints.add(new Route(path, Role.OPERATOR, List.of(HttpMethod.PATCH), endpoint));
  }

  private static void delete(List<Route> endpoints, String path, Endpoint endpoint) {
    endpoints.add(
        new Route(path, Role.OPERATOR, List.of(HttpMethod.DELETE, HttpMethod.POST), endpoint));
  }

  private void handle(RoutingContext ctx, Endpoint endpoint, String path) {
    MlflowRequest request;
    try {
      request = MlflowRequest.of(ctx);
    } catch (EvergreenException e) {
      sendError(ctx, e);
      return;
    }
    if (tracking == null) {
      // The registry's descriptions, tags and stages are kept by the SQLite store as well.
      sendError(
          ctx,
          501,
          "NOT_IMPLEMENTED",
          "the MLflow API needs the SQLite metadata store; start the server with one");
      return;
    }
    String actor = Authenticator.token(ctx).name();
    vertx
        .executeBlocking(() -> endpoint.handle(request, actor), false)
        .onComplete(
            result -> {
              if (result.succeeded()) {
                ctx.response()
                    .setStatusCode(200)
                    .putHeader(HttpHeaders.CONTENT_TYPE, HttpErrors.APPLICATION_JSON)
                    .end(Json.encode(result.result()));
              } else if (result.cause() instanceof EvergreenException e) {
                sendError(ctx, e);
              } else {
                LOG.error("MLflow request {} failed", path, result.cause());
                sendError(
                    ctx, 500, "INTERNAL_ERROR", "internal error; the server log has the details");
              }
            });
  }

  /** Maps an Evergreen error onto MLflow's error code and HTTP status. */
  static void sendError(RoutingContext ctx, EvergreenException e) {
    switch (e.kind()) {
      case NOT_FOUND -> sendError(ctx, 404, "RESOURCE_DOES_NOT_EXIST", e.getMessage());
      case ALREADY_EXISTS -> sendError(ctx, 400, "RESOURCE_ALREADY_EXISTS", e.getMessage());
      case CONFLICT -> sendError(ctx, 400, "INVALID_STATE", e.getMessage());
      case INVALID_INPUT -> sendError(ctx, 400, "INVALID_PARAMETER_VALUE", e.getMessage());
      case UNAUTHENTICATED -> sendError(ctx, 401, "UNAUTHENTICATED", e.getMessage());
      case FORBIDDEN -> sendError(ctx, 403, "PERMISSION_DENIED", e.getMessage());
      case UNAVAILABLE -> sendError(ctx, 503, "TEMPORARILY_UNAVAILABLE", e.getMessage());
      case INTERNAL -> {
        LOG.error("MLflow request {} failed: {}", ctx.request().path(), e.getMessage(), e);
        sendError(ctx, 500, "INTERNAL_ERROR", e.getMessage());
      }
    }
  }

  private static void sendError(RoutingContext ctx, int status, String code, String message) {
    if (ctx.response().ended() || ctx.response().headWritten()) {
      return;
    }
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.put("error_code", code);
    body.put("message", message);
    ctx.response()
        .setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, HttpErrors.APPLICATION_JSON)
        .end(Buffer.buffer(body.toString()));
  }

  // Experiments

  private ObjectNode createExperiment(MlflowRequest request, String actor) {
    Experiment experiment =
        tracking.createExperiment(
            request.requiredText("name"),
            request.text("artifact_location"),
            tags(request.objects("tags")),
            actor);
    ObjectNode body = object();
    body.put("experiment_id", experiment.id());
    return body;
  }

  private ObjectNode getExperiment(MlflowRequest request, String actor) {
    return experimentResponse(tracking.experiment(request.requiredText("experiment_id")));
  }

  private ObjectNode getExperimentByName(MlflowRequest request, String actor) {
    return experimentResponse(tracking.experimentByName(request.requiredText("experiment_name")));
  }

  private ObjectNode searchExperiments(MlflowRequest request, String actor) {
    Page<Experiment> page =
        tracking.searchExperiments(
            request.text("filter"),
            request.enumValue("view_type", ViewType.class, ViewType.ACTIVE_ONLY),
            maxResults(request, DEFAULT_EXPERIMENTS_PAGE),
            request.texts("order_by"),
            request.text("page_token"));
    ObjectNode body = object();
    ArrayNode experiments = body.putArray("experiments");
    page.items().forEach(experiment -> experiments.add(MlflowJson.experiment(experiment)));
    putToken(body, page);
    return body;
  }

  private ObjectNode updateExperiment(MlflowRequest request, String actor) {
    tracking.renameExperiment(
        request.requiredText("experiment_id"), request.requiredText("new_name"), actor);
    return object();
  }

  private ObjectNode deleteExperiment(MlflowRequest request, String actor) {
    tracking.deleteExperiment(request.requiredText("experiment_id"), actor);
    return object();
  }

  private ObjectNode restoreExperiment(MlflowRequest request, String actor) {
    tracking.restoreExperiment(request.requiredText("experiment_id"), actor);
    return object();
  }

  private ObjectNode setExperimentTag(MlflowRequest request, String actor) {
    tracking.setExperimentTag(
        request.requiredText("experiment_id"),
        request.requiredText("key"),
        request.text("value"),
        actor);
    return object();
  }

  private static ObjectNode experimentResponse(Experiment experiment) {
    ObjectNode body = object();
    body.set("experiment", MlflowJson.experiment(experiment));
    return body;
  }

  // Runs

  private ObjectNode createRun(MlflowRequest request, String actor) {
    Long startTime = request.int64("start_time");
    TrackedRun run =
        tracking.createRun(
            request.text("experiment_id"),
            request.text("user_id"),
            request.text("run_name"),
            startTime == null ? null : Instant.ofEpochMilli(startTime),
            tags(request.objects("tags")),
            actor);
    return runResponse(run);
  }

  private ObjectNode getRun(MlflowRequest request, String actor) {
    return runResponse(tracking.run(request.runId()));
  }

  private ObjectNode updateRun(MlflowRequest request, String actor) {
    Long endTime = request.int64("end_time");
    TrackedRun run =
        tracking.updateRun(
            request.runId(),
            status(request.text("status")),
            endTime == null ? null : Instant.ofEpochMilli(endTime),
            request.text("run_name"),
            actor);
    ObjectNode body = object();
    body.set("run_info", MlflowJson.runInfo(run));
    return body;
  }

  private ObjectNode deleteRun(MlflowRequest request, String actor) {
    tracking.deleteRun(request.runId(), actor);
    return object();
  }

  private ObjectNode restoreRun(MlflowRequest request, String actor) {
    tracking.restoreRun(request.runId(), actor);
    return object();
  }

  private ObjectNode logMetric(MlflowRequest request, String actor) {
    tracking.logBatch(request.runId(), List.of(metric(request)), Map.of(), Map.of());
    return object();
  }

  private ObjectNode logParam(MlflowRequest request, String actor) {
    String value = request.text("value");
    tracking.logBatch(
        request.runId(),
        List.of(),
        Map.of(request.requiredText("key"), value == null ? "" : value),
        Map.of());
    return object();
  }

  private ObjectNode setTag(MlflowRequest request, String actor) {
    String value = request.text("value");
    tracking.logBatch(
        request.runId(),
        List.of(),
        Map.of(),
        Map.of(request.requiredText("key"), value == null ? "" : value));
    return object();
  }

  private ObjectNode deleteTag(MlflowRequest request, String actor) {
    tracking.deleteTag(request.runId(), request.requiredText("key"));
    return object();
  }

  private ObjectNode logBatch(MlflowRequest request, String actor) {
    List<MetricPoint> metrics = new ArrayList<>();
    for (MlflowRequest metric : request.objects("metrics")) {
      metrics.add(metric(metric));
    }
    List<MlflowRequest> paramList = request.objects("params");
    Map<String, String> params = new LinkedHashMap<>();
    for (MlflowRequest param : paramList) {
      String key = param.requiredText("key");
      String value = param.text("value") == null ? "" : param.text("value");
      String previous = params.put(key, value);
      if (previous != null && !previous.equals(value)) {
        throw EvergreenException.invalid(
            "the batch logs param '"
                + key
                + "' twice with different values ('"
                + previous
                + "' and '"
                + value
                + "'); send each param once");
      }
    }
    List<MlflowRequest> tagList = request.objects("tags");
    if (paramList.size() > TrackingService.MAX_BATCH_PARAMS
        || tagList.size() > TrackingService.MAX_BATCH_TAGS) {
      // Counted before duplicates collapse, so the limits apply to the request as sent.
      throw EvergreenException.invalid(
          "a batch may contain at most "
              + TrackingService.MAX_BATCH_PARAMS
              + " params and "
              + TrackingService.MAX_BATCH_TAGS
              + " tags, got "
              + paramList.size()
              + " params and "
              + tagList.size()
              + " tags; split it into several log-batch requests");
    }
    tracking.logBatch(request.runId(), metrics, params, tags(tagList));
    return object();
  }

  private ObjectNode logInputs(MlflowRequest request, String actor) {
    List<DatasetInput> inputs = new ArrayList<>();
    for (MlflowRequest input : request.objects("datasets")) {
      MlflowRequest dataset = input.requiredObject("dataset");
      inputs.add(
          new DatasetInput(
              new Dataset(
                  dataset.requiredText("name"),
                  dataset.requiredText("digest"),
                  dataset.requiredText("source_type"),
                  dataset.requiredText("source"),
                  dataset.text("schema"),
                  dataset.text("profile")),
              tags(input.objects("tags"))));
    }
    tracking.logInputs(request.runId(), inputs);
    return object();
  }

  private ObjectNode metricHistory(MlflowRequest request, String actor) {
    List<MetricPoint> history =
        tracking.metricHistory(request.runId(), request.requiredText("metric_key"));
    ObjectNode body = object();
    ArrayNode metrics = body.putArray("metrics");
    history.forEach(point -> metrics.add(MlflowJson.metric(point)));
    return body;
  }

  private ObjectNode searchRuns(MlflowRequest request, String actor) {
    Page<TrackedRun> page =
        tracking.searchRuns(
            request.texts("experiment_ids"),
            request.text("filter"),
            request.enumValue("run_view_type", ViewType.class, ViewType.ACTIVE_ONLY),
            maxResults(request, DEFAULT_RUNS_PAGE),
            request.texts("order_by"),
            request.text("page_token"));
    ObjectNode body = object();
    ArrayNode runs = body.putArray("runs");
    page.items().forEach(run -> runs.add(MlflowJson.run(run)));
    putToken(body, page);
    return body;
  }

  private static ObjectNode runResponse(TrackedRun run) {
    ObjectNode body = object();
    body.set("run", MlflowJson.run(run));
    return body;
  }

  // Helpers

  private static MetricPoint metric(MlflowRequest request) {
    Long step = request.int64("step");
    return new MetricPoint(
        request.requiredText("key"),
        request.requiredDouble("value"),
        request.requiredInt64("timestamp"),
        step == null ? 0 : step);
  }

  static Map<String, String> tags(List<MlflowRequest> tags) {
    Map<String, String> result = new LinkedHashMap<>();
    for (MlflowRequest tag : tags) {
      String value = tag.text("value");
      result.put(tag.requiredText("key"), value == null ? "" : value);
    }
    return result;
  }

  private static RunStatus status(String text) {
    if (text == null || text.isEmpty()) {
      return null;
    }
    try {
      return RunStatus.valueOf(text.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw EvergreenException.invalid(
          "status '"
              + text
              + "' is not a run status; use RUNNING, SCHEDULED, FINISHED, FAILED or KILLED");
    }
  }

  static int maxResults(MlflowRequest request, int fallback) {
    Long value = request.int64("max_results");
    if (value == null) {
      return fallback;
    }
    if (value < 1 || value > TrackingService.MAX_RESULTS) {
      throw new EvergreenException(
          ErrorKind.INVALID_INPUT,
          "max_results must be between 1 and " + TrackingService.MAX_RESULTS + ", got " + value);
    }
    return value.intValue();
  }

  static void putToken(ObjectNode body, Page<?> page) {
    if (page.nextPageToken() != null) {
      body.put("next_page_token", page.nextPageToken());
    }
  }

  static ObjectNode object() {
    return Json.MAPPER.createObjectNode();
  }
}
