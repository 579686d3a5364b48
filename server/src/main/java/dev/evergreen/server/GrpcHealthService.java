package dev.evergreen.server;

import dev.evergreen.server.grpc.health.HealthCheckRequest;
import dev.evergreen.server.grpc.health.HealthCheckResponse;
import dev.evergreen.server.grpc.health.HealthCheckResponse.ServingStatus;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerRequest;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC health checking service, {@code grpc.health.v1.Health}, for probes that speak it, such
 * as Kubernetes' gRPC probes and {@code grpc_health_probe}. It needs no token, as the Open
 * Inference Protocol's ServerLive and ServerReady, to which its service names map:
 *
 * <ul>
 *   <li>the empty name, the server as a whole: SERVING while the server runs, also while it drains
 *       for a shutdown, as ServerLive, so that a liveness probe does not fail then;
 *   <li>{@code inference.GRPCInferenceService}: SERVING when every model with a {@code champion}
 *       alias has a version serving, else NOT_SERVING, as ServerReady;
 *   <li>any other name: the call ends with NOT_FOUND, as the protocol specifies for Check.
 * </ul>
 *
 * <p>Watch ends with UNIMPLEMENTED, which the protocol lets clients take as "this server does not
 * stream its health". Served, it would let callers without a token hold streams open for as long as
 * they wish, while every other call on this port ends within 60 s.
 */
final class GrpcHealthService {
  private static final Logger LOG = LoggerFactory.getLogger(GrpcHealthService.class);

  static final ServiceName SERVICE = ServiceName.create("grpc.health.v1", "Health");

  /** Request paths of the service's methods, none of which needs a token. */
  static final Set<String> PATHS = Set.of(SERVICE.pathOf("Check"), SERVICE.pathOf("Watch"));

  /** The service name whose status is the server's readiness to score. */
  static final String INFERENCE = GrpcInferenceService.SERVICE.fullyQualifiedName();

  private final Vertx vertx;
  private final Readiness readiness;

  GrpcHealthService(Vertx vertx, Readiness readiness) {
    this.vertx = vertx;
    this.readiness = readiness;
  }

  /** Registers Check and Watch on a Vert.x gRPC server. */
  void register(GrpcServer server) {
    server.callHandler(method("Check"), this::check);
    server.callHandler(
        method("Watch"),
        call ->
            call.response()
                .status(GrpcStatus.UNIMPLEMENTED)
                .statusMessage(
                    "Watch is not served; call Check, which answers at once, as often as needed")
                .end());
  }

  private static ServiceMethod<HealthCheckRequest, HealthCheckResponse> method(String name) {
    return ServiceMethod.server(
        SERVICE,
        name,
        GrpcMessageEncoder.encoder(),
        GrpcMessageDecoder.decoder(HealthCheckRequest.getDefaultInstance()));
  }

  private void check(GrpcServerRequest<HealthCheckRequest, HealthCheckResponse> call) {
    call.last()
        .onSuccess(
            request ->
                status(request.getService())
                    .onSuccess(
                        status ->
                            send(call, HealthCheckResponse.newBuilder().setStatus(status).build()))
                    .onFailure(failure -> fail(call, request.getService(), failure)))
        .onFailure(
            failure ->
                end(
                    call,
                    GrpcStatus.INVALID_ARGUMENT,
                    "the request is not a valid HealthCheckRequest message"));
  }

  /** Returns the status of a service, or fails with NOT_FOUND for a name it does not know. */
  private Future<ServingStatus> status(String service) {
    if (service.isEmpty()) {
      return Future.succeededFuture(ServingStatus.SERVING);
    }
    if (service.equals(INFERENCE)) {
      return vertx.executeBlocking(
          () ->
              readiness.notReadyReason() == null
                  ? ServingStatus.SERVING
                  : ServingStatus.NOT_SERVING,
          false);
    }
    return Future.failedFuture(new UnknownService(service));
  }

  private static void send(
      GrpcServerRequest<HealthCheckRequest, HealthCheckResponse> call,
      HealthCheckResponse response) {
    try {
      call.response().send(response);
    } catch (IllegalStateException e) {
      LOG.debug("gRPC health check had ended before its response could be sent");
    }
  }

  private static void fail(GrpcServerRequest<?, ?> call, String service, Throwable failure) {
    if (failure instanceof UnknownService) {
      end(call, GrpcStatus.NOT_FOUND, failure.getMessage());
      return;
    }
    LOG.error("gRPC health check of '{}' failed", service, failure);
    end(call, GrpcStatus.INTERNAL, "the health check failed: " + failure);
  }

  private static void end(GrpcServerRequest<?, ?> call, GrpcStatus status, String message) {
    try {
      call.response().status(status).statusMessage(message).end();
    } catch (IllegalStateException e) {
      LOG.debug("gRPC health check had ended before its status {} could be sent", status);
    }
  }

  /** A service name that Check does not know; it becomes NOT_FOUND. */
  private static final class UnknownService extends RuntimeException {
    UnknownService(String service) {
      super(
          "service '"
              + InferenceRequestDecoder.abbreviate(service)
              + "' is unknown; check '' for the server or '"
              + INFERENCE
              + "' for its readiness to score",
          null,
          false,
          false);
    }
  }
}
