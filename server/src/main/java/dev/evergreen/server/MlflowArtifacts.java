package dev.evergreen.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.security.Role;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.tracking.ArtifactPaths;
import dev.evergreen.core.tracking.ArtifactRepository;
import dev.evergreen.core.tracking.TrackedRun;
import dev.evergreen.core.tracking.TrackingService;
import dev.evergreen.store.fs.FileArtifactStore;
import dev.evergreen.store.fs.LocalArtifactRepository;
import dev.evergreen.store.sqlite.SqliteMetadataStore;
import dev.evergreen.store.sqlite.SqliteTrackingStore;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.net.URLConnection;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MLflow's artifact proxy ({@code mlflow server --serve-artifacts}): upload, download, list and
 * delete under {@code /api/2.0/mlflow-artifacts/artifacts}, and {@code
 * /api/2.0/mlflow/artifacts/list} for the artifacts of a run, also under {@code /ajax-api}. Runs
 * created through the MLflow API get an {@code artifact_uri} of {@code
 * mlflow-artifacts:/<experiment id>/<run id>/artifacts}; a client turns it into the paths here.
 *
 * <p>Bodies are streamed in both directions: an upload is written in chunks on worker threads while
 * the request is paused, so the 8 MiB body limit of the other endpoints does not apply, and a
 * download is read in {@value #CHUNK_BYTES}-byte chunks that wait for the connection to drain.
 * Writes need the operator role, reads the viewer role.
 */
final class MlflowArtifacts {
  private static final Logger LOG = LoggerFactory.getLogger(MlflowArtifacts.class);

  static final List<String> PREFIXES =
      List.of("/api/2.0/mlflow-artifacts/artifacts", "/ajax-api/2.0/mlflow-artifacts/artifacts");

  /** Folder of the artifacts, next to the content-addressed artifact folder of the home. */
  static final String FOLDER = "mlflow-artifacts";

  static final int CHUNK_BYTES = 64 * 1024;

  /** Received bytes held in memory before the request is paused until the disk catches up. */
  static final int MAX_PENDING_BYTES = 1024 * 1024;

  /**
   * Route orders below that of the first handler, which {@code EvergreenServer} adds first: the
   * path check must see every request, and uploads stream their body to disk instead of reading it
   * through {@link RequestBodies}.
   */
  private static final int CHECK_ORDER = -2;

  private static final int UPLOAD_ORDER = -1;

  private final Vertx vertx;
  private final ArtifactRepository repository;
  private final TrackingService tracking;

  private MlflowArtifacts(Vertx vertx, ArtifactRepository repository, TrackingService tracking) {
    this.vertx = vertx;
    this.repository = repository;
    this.tracking = tracking;
  }

  /**
   * Adds the artifact routes to a router. With the local artifact store the files live in {@code
   * <home>/mlflow-artifacts}; with another store the routes return 501.
   */
  static void register(
      Router router, Vertx vertx, Evergreen evergreen, Authenticator authenticator) {
    ArtifactRepository repository = null;
    if (evergreen.artifacts() instanceof FileArtifactStore files) {
      repository = LocalArtifactRepository.open(files.root().resolveSibling(FOLDER));
    } else {
      LOG.warn(
          "MLflow artifacts are disabled because the artifact store is a {}, not a local folder",
          evergreen.artifacts().getClass().getSimpleName());
    }
    TrackingService tracking = null;
    if (evergreen.store() instanceof SqliteMetadataStore sqlite) {
      tracking =
          new TrackingService(
              evergreen.store(),
              new SqliteTrackingStore(sqlite),
              evergreen.artifacts(),
              evergreen.audit(),
              evergreen.clock());
    }
    new MlflowArtifacts(vertx, repository, tracking).routes(router, authenticator);
  }

  private void routes(Router router, Authenticator authenticator) {
    router.route().order(CHECK_ORDER).handler(MlflowArtifacts::checkPath);
    for (String prefix : PREFIXES) {
      String files = prefix + "/*";
      String endpoint = prefix + "/{path}";
      router
          .route(HttpMethod.PUT, files)
          .order(UPLOAD_ORDER)
          .handler(MlflowArtifacts::pauseBody)
          .handler(authenticator.requireBeforeStream(Role.OPERATOR, "PUT " + endpoint))
          .handler(this::upload);
      router
          .route(HttpMethod.GET, prefix)
          .handler(authenticator.require(Role.VIEWER, "GET " + prefix))
          .handler(ctx -> respond(ctx, () -> list(ctx.request().getParam("path"))));
      router
          .route(HttpMethod.GET, files)
          .handler(authenticator.require(Role.VIEWER, "GET " + endpoint))
          .handler(this::download);
      router
          .route(HttpMethod.DELETE, files)
          .handler(authenticator.require(Role.OPERATOR, "DELETE " + endpoint))
          .handler(ctx -> respond(ctx, () -> delete(artifactPath(ctx))));
    }
    for (String prefix : MlflowApi.PREFIXES) {
      String path = prefix + "/artifacts/list";
      for (HttpMethod method : List.of(HttpMethod.GET, HttpMethod.POST)) {
        router
            .route(method, path)
            .handler(authenticator.require(Role.VIEWER, method.name() + " " + path))
            .handler(ctx -> respond(ctx, () -> listRun(MlflowRequest.of(ctx))));
      }
    }
  }

  // Path checks

  /**
   * Rejects a request under an artifact prefix whose path is invalid. It looks at the path as sent,
   * because the router matches the path after removing {@code .} and {@code ..} segments.
   */
  private static void checkPath(RoutingContext ctx) {
    String raw = ctx.request().path();
    for (String prefix : PREFIXES) {
      if (raw != null && raw.startsWith(prefix + "/")) {
        try {
          ArtifactPaths.segments(decode(raw.substring(prefix.length() + 1)), false);
        } catch (EvergreenException e) {
          RequestBodies.dropUnreadBody(ctx);
          MlflowApi.sendError(ctx, e);
          return;
        }
        break;
      }
    }
    ctx.next();
  }

  /** Returns the artifact path of a request under an artifact prefix, percent-decoded. */
  private static String artifactPath(RoutingContext ctx) {
    String raw = ctx.request().path();
    for (String prefix : PREFIXES) {
      if (raw.startsWith(prefix + "/")) {
        return decode(raw.substring(prefix.length() + 1));
      }
    }
    // Reached only through a path that the router normalized into the prefix.
    throw ArtifactPaths.invalid(raw, "it contains '.' or '..' segments");
  }

  private static String decode(String raw) {
    try {
      // URLDecoder turns '+' into a space, which is right for forms but not for paths.
      return URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw ArtifactPaths.invalid(raw, "it contains an invalid percent escape");
    }
  }

  // Upload

  /**
   * Pauses the request body until the upload handler reads it, so that nothing is lost while the
   * token is checked.
   */
  private static void pauseBody(RoutingContext ctx) {
    ctx.request().pause();
    RequestBodies.dropUnreadBody(ctx);
    ctx.next();
  }

  private void upload(RoutingContext ctx) {
    if (unavailable(ctx)) {
      return;
    }
    String path;
    try {
      path = artifactPath(ctx);
    } catch (EvergreenException e) {
      MlflowApi.sendError(ctx, e);
      return;
    }
    vertx
        .executeBlocking(() -> repository.upload(path), false)
        .onComplete(
            opened -> {
              if (opened.failed()) {
                sendFailure(ctx, opened.cause());
                return;
              }
              new UploadSession(ctx, path, opened.result()).start();
            });
  }

  /**
   * Copies one request body into an upload. Received chunks collect in memory while a write runs on
   * a worker thread, and the request is paused while more than {@link #MAX_PENDING_BYTES} wait. All
   * methods run on the request's event loop.
   */
  private final class UploadSession {
    private final RoutingContext ctx;
    private final HttpServerRequest request;
    private final String path;
    private final ArtifactRepository.Upload upload;
    private Buffer pending = Buffer.buffer();
    private long received;
    private boolean writing;
    private boolean ended;
    private boolean committing;
    private boolean failed;

    UploadSession(RoutingContext ctx, String path, ArtifactRepository.Upload upload) {
      this.ctx = ctx;
      this.request = ctx.request();
      this.path = path;
      this.upload = upload;
    }

    void start() {
      request.handler(this::receive);
      request.endHandler(v -> end());
      request.exceptionHandler(this::fail);
      if ("100-continue".equalsIgnoreCase(request.getHeader(HttpHeaders.EXPECT))) {
        ctx.response().writeContinue();
      }
      request.resume();
    }

    private void receive(Buffer chunk) {
      if (failed || committing) {
        return;
      }
      pending.appendBuffer(chunk);
      received += chunk.length();
      if (pending.length() >= MAX_PENDING_BYTES) {
        request.pause();
      }
      writeNext();
    }

    private void end() {
      ended = true;
      writeNext();
    }

    /** Starts the next write, or the commit once the body has ended and everything is written. */
    private void writeNext() {
      if (writing || failed || committing) {
        return;
      }
      if (pending.length() > 0) {
        byte[] bytes = pending.getBytes();
        pending = Buffer.buffer();
        writing = true;
        vertx
            .executeBlocking(
                () -> {
                  upload.write(ByteBuffer.wrap(bytes));
                  return null;
                },
                false)
            .onComplete(
                written -> {
                  writing = false;
                  if (failed) {
                    discard();
                    return;
                  }
                  if (written.failed()) {
                    fail(written.cause());
                    return;
                  }
                  if (!ended) {
                    request.resume();
                  }
                  writeNext();
                });
        return;
      }
      if (ended) {
        committing = true;
        vertx
            .executeBlocking(
                () -> {
                  try (upload) {
                    upload.commit();
                  }
                  return null;
                },
                false)
            .onComplete(
                committed -> {
                  if (committed.failed()) {
                    sendFailure(ctx, committed.cause());
                    return;
                  }
                  LOG.debug("Stored MLflow artifact {} ({} bytes)", path, received);
                  sendJson(ctx, MlflowApi.object());
                });
      }
    }

    /** Discards the upload after a failed write or a broken connection. */
    private void fail(Throwable cause) {
      if (failed || committing) {
        return;
      }
      failed = true;
      pending = Buffer.buffer();
      if (!writing) {
        discard();
      }
      if (!(cause instanceof EvergreenException)) {
        LOG.info("Upload of MLflow artifact {} failed after {} bytes: {}", path, received, cause);
      }
      sendFailure(ctx, cause);
    }

    /** Closes the upload, deleting its temporary file; called once no write is running. */
    private void discard() {
      vertx
          .executeBlocking(
              () -> {
                upload.close();
                return null;
              },
              false)
          .onFailure(e -> LOG.warn("Could not discard the upload of MLflow artifact {}", path, e));
    }
  }

  // Download

  private void download(RoutingContext ctx) {
    if (unavailable(ctx)) {
      return;
    }
    String path;
    try {
      path = artifactPath(ctx);
    } catch (EvergreenException e) {
      MlflowApi.sendError(ctx, e);
      return;
    }
    vertx
        .executeBlocking(() -> repository.open(path), false)
        .onComplete(
            opened -> {
              if (opened.failed()) {
                sendFailure(ctx, opened.cause());
                return;
              }
              ArtifactRepository.Content content = opened.result();
              String name = path.substring(path.lastIndexOf('/') + 1);
              String type = URLConnection.guessContentTypeFromName(name);
              // Sent as an attachment with nosniff, as MLflow does, so that browsers download an
              // uploaded file instead of rendering it as a page of this server.
              ctx.response()
                  .putHeader(
                      HttpHeaders.CONTENT_TYPE, type == null ? "application/octet-stream" : type)
                  .putHeader(HttpHeaders.CONTENT_LENGTH, Long.toString(content.size()))
                  .putHeader(
                      "Content-Disposition",
                      "attachment; filename*=UTF-8''"
                          + URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20"))
                  .putHeader("X-Content-Type-Options", "nosniff");
              sendChunks(ctx, path, content);
            });
  }

  /** Sends the next chunk of a file once the previous one fits into the connection's buffer. */
  private void sendChunks(RoutingContext ctx, String path, ArtifactRepository.Content content) {
    HttpServerResponse response = ctx.response();
    vertx
        .executeBlocking(() -> content.stream().readNBytes(CHUNK_BYTES), false)
        .onComplete(
            read -> {
              if (read.failed()) {
                closeQuietly(content, path);
                LOG.error("Reading MLflow artifact {} failed", path, read.cause());
                if (response.headWritten()) {
                  response.reset();
                } else {
                  sendFailure(ctx, read.cause());
                }
                return;
              }
              if (response.closed()) {
                closeQuietly(content, path);
                return;
              }
              byte[] bytes = read.result();
              if (bytes.length == 0) {
                closeQuietly(content, path);
                response.end();
                return;
              }
              response.write(Buffer.buffer(bytes));
              if (response.writeQueueFull()) {
                response.drainHandler(v -> sendChunks(ctx, path, content));
              } else {
                sendChunks(ctx, path, content);
              }
            });
  }

  private static void closeQuietly(ArtifactRepository.Content content, String path) {
    try {
      content.close();
    } catch (IOException e) {
      LOG.warn("Could not close MLflow artifact {}", path, e);
    }
  }

  // List and delete

  private ObjectNode list(String path) throws IOException {
    ObjectNode body = MlflowApi.object();
    ArrayNode files = body.putArray("files");
    for (ArtifactRepository.Entry entry : repository.list(path == null ? "" : path)) {
      files.add(fileInfo(entry.name(), entry));
    }
    return body;
  }

  private ObjectNode delete(String path) throws IOException {
    repository.delete(path);
    LOG.debug("Deleted MLflow artifact {}", path);
    return MlflowApi.object();
  }

  /**
   * Lists the artifacts of a run; file paths are relative to the run's artifact root, as in MLflow.
   */
  private ObjectNode listRun(MlflowRequest request) throws IOException {
    if (tracking == null) {
      throw new EvergreenException(
          ErrorKind.UNAVAILABLE,
          "MLflow tracking needs the SQLite metadata store; start the server with one");
    }
    TrackedRun run = tracking.run(request.runId());
    String relative = request.text("path") == null ? "" : request.text("path");
    ArtifactPaths.segments(relative, true);
    ObjectNode body = MlflowApi.object();
    body.put("root_uri", run.artifactUri());
    ArrayNode files = body.putArray("files");
    if (run.artifactUri().isEmpty()) {
      return body;
    }
    String root = repositoryPath(run);
    String folder = relative.isEmpty() ? root : root + "/" + relative;
    for (ArtifactRepository.Entry entry : repository.list(folder)) {
      files.add(fileInfo(relative.isEmpty() ? entry.name() : relative + "/" + entry.name(), entry));
    }
    return body;
  }

  /** Returns the repository path of a run's {@code mlflow-artifacts:} URI. */
  private static String repositoryPath(TrackedRun run) {
    String uri = run.artifactUri();
    if (!uri.startsWith(TrackingService.ARTIFACT_SCHEME)) {
      throw EvergreenException.invalid(
          "run "
              + run.id()
              + " stores its artifacts at '"
              + uri
              + "', which this server does not serve; read them from that location");
    }
    String path = uri.substring(TrackingService.ARTIFACT_SCHEME.length());
    if (path.startsWith("//")) {
      // mlflow-artifacts://host:port/path names a server; the path is the part after it.
      int slash = path.indexOf('/', 2);
      path = slash < 0 ? "" : path.substring(slash);
    }
    while (path.startsWith("/")) {
      path = path.substring(1);
    }
    ArtifactPaths.segments(path, true);
    return path;
  }

  private static ObjectNode fileInfo(String path, ArtifactRepository.Entry entry) {
    ObjectNode node = MlflowApi.object();
    node.put("path", path);
    node.put("is_dir", entry.directory());
    if (entry.size() != null) {
      node.put("file_size", entry.size());
    }
    return node;
  }

  // Responses

  private boolean unavailable(RoutingContext ctx) {
    if (repository != null) {
      return false;
    }
    sendStatus(
        ctx,
        501,
        "NOT_IMPLEMENTED",
        "MLflow artifacts need the local artifact store; start the server with one");
    return true;
  }

  /** Runs blocking work on a worker thread and sends its JSON result or its error. */
  private void respond(RoutingContext ctx, Callable<ObjectNode> work) {
    if (unavailable(ctx)) {
      return;
    }
    vertx
        .executeBlocking(work, false)
        .onComplete(
            result -> {
              if (result.succeeded()) {
                sendJson(ctx, result.result());
              } else {
                sendFailure(ctx, result.cause());
              }
            });
  }

  private static void sendJson(RoutingContext ctx, ObjectNode body) {
    ctx.response()
        .setStatusCode(200)
        .putHeader(HttpHeaders.CONTENT_TYPE, HttpErrors.APPLICATION_JSON)
        .end(Json.encode(body));
  }

  private static void sendFailure(RoutingContext ctx, Throwable cause) {
    if (cause instanceof EvergreenException e) {
      MlflowApi.sendError(ctx, e);
      return;
    }
    LOG.error("MLflow artifact request {} failed", ctx.request().path(), cause);
    sendStatus(ctx, 500, "INTERNAL_ERROR", "internal error; the server log has the details");
  }

  private static void sendStatus(RoutingContext ctx, int status, String code, String message) {
    if (ctx.response().ended() || ctx.response().headWritten()) {
      return;
    }
    ObjectNode body = MlflowApi.object();
    body.put("error_code", code);
    body.put("message", message);
    ctx.response()
        .setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, HttpErrors.APPLICATION_JSON)
        .end(Buffer.buffer(body.toString()));
  }
}
