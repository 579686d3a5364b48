package dev.evergreen.server;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.security.Role;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.deployment.DeploymentManager;
import dev.evergreen.core.deployment.ServingState;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.TensorSpec;
import dev.evergreen.server.grpc.InferTensorContents;
import dev.evergreen.server.grpc.ModelInferRequest;
import dev.evergreen.server.grpc.ModelInferResponse;
import dev.evergreen.server.grpc.ModelMetadataRequest;
import dev.evergreen.server.grpc.ModelMetadataResponse;
import dev.evergreen.server.grpc.ModelReadyRequest;
import dev.evergreen.server.grpc.ModelReadyResponse;
import dev.evergreen.server.grpc.ServerLiveRequest;
import dev.evergreen.server.grpc.ServerLiveResponse;
import dev.evergreen.server.grpc.ServerMetadataRequest;
import dev.evergreen.server.grpc.ServerMetadataResponse;
import dev.evergreen.server.grpc.ServerReadyRequest;
import dev.evergreen.server.grpc.ServerReadyResponse;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.GrpcServerResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Set;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Open Inference Protocol (KServe V2) gRPC service {@code inference.GRPCInferenceService} on Vert.x
 * gRPC, so calls run on the same event loops as the HTTP API.
 *
 * <p>ServerLive and ServerReady need no token, as {@code /v2/health/*} over HTTP; the other methods
 * need a viewer token in the {@code authorization} metadata, {@code Bearer <token>}. Errors are
 * gRPC statuses: INVALID_ARGUMENT for a request that does not fit the model, NOT_FOUND for an
 * unknown model or version, UNAVAILABLE for a registered model with no version serving,
 * UNAUTHENTICATED and PERMISSION_DENIED for tokens. ModelInfer responds with {@code
 * raw_output_contents} when the request sent {@code raw_input_contents}, and with typed {@code
 * contents} otherwise; the protocol leaves this choice to the server.
 */
final class GrpcInferenceService {
  private static final Logger LOG = LoggerFactory.getLogger(GrpcInferenceService.class);

  static final ServiceName SERVICE = ServiceName.create("inference", "GRPCInferenceService");

  /** Request paths of the methods that need no token: ServerLive and ServerReady. */
  static final Set<String> PATHS_WITHOUT_TOKEN =
      Set.of(SERVICE.pathOf("ServerLive"), SERVICE.pathOf("ServerReady"));

  private final Vertx vertx;
  private final Evergreen evergreen;
  private final DeploymentManager deployments;
  private final Authenticator authenticator;
  private final InferenceMetrics metrics;
  private final Readiness readiness;

  GrpcInferenceService(
      Vertx vertx,
      Evergreen evergreen,
      Authenticator authenticator,
      InferenceMetrics metrics,
      Readiness readiness) {
    this.vertx = vertx;
    this.evergreen = evergreen;
    this.deployments = evergreen.deployments();
    this.authenticator = authenticator;
    this.metrics = metrics;
    this.readiness = readiness;
  }

  /** Registers the six methods of the service on a Vert.x gRPC server. */
  void register(GrpcServer server) {
    unary(server, "ServerLive", ServerLiveRequest.getDefaultInstance(), null, this::live);
    unary(server, "ServerReady", ServerReadyRequest.getDefaultInstance(), null, this::ready);
    unary(
        server,
        "ModelReady",
        ModelReadyRequest.getDefaultInstance(),
        Role.VIEWER,
        this::modelReady);
    unary(
        server,
        "ServerMetadata",
        ServerMetadataRequest.getDefaultInstance(),
        Role.VIEWER,
        this::serverMetadata);
    unary(
        server,
        "ModelMetadata",
        ModelMetadataRequest.getDefaultInstance(),
        Role.VIEWER,
        this::modelMetadata);
    unary(server, "ModelInfer", ModelInferRequest.getDefaultInstance(), Role.VIEWER, this::infer);
  }

  private static <Req extends Message, Resp extends Message> ServiceMethod<Req, Resp> method(
      String name, Req prototype) {
    return ServiceMethod.server(
        SERVICE, name, GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(prototype));
  }

  /**
   * Registers a unary method whose handler returns the response, or fails with an {@link
   * EvergreenException} that becomes the call's status.
   *
   * @param role the role a token needs, null for a method without a token
   */
  private <Req extends Message, Resp extends Message> void unary(
      GrpcServer server,
      String name,
      Req prototype,
      Role role,
      BiFunction<Req, MultiMap, Future<Resp>> handler) {
    ServiceMethod<Req, Resp> method = method(name, prototype);
    server.callHandler(
        method,
        call -> {
          if (role == null) {
            respond(call, name, handler);
            return;
          }
          // The message is handled only after the token passed. Pausing stops its delivery but
          // not the reading of its bytes, which GrpcBodies counts against the budget meanwhile.
          call.pause();
          authenticated(
              call,
              role,
              () -> {
                respond(call, name, handler);
                call.resume();
              });
        });
  }

  private static <Req extends Message, Resp extends Message> void respond(
      GrpcServerRequest<Req, Resp> call,
      String name,
      BiFunction<Req, MultiMap, Future<Resp>> handler) {
    call.last()
        .onSuccess(
            request ->
                handler
                    .apply(request, call.headers())
                    .onSuccess(response -> send(call, name, response))
                    .onFailure(failure -> fail(call.response(), name, failure)))
        .onFailure(
            failure ->
                fail(
                    call.response(),
                    name,
                    EvergreenException.invalid(
                        "the request is not a valid "
                            + name
                            + "Request message: "
                            + decodeProblem(failure))));
  }

  /** Runs {@code action} when the call's token has {@code role}, else ends the call. */
  private void authenticated(GrpcServerRequest<?, ?> call, Role role, Runnable action) {
    String endpoint = call.fullMethodName();
    authenticator
        .verify(call.headers().get("authorization"), role, endpoint, endpoint)
        .onSuccess(token -> action.run())
        .onFailure(failure -> fail(call.response(), endpoint, failure));
  }

  private Future<ServerLiveResponse> live(ServerLiveRequest request, MultiMap headers) {
    return Future.succeededFuture(ServerLiveResponse.newBuilder().setLive(true).build());
  }

  /** Ready when every model with a {@code champion} alias has a version serving. */
  private Future<ServerReadyResponse> ready(ServerReadyRequest request, MultiMap headers) {
    return vertx.executeBlocking(
        () -> ServerReadyResponse.newBuilder().setReady(readiness.notReadyReason() == null).build(),
        false);
  }

  private Future<ServerMetadataResponse> serverMetadata(
      ServerMetadataRequest request, MultiMap headers) {
    return Future.succeededFuture(
        ServerMetadataResponse.newBuilder()
            .setName(InferenceApi.SERVER_NAME)
            .setVersion(InferenceApi.serverVersion())
            .build());
  }

  /**
   * Returns ready true when the version is loaded, false when the model is registered but that
   * version does not serve, and fails with NOT_FOUND for an unknown model.
   */
  private Future<ModelReadyResponse> modelReady(ModelReadyRequest request, MultiMap headers) {
    ServingState state = deployments.serving(request.getName()).orElse(null);
    if (state == null) {
      return notServing(request.getName())
          .recover(
              failure ->
                  failure instanceof EvergreenException e && e.kind() == ErrorKind.UNAVAILABLE
                      ? Future.succeededFuture(null)
                      : Future.failedFuture(failure))
          .map(ignored -> ModelReadyResponse.newBuilder().setReady(false).build());
    }
    try {
      select(state, request.getVersion());
      return Future.succeededFuture(ModelReadyResponse.newBuilder().setReady(true).build());
    } catch (EvergreenException e) {
      if (e.kind() == ErrorKind.NOT_FOUND) {
        return Future.succeededFuture(ModelReadyResponse.newBuilder().setReady(false).build());
      }
      return Future.failedFuture(e);
    }
  }

  private Future<ModelMetadataResponse> modelMetadata(
      ModelMetadataRequest request, MultiMap headers) {
    ServingState state = deployments.serving(request.getName()).orElse(null);
    if (state == null) {
      return notServing(request.getName());
    }
    ServableModel model;
    try {
      model = select(state, request.getVersion());
    } catch (EvergreenException e) {
      return Future.failedFuture(e);
    }
    ModelMetadataResponse.Builder metadata =
        ModelMetadataResponse.newBuilder()
            .setName(request.getName())
            .addAllVersions(InferenceApi.addressableVersions(state))
            .setPlatform(model.platform());
    model.signature().inputs().forEach(spec -> metadata.addInputs(tensorMetadata(spec)));
    model.signature().outputs().forEach(spec -> metadata.addOutputs(tensorMetadata(spec)));
    return Future.succeededFuture(metadata.build());
  }

  private static ModelMetadataResponse.TensorMetadata tensorMetadata(TensorSpec spec) {
    return ModelMetadataResponse.TensorMetadata.newBuilder()
        .setName(spec.name())
        .setDatatype(spec.datatype())
        .addAllShape(spec.shape())
        .build();
  }

  /**
   * Scores through the {@link dev.evergreen.core.inference.InferenceRouter}, as every protocol
   * does, so canaries, shadows and batching apply; the canary's routing key header is read from the
   * call's metadata.
   */
  private Future<ModelInferResponse> infer(ModelInferRequest request, MultiMap headers) {
    long start = System.nanoTime();
    ServingState state = deployments.serving(request.getModelName()).orElse(null);
    if (state == null) {
      return notServing(request.getModelName());
    }
    Integer version;
    try {
      version =
          request.getModelVersion().isEmpty() ? null : parseVersion(request.getModelVersion());
    } catch (EvergreenException e) {
      return Future.failedFuture(e);
    }
    Scoring<GrpcRequestDecoder.Decoded> scoring =
        new Scoring<>(
            evergreen.router(),
            metrics,
            InferenceMetrics.Protocol.GRPC,
            model -> GrpcRequestDecoder.decode(request, model),
            GrpcRequestDecoder.Decoded::batch);
    Promise<ModelInferResponse> response = Promise.promise();
    scoring.run(
        vertx,
        state,
        version,
        headers.get(Scoring.keyHeader(state)),
        start,
        request.getSerializedSize(),
        (model, decoded, scores) ->
            response.complete(encode(model, request.getId(), decoded, scores)),
        response::fail);
    return response.future();
  }

  /**
   * Builds the response with the scores as one FP64 tensor, shaped {@code [rows]} for one value per
   * row and {@code [rows, width]} otherwise, as the REST API does. The tensor is left out when the
   * request names outputs without it.
   */
  static ModelInferResponse encode(
      ServableModel model, String id, GrpcRequestDecoder.Decoded request, double[] scores) {
    int rows = request.batch().rows();
    int width = model.outputWidth();
    List<TensorSpec> outputs = model.signature().outputs();
    String outputName = outputs.isEmpty() ? "output" : outputs.get(0).name();
    boolean matrix = width > 1 || (!outputs.isEmpty() && outputs.get(0).shape().size() > 1);
    ModelInferResponse.Builder response =
        ModelInferResponse.newBuilder()
            .setModelName(model.model())
            .setModelVersion(Integer.toString(model.version()))
            .setId(id);
    if (!request.outputs().isEmpty() && !request.outputs().contains(outputName)) {
      return response.build();
    }
    ModelInferResponse.InferOutputTensor.Builder tensor =
        response.addOutputsBuilder().setName(outputName).setDatatype("FP64").addShape(rows);
    if (matrix) {
      tensor.addShape(width);
    }
    if (request.raw()) {
      ByteBuffer bytes =
          ByteBuffer.allocate(scores.length * Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      bytes.asDoubleBuffer().put(scores);
      response.addRawOutputContents(ByteString.copyFrom(bytes.array()));
    } else {
      InferTensorContents.Builder contents = tensor.getContentsBuilder();
      for (double score : scores) {
        contents.addFp64Contents(score);
      }
    }
    return response.build();
  }

  /**
   * Returns the model of the requested version, the active one for an empty version.
   *
   * @throws EvergreenException INVALID_INPUT for a version that is not a number, NOT_FOUND for one
   *     that is not loaded
   */
  private ServableModel select(ServingState state, String versionText) {
    if (versionText.isEmpty()) {
      return state.active();
    }
    return evergreen.router().route(state, parseVersion(versionText), null).model();
  }

  /**
   * Returns a requested version number.
   *
   * @throws EvergreenException INVALID_INPUT when it is not a number
   */
  private static int parseVersion(String versionText) {
    try {
      return Integer.parseInt(versionText);
    } catch (NumberFormatException e) {
      throw EvergreenException.invalid(
          "model version '"
              + InferenceRequestDecoder.abbreviate(versionText)
              + "' is not a number; versions are counted from 1");
    }
  }

  /**
   * Fails with NOT_FOUND for an unregistered model and UNAVAILABLE for a registered one that has no
   * version serving.
   */
  private <T> Future<T> notServing(String name) {
    return vertx
        .executeBlocking(() -> evergreen.registry().versions(name).isEmpty(), false)
        .compose(
            unregistered ->
                Future.failedFuture(
                    unregistered
                        ? new EvergreenException(
                            ErrorKind.NOT_FOUND,
                            "model '"
                                + InferenceRequestDecoder.abbreviate(name)
                                + "' not found; list models with GET /api/v1/models")
                        : new EvergreenException(
                            ErrorKind.UNAVAILABLE,
                            "model '"
                                + name
                                + "' has no version serving; deploy one with POST"
                                + " /api/v1/models/"
                                + name
                                + "/deploy")));
  }

  /** Ends a call with the gRPC status of a failure; logs failures that are not the caller's. */
  private static void fail(GrpcServerResponse<?, ?> response, String method, Throwable failure) {
    GrpcStatus status;
    if (failure instanceof Authenticator.Rejection rejection) {
      status =
          rejection.kind == ErrorKind.FORBIDDEN
              ? GrpcStatus.PERMISSION_DENIED
              : GrpcStatus.UNAUTHENTICATED;
    } else if (failure instanceof EvergreenException e) {
      status = status(e.kind());
    } else {
      status = GrpcStatus.INTERNAL;
    }
    if (status == GrpcStatus.INTERNAL) {
      LOG.error("gRPC call {} failed", method, failure);
    } else {
      LOG.debug("gRPC call {} ended with {}: {}", method, status, failure.getMessage());
    }
    String message = failure.getMessage() == null ? failure.toString() : failure.getMessage();
    try {
      response.status(status).statusMessage(message).end();
    } catch (IllegalStateException e) {
      // GrpcBodies already ended the call, for example when the budget was spent while its token
      // was being checked, or the client reset it.
      LOG.debug("gRPC call {} had ended before its status {} could be sent", method, status);
    }
  }

  /** Sends a call's response unless the call already ended, as {@link #fail} does. */
  private static <Resp> void send(GrpcServerRequest<?, Resp> call, String method, Resp response) {
    try {
      call.response().send(response);
    } catch (IllegalStateException e) {
      LOG.debug("gRPC call {} had ended before its response could be sent", method);
    }
  }

  /**
   * Returns what was wrong with an unreadable message: the protobuf parser's message rather than
   * the codec exception that wraps it, so the caller reads no Java class names.
   */
  private static String decodeProblem(Throwable failure) {
    Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
    return cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
  }

  static GrpcStatus status(ErrorKind kind) {
    return switch (kind) {
      case INVALID_INPUT -> GrpcStatus.INVALID_ARGUMENT;
      case NOT_FOUND -> GrpcStatus.NOT_FOUND;
      case CONFLICT -> GrpcStatus.FAILED_PRECONDITION;
      case ALREADY_EXISTS -> GrpcStatus.ALREADY_EXISTS;
      case UNAUTHENTICATED -> GrpcStatus.UNAUTHENTICATED;
      case FORBIDDEN -> GrpcStatus.PERMISSION_DENIED;
      case UNAVAILABLE -> GrpcStatus.UNAVAILABLE;
      case INTERNAL -> GrpcStatus.INTERNAL;
    };
  }
}
