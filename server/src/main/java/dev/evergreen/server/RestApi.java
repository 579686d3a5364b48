package dev.evergreen.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.security.Role;
import dev.evergreen.api.security.Token;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.audit.AuditHead;
import dev.evergreen.core.deployment.DeploymentResult;
import dev.evergreen.core.deployment.ServingState;
import dev.evergreen.core.pipeline.RecordedPipelines;
import dev.evergreen.core.pipeline.RegisteredPipeline;
import dev.evergreen.core.pipeline.RunOwner;
import dev.evergreen.core.pipeline.SubmittedRun;
import dev.evergreen.core.security.IssuedToken;
import dev.evergreen.core.serving.external.ExternalFormat;
import dev.evergreen.core.serving.external.ExternalModels;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Evergreen's REST API under {@code /api/v1}: models, deployments, lineage, pipelines, runs, audit
 * and tokens. Every store call runs on a worker thread, never on the event loop. Field names are
 * snake_case.
 */
final class RestApi {
  private static final Logger LOG = LoggerFactory.getLogger(RestApi.class);

  static final int DEFAULT_LIMIT = 50;
  static final int MAX_LIMIT = 1_000;

  /** Fields of the body of {@code POST /api/v1/models/{name}/versions}. */
  private static final Set<String> REGISTRATION_FIELDS =
      Set.of("format", "file", "file_name", "signature", "check");

  private final Vertx vertx;
  private final Evergreen evergreen;
  private final Authenticator authenticator;

  /** Folders, besides each pipeline's own, that runs submitted here may read data from. */
  private final List<Path> dataFolders;

  RestApi(Vertx vertx, Evergreen evergreen, Authenticator authenticator, List<Path> dataFolders) {
    this.dataFolders = dataFolders;
    this.vertx = vertx;
    this.evergreen = evergreen;
    this.authenticator = authenticator;
  }

  // Models

  void listModels(RoutingContext ctx) {
    blocking(
        ctx,
        200,
        () -> {
          List<Map<String, Object>> models = new ArrayList<>();
          for (String name : evergreen.registry().models()) {
            Map<String, Object> model = new LinkedHashMap<>();
            model.put("name", name);
            model.put("aliases", evergreen.registry().aliases(name));
            putServing(model, name);
            models.add(model);
          }
          return Map.of("models", models);
        });
  }

  void showModel(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    blocking(
        ctx,
        200,
        () -> {
          List<ModelVersion> versions = evergreen.registry().versions(name);
          if (versions.isEmpty()) {
            throw modelNotFound(name);
          }
          Map<String, Object> model = new LinkedHashMap<>();
          model.put("name", name);
          model.put("aliases", evergreen.registry().aliases(name));
          putServing(model, name);
          model.put("versions", versions);
          return model;
        });
  }

  void showVersion(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    int version = pathInt(ctx, "version");
    blocking(
        ctx,
        200,
        () -> {
          ObjectNode body = Json.MAPPER.valueToTree(evergreen.registry().require(name, version));
          List<String> aliases = new ArrayList<>();
          evergreen
              .registry()
              .aliases(name)
              .forEach(
                  (alias, target) -> {
                    if (target == version) {
                      aliases.add(alias);
                    }
                  });
          body.set("aliases", Json.MAPPER.valueToTree(aliases));
          body.put("slot", slotOf(name, version));
          return body;
        });
  }

  void aliasHistory(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    blocking(
        ctx,
        200,
        () -> {
          requireModel(name);
          return Map.of("moves", evergreen.registry().aliasHistory(name));
        });
  }

  void deploy(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    int version = versionField(Json.parse(ctx.body().buffer()), name);
    String actor = actor(ctx);
    blocking(ctx, 200, () -> result(evergreen.deployments().deploy(name, version, actor)));
  }

  /**
   * Returns the {@code "version"} field of a request body.
   *
   * @throws EvergreenException INVALID_INPUT naming the value when it is missing or not an int
   */
  static int versionField(JsonNode body, String name) {
    JsonNode version = body.get("version");
    if (version == null || !version.canConvertToExactIntegral() || !version.canConvertToInt()) {
      throw EvergreenException.invalid(
          "request body needs \"version\": an integer version number of model '"
              + name
              + "', got "
              + (version == null ? "nothing" : version.toString()));
    }
    return version.asInt();
  }

  /**
   * Registers a model file trained elsewhere. The body is {@code {"format", "file" (base64),
   * "file_name"?, "signature" (object), "check"? (object)}}; the signature and check objects have
   * the format of the signature and check files of {@code evergreen models register}.
   */
  void registerVersion(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    JsonNode body = Json.parse(ctx.body().buffer());
    rejectUnknownFields(body, REGISTRATION_FIELDS, "registration");
    JsonNode format = body.get("format");
    if (format == null || !format.isTextual()) {
      throw EvergreenException.invalid(
          "request body needs \"format\": one of xgboost-json, xgboost-ubj, onnx");
    }

    JsonNode file = body.get("file");
    if (file == null || !file.isTextual() || file.asText().isEmpty()) {
      throw EvergreenException.invalid(
          "request body needs \"file\": the model file encoded as base64");
    }
    // Line breaks, as `base64` writes them, are allowed. The MIME decoder is not used because it
    // also skips characters outside the alphabet and so accepts a corrupted file.
    byte[] model =
        Base64Field.decode(
            file.asText(),
            "file",
            "send the model file as standard base64, such as the output of `base64 -w0 model.onnx`");

    JsonNode signature = body.get("signature");
    if (signature == null || !signature.isObject()) {
      throw EvergreenException.invalid(
          "request body needs \"signature\": an object with \"inputs\" and \"output\"");
    }

    JsonNode check = body.get("check");
    JsonNode fileName = body.get("file_name");
    ExternalFormat modelFormat = ExternalFormat.fromId(format.asText());
    ExternalModels.Registration request =
        new ExternalModels.Registration(
            name,
            modelFormat,
            model,
            fileName != null && fileName.isTextual() ? fileName.asText() : "(request field 'file')",
            signature.toString().getBytes(StandardCharsets.UTF_8),
            "(request field 'signature')",
            check == null || check.isNull()
                ? null
                : check.toString().getBytes(StandardCharsets.UTF_8),
            "(request field 'check')");
    String actor = actor(ctx);
    blocking(
        ctx,
        201,
        () ->
            new ExternalModels(
                    evergreen.artifacts(),
                    evergreen.registry(),
                    evergreen.clock(),
                    evergreen.settings().checkTolerance())
                .register(request, actor));
  }

  /**
   * Rejects a field that {@code known} does not list, so that a misspelt optional field, such as
   * {@code "chek"}, is not ignored.
   */
  private static void rejectUnknownFields(JsonNode body, Set<String> known, String request) {
    Iterator<String> fields = body.fieldNames();
    while (fields.hasNext()) {
      String field = fields.next();
      if (!known.contains(field)) {
        throw EvergreenException.invalid(
            "unknown field '"
                + InferenceRequestDecoder.abbreviate(field)
                + "' in the "
                + request
                + " request; known fields: "
                + String.join(", ", new TreeSet<>(known)));
      }
    }
  }

  void rollback(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    String actor = actor(ctx);
    blocking(
        ctx,
        200,
        () -> {
          requireModel(name);
          return result(evergreen.deployments().rollback(name, actor));
        });
  }

  void modelLineage(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    blocking(ctx, 200, () -> evergreen.lineage().forModel(name, null));
  }

  void versionLineage(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    int version = pathInt(ctx, "version");
    blocking(ctx, 200, () -> evergreen.lineage().forModel(name, version));
  }

  private void putServing(Map<String, Object> model, String name) {
    ServingState state = evergreen.deployments().serving(name).orElse(null);
    model.put("serving_version", state == null ? null : state.active().version());
    model.put(
        "standby_version",
        state == null || state.standby() == null ? null : state.standby().version());
  }

  private String slotOf(String name, int version) {
    ServingState state = evergreen.deployments().serving(name).orElse(null);
    if (state == null) {
      return null;
    }
    if (state.active().version() == version) {
      return "active";
    }
    if (state.standby() != null && state.standby().version() == version) {
      return "standby";
    }
    return null;
  }

  private void requireModel(String name) {
    if (evergreen.registry().versions(name).isEmpty()) {
      throw modelNotFound(name);
    }
  }

  static EvergreenException modelNotFound(String name) {
    return EvergreenException.notFound(
        "model '"
            + InferenceRequestDecoder.abbreviate(name)
            + "' not found; list models with GET /api/v1/models");
  }

  static Map<String, Object> result(DeploymentResult result) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("model", result.model());
    body.put("version", result.version());
    body.put("previous_version", result.previousVersion());
    body.put("switched", result.switched());
    body.put("detail", result.detail());
    body.put("switch_time_ms", result.switchTime().toNanos() / 1e6);
    return body;
  }

  // Pipelines and runs

  void listPipelines(RoutingContext ctx) {
    List<Map<String, Object>> pipelines = new ArrayList<>();
    for (RegisteredPipeline pipeline : evergreen.pipelines().list()) {
      Map<String, Object> item = new LinkedHashMap<>();
      item.put("name", pipeline.name());
      item.put("file", pipeline.file().toString());
      item.put("model", pipeline.spec().deployment().model());
      Path landing = pipeline.landingFolder();
      item.put("landing", landing == null ? null : landing.toString());
      pipelines.add(item);
    }
    send(ctx, 200, Map.of("pipelines", pipelines));
  }

  /**
   * Queues a run and responds 202 with its id, or with {@code ?wait=true} responds 200 with the run
   * once it has finished. A relative data path resolves against the pipeline file's folder.
   */
  void submitRun(RoutingContext ctx) {
    String pipeline = ctx.pathParam("name");
    JsonNode body = Json.parse(ctx.body().buffer());
    JsonNode data = body.get("data");
    if (data == null || !data.isTextual() || data.asText().isBlank()) {
      throw EvergreenException.invalid(
          "request body needs \"data\": the path of a data file to run pipeline '"
              + pipeline
              + "' on");
    }
    boolean wait = "true".equalsIgnoreCase(ctx.request().getParam("wait"));
    String actor = actor(ctx);
    vertx
        .executeBlocking(() -> enqueue(pipeline, data.asText(), actor), false)
        .compose(
            submitted -> {
              if (!wait) {
                Map<String, Object> queued = new LinkedHashMap<>();
                queued.put("run_id", submitted.runId());
                queued.put("pipeline", pipeline);
                queued.put("status", "SCHEDULED");
                return Future.succeededFuture(new Response(202, queued));
              }
              return Future.fromCompletionStage(submitted.result(), vertx.getOrCreateContext())
                  .map(run -> new Response(200, run));
            })
        .onComplete(
            result -> {
              if (result.failed()) {
                ctx.fail(unwrap(result.cause()));
              } else {
                send(ctx, result.result().status(), result.result().body());
              }
            });
  }

  private record Response(int status, Object body) {}

  private SubmittedRun enqueue(String pipeline, String dataText, String actor) {
    RegisteredPipeline registered =
        evergreen
            .pipelines()
            .find(pipeline)
            .orElseThrow(
                () ->
                    EvergreenException.notFound(
                        "pipeline '"
                            + InferenceRequestDecoder.abbreviate(pipeline)
                            + "' is not registered; list pipelines with GET /api/v1/pipelines"));
    Path data;
    try {
      data = registered.resolve(dataText);
    } catch (InvalidPathException e) {
      throw EvergreenException.invalid("data path '" + dataText + "' is invalid: " + e.getReason());
    }
    List<Path> folders = readableFolders(registered);
    // Checked before the file's existence, so that the response reveals nothing about other files.
    if (!within(data, folders)) {
      throw outsideFolders(dataText, folders);
    }
    if (!Files.isRegularFile(data)) {
      throw EvergreenException.invalid(
          "data file "
              + data
              + " does not exist or is not a file; pass the path of an existing data file");
    }
    try {
      // A link inside a folder may point outside it.
      if (!within(data.toRealPath(), realFolders(folders))) {
        throw outsideFolders(dataText, folders);
      }
    } catch (IOException e) {
      throw EvergreenException.invalid("data file " + data + " cannot be read: " + e.getMessage());
    }
    SubmittedRun submitted = evergreen.pipelines().enqueue(pipeline, data, actor);
    LOG.info("Queued run {} of pipeline {} on {} for {}", submitted.runId(), pipeline, data, actor);
    return submitted;
  }

  /**
   * Returns the folders a run submitted over HTTP may read: the pipeline file's folder, the folder
   * of its {@code source.file}, its landing folder and the server's {@code --data-dir} folders. An
   * operator token thus cannot make the server read other files it has access to.
   */
  private List<Path> readableFolders(RegisteredPipeline pipeline) {
    List<Path> folders = new ArrayList<>();
    folders.add(pipeline.file().toAbsolutePath().normalize().getParent());
    String sourceFile = pipeline.spec().source().file();
    if (sourceFile != null) {
      folders.add(pipeline.resolve(sourceFile).getParent());
    }
    if (pipeline.landingFolder() != null) {
      folders.add(pipeline.landingFolder());
    }
    folders.addAll(dataFolders);
    return folders.stream().distinct().toList();
  }

  private static boolean within(Path file, List<Path> folders) {
    return folders.stream().anyMatch(file::startsWith);
  }

  /** Returns the folders with their links resolved; a folder that does not exist is left out. */
  private static List<Path> realFolders(List<Path> folders) {
    List<Path> real = new ArrayList<>();
    for (Path folder : folders) {
      try {
        real.add(folder.toRealPath());
      } catch (IOException e) {
        // A missing folder contains no file to read.
      }
    }
    return real;
  }

  private static EvergreenException outsideFolders(String dataText, List<Path> folders) {
    return EvergreenException.invalid(
        "data path '"
            + InferenceRequestDecoder.abbreviate(dataText)
            + "' is outside the folders this server reads run data from ("
            + folders.stream().map(Path::toString).collect(Collectors.joining(", "))
            + "); put the file in one of them, or start the server with --data-dir FOLDER");
  }

  /**
   * Lists runs, newest first. Like {@link #showRun}, it shows a run whose process has stopped as
   * FAILED with the interrupted reason without writing to the store (see {@link
   * RunOwner#failedIfInterrupted}).
   */
  void listRuns(RoutingContext ctx) {
    String pipeline = ctx.request().getParam("pipeline");
    int limit = queryInt(ctx, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT);
    blocking(
        ctx,
        200,
        () ->
            Map.of(
                "runs",
                evergreen
                    .store()
                    .listRuns(pipeline == null || pipeline.isBlank() ? null : pipeline, limit)
                    .stream()
                    .map(RunOwner::failedIfInterrupted)
                    .toList()));
  }

  void showRun(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    blocking(
        ctx,
        200,
        () -> {
          Run run =
              evergreen
                  .store()
                  .findRun(id)
                  .map(RunOwner::failedIfInterrupted)
                  .orElseThrow(
                      () ->
                          EvergreenException.notFound(
                              "run '"
                                  + InferenceRequestDecoder.abbreviate(id)
                                  + "' not found; list runs with GET /api/v1/runs"));
          ObjectNode body = Json.MAPPER.valueToTree(run);
          ValidationReport report = evergreen.store().findValidationReport(id).orElse(null);
          if (report == null) {
            body.putNull("validation_report");
          } else {
            ObjectNode reportNode = Json.MAPPER.valueToTree(report);
            reportNode.put("accepted", report.accepted());
            body.set("validation_report", reportNode);
          }
          return body;
        });
  }

  /**
   * {@code GET /api/v1/runs/{id}/pipeline}: the pipeline file that the run trained with, byte for
   * byte, as {@code application/yaml}, even after the file changed.
   */
  void runPipeline(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    vertx
        .executeBlocking(() -> recordedPipeline(evergreen, id), false)
        .onSuccess(
            bytes ->
                ctx.response()
                    .putHeader(HttpErrors.CONTENT_TYPE, "application/yaml")
                    .end(Buffer.buffer(bytes)))
        .onFailure(ctx::fail);
  }

  /**
   * Returns the pipeline file a run trained with.
   *
   * @throws EvergreenException NOT_FOUND for an unknown run or one without a recorded file
   */
  static byte[] recordedPipeline(Evergreen evergreen, String id) {
    Run run =
        evergreen
            .store()
            .findRun(id)
            .orElseThrow(
                () ->
                    EvergreenException.notFound(
                        "run '"
                            + InferenceRequestDecoder.abbreviate(id)
                            + "' not found; list runs with GET /api/v1/runs"));
    return RecordedPipelines.require(evergreen.artifacts(), run);
  }

  // Audit

  void listAudit(RoutingContext ctx) {
    long after = queryLong(ctx, "after", 0);
    int limit = queryInt(ctx, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT);
    blocking(
        ctx,
        200,
        () -> {
          List<AuditEntry> entries = evergreen.store().listAuditEntries(after, limit);
          Map<String, Object> body = new LinkedHashMap<>();
          body.put("entries", entries);
          body.put("next_after", entries.isEmpty() ? after : entries.getLast().sequence());
          return body;
        });
  }

  /**
   * {@code GET /api/v1/audit/verify}, optionally with {@code ?expect_head=SEQUENCE:HASH}, a head
   * that an earlier verification returned.
   */
  void verifyAudit(RoutingContext ctx) {
    String expected = ctx.queryParams().get("expect_head");
    AuditHead head = expected == null ? null : AuditHead.parse(expected, "expect_head");
    blocking(ctx, 200, () -> evergreen.verifyAudit(head));
  }

  // Tokens

  void createToken(RoutingContext ctx) {
    JsonNode body = Json.parse(ctx.body().buffer());
    JsonNode name = body.get("name");
    JsonNode role = body.get("role");
    if (name == null || !name.isTextual() || name.asText().isBlank()) {
      throw EvergreenException.invalid(
          "request body needs \"name\": a name for the token, such as \"ci-deployer\"");
    }
    if (role == null || !role.isTextual()) {
      throw EvergreenException.invalid("request body needs \"role\": viewer, operator or admin");
    }
    Role parsed;
    try {
      parsed = Role.parse(role.asText());
    } catch (IllegalArgumentException e) {
      throw EvergreenException.invalid(e.getMessage());
    }
    String actor = actor(ctx);
    blocking(
        ctx,
        201,
        () -> {
          IssuedToken issued = evergreen.tokens().create(name.asText(), parsed, actor);
          LOG.info(
              "Created token {} named {} with role {} for {}",
              issued.token().id(),
              issued.token().name(),
              Authenticator.name(parsed),
              actor);
          Map<String, Object> created = describe(issued.token());
          created.put("secret", issued.secret());
          return created;
        });
  }

  void listTokens(RoutingContext ctx) {
    blocking(
        ctx,
        200,
        () -> {
          List<Map<String, Object>> tokens = new ArrayList<>();
          for (Token token : evergreen.tokens().list()) {
            tokens.add(describe(token));
          }
          return Map.of("tokens", tokens);
        });
  }

  void deleteToken(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    String actor = actor(ctx);
    vertx
        .executeBlocking(
            () -> {
              evergreen.tokens().delete(id, actor);
              return id;
            },
            false)
        .onComplete(
            result -> {
              if (result.failed()) {
                ctx.fail(result.cause());
                return;
              }
              authenticator.forget(id);
              LOG.info("Deleted token {} for {}", id, actor);
              ctx.response().setStatusCode(204).end();
            });
  }

  /** Describes a token without its secret hash. */
  private static Map<String, Object> describe(Token token) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("id", token.id());
    body.put("name", token.name());
    body.put("role", Authenticator.name(token.role()));
    body.put("created_at", token.createdAt().toString());
    return body;
  }

  // Helpers

  static String actor(RoutingContext ctx) {
    return Authenticator.token(ctx).name();
  }

  /** Runs store work on a worker thread and sends its result as JSON from the event loop. */
  private <T> void blocking(RoutingContext ctx, int status, Callable<T> work) {
    vertx
        .executeBlocking(work, false)
        .onComplete(
            result -> {
              if (result.failed()) {
                ctx.fail(result.cause());
              } else {
                send(ctx, status, result.result());
              }
            });
  }

  static void send(RoutingContext ctx, int status, Object body) {
    ctx.response()
        .setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, HttpErrors.APPLICATION_JSON)
        .end(Json.encode(body));
  }

  private static Throwable unwrap(Throwable failure) {
    return failure instanceof CompletionException && failure.getCause() != null
        ? failure.getCause()
        : failure;
  }

  private static int pathInt(RoutingContext ctx, String name) {
    String text = ctx.pathParam(name);
    try {
      return Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw EvergreenException.invalid(
          name + " '" + InferenceRequestDecoder.abbreviate(text) + "' is not an integer");
    }
  }

  private static int queryInt(RoutingContext ctx, String name, int fallback, int min, int max) {
    long value = queryLong(ctx, name, fallback);
    if (value < min || value > max) {
      throw EvergreenException.invalid(
          "query parameter '"
              + name
              + "' must be between "
              + min
              + " and "
              + max
              + ", got "
              + value);
    }
    return (int) value;
  }

  private static long queryLong(RoutingContext ctx, String name, long fallback) {
    String text = ctx.request().getParam(name);
    if (text == null || text.isBlank()) {
      return fallback;
    }
    try {
      long value = Long.parseLong(text.trim());
      if (value < 0) {
        throw EvergreenException.invalid(
            "query parameter '" + name + "' must not be negative, got " + value);
      }
      return value;
    } catch (NumberFormatException e) {
      throw EvergreenException.invalid(
          "query parameter '"
              + name
              + "' must be an integer, got '"
              + InferenceRequestDecoder.abbreviate(text)
              + "'");
    }
  }
}
