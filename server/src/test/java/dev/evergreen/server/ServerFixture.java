package dev.evergreen.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.SplitSpec;
import dev.evergreen.api.pipeline.TrainerSpec;
import dev.evergreen.api.security.Role;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.EvergreenSettings;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.TensorSpec;
import dev.evergreen.core.training.DatasetLoader;
import dev.evergreen.core.training.FlightSamples;
import dev.evergreen.core.training.ModelBundles;
import dev.evergreen.core.training.TrainedModel;
import dev.evergreen.core.training.TrainingData;
import dev.evergreen.core.training.XgboostTrainer;
import dev.evergreen.server.grpc.GRPCInferenceServiceGrpc;
import dev.evergreen.server.grpc.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import dev.evergreen.store.fs.FileArtifactStore;
import dev.evergreen.store.sqlite.SqliteMetadataStore;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A running server on 127.0.0.1 over a SQLite store, with XGBoost models trained on a flight
 * sample: {@code flights} (binary, one version), {@code flights-b} (binary, two versions) and
 * {@code flights-class} (three classes), each with champion version 1, and a token per role.
 */
final class ServerFixture implements AutoCloseable {
  static final String MODEL = "flights";
  static final String TWO_VERSIONS = "flights-b";
  static final String MULTI_CLASS = "flights-class";

  static final ObjectMapper JSON = new ObjectMapper();

  final Path dir;
  final PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  final Evergreen evergreen;
  final EvergreenServer server;
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** Check rows and XGBoost's own scores for them, of {@code flights} version 1. */
  final CheckSet binaryCheck;

  /** The same for {@code flights-class} version 1. */
  final CheckSet multiClassCheck;

  final String adminSecret;
  final String operatorSecret;
  final String viewerSecret;

  /** Opened by {@link #grpcStub} at its first call. */
  private ManagedChannel grpcChannel;

  ServerFixture(Path dir) throws Exception {
    this.dir = dir;
    evergreen =
        new Evergreen(
            SqliteMetadataStore.open(dir.resolve("evergreen.db")),
            FileArtifactStore.open(dir.resolve("artifacts")),
            meters,
            Clock.systemUTC(),
            EvergreenSettings.defaults().withThreads(1));
    Path sample = FlightSamples.write(dir, 3_000);
    SplitSpec split = new SplitSpec("random", 0.2, 3L, null);
    binaryCheck = trainAndRegister(sample, MODEL, FlightSamples.binary(split), 1);
    trainAndRegister(sample, TWO_VERSIONS, FlightSamples.binary(split), 1);
    trainAndRegister(sample, TWO_VERSIONS, FlightSamples.binary(split), 2);
    multiClassCheck = trainAndRegister(sample, MULTI_CLASS, FlightSamples.multiClass(split), 1);
    for (String model : List.of(MODEL, TWO_VERSIONS, MULTI_CLASS)) {
      evergreen.registry().moveAlias(model, Aliases.CHAMPION, 1, "test", "first version");
    }
    adminSecret = evergreen.tokens().create("test-admin", Role.ADMIN, "test").secret();
    operatorSecret = evergreen.tokens().create("test-operator", Role.OPERATOR, "test").secret();
    viewerSecret = evergreen.tokens().create("test-viewer", Role.VIEWER, "test").secret();
    server = EvergreenServer.start(evergreen, new ServerOptions("127.0.0.1", 0, 2).withGrpcPort(0));
    awaitReady();
  }

  /**
   * Trains a model and registers it; {@code roundsScale} changes the number of boosting rounds so
   * that two versions score differently.
   */
  private CheckSet trainAndRegister(Path sample, String model, PipelineSpec spec, int roundsScale) {
    TrainerSpec base = spec.trainer();
    TrainerSpec trainer =
        new TrainerSpec(
            base.engine(),
            base.objective(),
            base.rounds() * roundsScale,
            base.seed(),
            base.threads(),
            base.params());
    TrainingData data = DatasetLoader.load(sample, spec, 1);
    TrainedModel trained = new XgboostTrainer().train(data, trainer);
    ModelBundles.StoredBundle bundle =
        ModelBundles.store(evergreen.artifacts(), trained, data, trainer);
    evergreen
        .registry()
        .register(
            new ModelVersion(
                model,
                0,
                bundle.manifestKey(),
                bundle.modelSha256(),
                null,
                null,
                Map.of("auc", 0.7),
                null,
                Instant.now()),
            "test");
    return trained.checkSet();
  }

  private void awaitReady() throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      if (send("GET", "/v2/health/ready", null, null).statusCode() == 200) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("the server did not become ready within 60 s");
  }

  URI uri(String path) {
    return URI.create("http://127.0.0.1:" + server.port() + path);
  }

  /** Sends a request; a null secret sends no Authorization header. */
  HttpResponse<String> send(String method, String path, String secret, String body)
      throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(uri(path))
            .timeout(Duration.ofSeconds(60))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (secret != null) {
      request.header("Authorization", "Bearer " + secret);
    }
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Registers an ONNX file as the next version of a model through the REST API. */
  void registerOnnx(String model, String fileName, byte[] file, String signature)
      throws IOException, InterruptedException {
    ObjectNode registration = JSON.createObjectNode();
    registration.put("format", "onnx");
    registration.put("file_name", fileName);
    registration.put("file", Base64.getEncoder().encodeToString(file));
    registration.set("signature", JSON.readTree(signature));
    String path = "/api/v1/models/" + model + "/versions";
    expectStatus(send("POST", path, operatorSecret, registration.toString()), 201);
  }

  /** Deploys a version of a model through the REST API. */
  void deployVersion(String model, int version) throws IOException, InterruptedException {
    String path = "/api/v1/models/" + model + "/deploy";
    expectStatus(send("POST", path, operatorSecret, "{\"version\": " + version + "}"), 200);
  }

  private static void expectStatus(HttpResponse<String> response, int status) {
    if (response.statusCode() != status) {
      throw new AssertionError(
          "expected status "
              + status
              + " but got "
              + response.statusCode()
              + ": "
              + response.body());
    }
  }

  static JsonNode json(HttpResponse<String> response) throws IOException {
    return JSON.readTree(response.body());
  }

  /** Builds a V2 inference request body from the first {@code rows} rows of a batch. */
  static ObjectNode inferRequest(InputBatch batch, List<TensorSpec> inputs, int rows) {
    ObjectNode request = JSON.createObjectNode();
    ArrayNode tensors = request.putArray("inputs");
    for (TensorSpec spec : inputs) {
      ObjectNode tensor = tensors.addObject();
      tensor.put("name", spec.name());
      tensor.putArray("shape").add(rows);
      tensor.put("datatype", spec.datatype());
      ArrayNode data = tensor.putArray("data");
      if (spec.datatype().equals("BYTES")) {
        Arrays.stream(batch.text().get(spec.name()), 0, rows).forEach(data::add);
      } else {
        for (double value : Arrays.copyOf(batch.numeric().get(spec.name()), rows)) {
          if (Double.isNaN(value)) {
            data.addNull();
          } else {
            data.add(value);
          }
        }
      }
    }
    return request;
  }

  /**
   * Returns a blocking stub of the gRPC inference service with a 60-second deadline that sends
   * {@code secret} as a bearer token, or no token when it is null. The plaintext channel opens at
   * the first call and closes with the fixture.
   */
  synchronized GRPCInferenceServiceBlockingStub grpcStub(String secret) {
    if (grpcChannel == null) {
      grpcChannel =
          ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    }
    GRPCInferenceServiceBlockingStub stub =
        GRPCInferenceServiceGrpc.newBlockingStub(grpcChannel)
            .withDeadlineAfter(60, TimeUnit.SECONDS);
    if (secret == null) {
      return stub;
    }
    Metadata headers = new Metadata();
    headers.put(
        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + secret);
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  @Override
  public void close() {
    if (grpcChannel != null) {
      grpcChannel.shutdownNow();
      try {
        grpcChannel.awaitTermination(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    server.close();
    evergreen.close();
  }
}
