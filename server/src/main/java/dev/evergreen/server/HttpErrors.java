package dev.evergreen.server;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.inference.InferenceRouter;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The one mapping from {@link ErrorKind} to HTTP status, and the {@code {"error": ...}} body. */
final class HttpErrors {
  private static final Logger LOG = LoggerFactory.getLogger(HttpErrors.class);

  static final String CONTENT_TYPE = "content-type";
  static final String APPLICATION_JSON = "application/json";
  static final String RETRY_AFTER = "retry-after";

  /** Largest accepted request body: 8 MiB. */
  static final long MAX_BODY_BYTES = 8L * 1024 * 1024;

  private HttpErrors() {}

  static int status(ErrorKind kind) {
    return switch (kind) {
      case INVALID_INPUT -> 400;
      case UNAUTHENTICATED -> 401;
      case FORBIDDEN -> 403;
      case NOT_FOUND -> 404;
      case CONFLICT, ALREADY_EXISTS -> 409;
      case INTERNAL -> 500;
      case UNAVAILABLE -> 503;
    };
  }

  /**
   * Sends {@code {"error": message}} with a status, unless a response was already sent. Under the
   * MLflow tracking paths the body is MLflow's {@code {"error_code": ..., "message": ...}} instead,
   * so that MLflow clients can read authentication and routing failures too. The MLflow scoring
   * endpoints send MLflow's two fields and {@code error} as well, so that clients of {@code mlflow
   * models serve} and of Evergreen's other protocols both find theirs.
   */
  static void send(RoutingContext ctx, int status, String message) {
    HttpServerResponse response = ctx.response();
    if (response.ended() || response.headWritten()) {
      return;
    }
    String path = ctx.request().path();
    Buffer body =
        isMlflowPath(path)
            ? mlflowBody(mlflowErrorCode(status), message, false)
            : isMlflowScoringPath(path)
                ? mlflowBody(mlflowScoringErrorCode(status), message, true)
                : body(message);
    RequestBodies.dropUnreadBody(ctx);
    if (status == 503) {
      // A model that is loading or a full batching queue frees up within seconds.
      response.putHeader(RETRY_AFTER, Integer.toString(InferenceRouter.retryAfterSeconds()));
    }
    response.setStatusCode(status).putHeader(CONTENT_TYPE, APPLICATION_JSON).end(body);
  }

  static boolean isMlflowPath(String path) {
    return path != null
        && (path.startsWith("/api/2.0/mlflow") || path.startsWith("/ajax-api/2.0/mlflow"));
  }

  /** Returns whether a path is one of the endpoints of MLflow's scoring server. */
  static boolean isMlflowScoringPath(String path) {
    return "/invocations".equals(path)
        || "/ping".equals(path)
        || "/health".equals(path)
        || "/version".equals(path);
  }

  /**
   * Returns the MLflow error code for an HTTP status of the scoring endpoints, where MLflow's
   * scoring server reports a request that does not fit the model as {@code BAD_REQUEST}.
   */
  static String mlflowScoringErrorCode(int status) {
    return switch (status) {
      case 400, 413, 415 -> "BAD_REQUEST";
      default -> mlflowErrorCode(status);
    };
  }

  /** Returns the MLflow error code for an HTTP status, as MLflow's tracking server uses them. */
  static String mlflowErrorCode(int status) {
    return switch (status) {
      case 401 -> "UNAUTHENTICATED";
      case 403 -> "PERMISSION_DENIED";
      case 404, 405 -> "ENDPOINT_NOT_FOUND";
      case 409 -> "INVALID_STATE";
      case 400, 413 -> "INVALID_PARAMETER_VALUE";
      case 503 -> "TEMPORARILY_UNAVAILABLE";
      default -> "INTERNAL_ERROR";
    };
  }

  /**
   * Returns MLflow's error body.
   *
   * @param withError whether to add {@code error}, the field of Evergreen's other endpoints
   */
  private static Buffer mlflowBody(String errorCode, String message, boolean withError) {
    ByteArrayBuilder bytes = new ByteArrayBuilder(96 + 2 * message.length());
    try (JsonGenerator json = Json.FACTORY.createGenerator(bytes)) {
      json.writeStartObject();
      json.writeStringField("error_code", errorCode);
      json.writeStringField("message", message);
      if (withError) {
        json.writeStringField("error", message);
      }
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Buffer.buffer(bytes.toByteArray());
  }

  static void send(RoutingContext ctx, EvergreenException e) {
    send(ctx, status(e.kind()), e.getMessage());
  }

  static Buffer body(String message) {
    ByteArrayBuilder bytes = new ByteArrayBuilder(64 + message.length());
    try (JsonGenerator json = Json.FACTORY.createGenerator(bytes)) {
      json.writeStartObject();
      json.writeStringField("error", message);
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Buffer.buffer(bytes.toByteArray());
  }

  /**
   * Responds to a failed route: Evergreen errors with their status and message, status-only
   * failures raised by Vert.x (such as 413 from the body handler) with a fixed message, and
   * anything else with a logged 500 that reveals nothing of the cause.
   */
  static void handleFailure(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    String path = ctx.request().path();
    if (failure instanceof EvergreenException e) {
      if (e.kind() == ErrorKind.INTERNAL) {
        LOG.error("{} {} failed: {}", ctx.request().method(), path, e.getMessage(), e);
      } else {
        // Client errors are expected traffic, so they are logged below the default level.
        LOG.debug("{} {} rejected: {}", ctx.request().method(), path, e.getMessage());
      }
      send(ctx, e);
      return;
    }
    if (failure == null) {
      int status = ctx.statusCode();
      send(ctx, status, statusMessage(ctx, status));
      return;
    }
    if (failure instanceof HttpClosedException) {
      // The client closed the connection before its body arrived, so no response can be sent.
      LOG.debug("{} {}: the client closed the connection", ctx.request().method(), path);
      return;
    }
    LOG.error("Unexpected failure of {} {}", ctx.request().method(), path, failure);
    send(ctx, 500, "internal server error; the server log has the details");
  }

  static String statusMessage(RoutingContext ctx, int status) {
    return switch (status) {
      case 404 -> "no endpoint " + ctx.request().method() + " " + ctx.request().path();
      case 405 -> "method " + ctx.request().method() + " is not allowed on " + ctx.request().path();
      case 413 ->
          "request body is larger than the limit of "
              + MAX_BODY_BYTES / (1024 * 1024)
              + " MiB; "
              + (ctx.request().path().startsWith("/api/v1/models/")
                  ? "register a larger model file with the CLI: evergreen models register"
                  : "send fewer rows per request");
      case 400 -> "bad request";
      default -> "request failed with HTTP status " + status;
    };
  }
}
