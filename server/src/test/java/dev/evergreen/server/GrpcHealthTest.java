package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.Evergreen;
import dev.evergreen.server.grpc.GRPCInferenceServiceGrpc;
import dev.evergreen.server.grpc.ServerReadyRequest;
import dev.evergreen.server.grpc.health.HealthCheckRequest;
import dev.evergreen.server.grpc.health.HealthCheckResponse;
import dev.evergreen.server.grpc.health.HealthCheckResponse.ServingStatus;
import dev.evergreen.server.grpc.health.HealthGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gRPC health service of a server on 127.0.0.1, called through grpc-java without a token. The
 * store starts empty; a model whose champion's artifact does not exist never serves, which makes
 * the server not ready.
 */
class GrpcHealthTest {
  @TempDir Path dir;

  private Evergreen evergreen;
  private EvergreenServer server;
  private ManagedChannel channel;

  @BeforeEach
  void start() {
    evergreen = TestHomes.open(dir, new SimpleMeterRegistry());
    server = EvergreenServer.start(evergreen, new ServerOptions("127.0.0.1", 0, 1).withGrpcPort(0));
    channel =
        ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    server.close();
    evergreen.close();
  }

  private HealthGrpc.HealthBlockingStub health() {
    return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private ServingStatus check(String service) {
    return health().check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
  }

  @Test
  void serverIsServingWithoutToken() {
    assertThat(check("")).isEqualTo(ServingStatus.SERVING);
  }

  @Test
  void inferenceServiceFollowsReadiness() {
    assertThat(check("inference.GRPCInferenceService")).isEqualTo(ServingStatus.SERVING);

    // A champion whose artifact is missing cannot load, so the model has no version serving.
    evergreen
        .registry()
        .register(
            new ModelVersion(
                "broken",
                0,
                "models/broken/1",
                "ab".repeat(32),
                null,
                "snapshot-1",
                Map.of("auc", 0.8),
                null,
                Instant.ofEpochMilli(1_000)),
            "test");
    evergreen.registry().moveAlias("broken", Aliases.CHAMPION, 1, "test", "for the test");

    assertThat(check("inference.GRPCInferenceService")).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(
            GRPCInferenceServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(30, TimeUnit.SECONDS)
                .serverReady(ServerReadyRequest.getDefaultInstance())
                .getReady())
        .isFalse();
    assertThat(check("")).isEqualTo(ServingStatus.SERVING);
  }

  @Test
  void unknownServiceIsNotFound() {
    StatusRuntimeException unknown =
        catchThrowableOfType(StatusRuntimeException.class, () -> check("billing.Ledger"));

    assertThat(unknown.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(unknown.getStatus().getDescription())
        .isEqualTo(
            "service 'billing.Ledger' is unknown; check '' for the server or"
                + " 'inference.GRPCInferenceService' for its readiness to score");
  }

  @Test
  void watchIsUnimplemented() {
    Iterator<HealthCheckResponse> updates = health().watch(HealthCheckRequest.getDefaultInstance());

    StatusRuntimeException refused =
        catchThrowableOfType(StatusRuntimeException.class, updates::hasNext);

    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
    assertThat(check("")).isEqualTo(ServingStatus.SERVING);
  }

  @Test
  void checkOver64KiBIsRejected() {
    StatusRuntimeException refused =
        catchThrowableOfType(StatusRuntimeException.class, () -> check("x".repeat(100_000)));

    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.getStatus().getDescription())
        .startsWith("a call to /grpc.health.v1.Health/Check declares a message of 100004 bytes");
  }
}
