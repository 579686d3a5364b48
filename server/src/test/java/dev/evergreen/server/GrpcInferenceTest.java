package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.MODEL;
import static dev.evergreen.server.ServerFixture.MULTI_CLASS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.TensorSpec;
import dev.evergreen.server.grpc.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import dev.evergreen.server.grpc.InferTensorContents;
import dev.evergreen.server.grpc.ModelInferRequest;
import dev.evergreen.server.grpc.ModelInferRequest.InferInputTensor;
import dev.evergreen.server.grpc.ModelInferResponse;
import dev.evergreen.server.grpc.ModelMetadataRequest;
import dev.evergreen.server.grpc.ModelMetadataResponse;
import dev.evergreen.server.grpc.ModelReadyRequest;
import dev.evergreen.server.grpc.ServerLiveRequest;
import dev.evergreen.server.grpc.ServerMetadataRequest;
import dev.evergreen.server.grpc.ServerMetadataResponse;
import dev.evergreen.server.grpc.ServerReadyRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import java.io.ByteArrayOutputStream;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Calls the Open Inference Protocol gRPC service of a running server with the grpc-java client and
 * stubs generated from {@code grpc_predict_v2.proto}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GrpcInferenceTest {
  private static final List<TensorSpec> INPUTS = ProtocolRequests.INPUTS;
  private static final int ROWS = 5;

  private ServerFixture fixture;

  /** The first {@link #ROWS} check rows of {@code flights} without a missing string. */
  private InputBatch rows;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
    rows = completeRows(fixture.binaryCheck.inputs(), ROWS);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private GRPCInferenceServiceBlockingStub stub(String secret) {
    return fixture.grpcStub(secret);
  }

  private GRPCInferenceServiceBlockingStub viewer() {
    return stub(fixture.viewerSecret);
  }

  /** Returns the first {@code count} rows whose string inputs all have a value. */
  private static InputBatch completeRows(InputBatch batch, int count) {
    List<Integer> picked = new ArrayList<>();
    for (int row = 0; row < batch.rows() && picked.size() < count; row++) {
      int current = row;
      boolean complete = batch.text().values().stream().allMatch(values -> values[current] != null);
      if (complete) {
        picked.add(row);
      }
    }
    Map<String, double[]> numeric = new HashMap<>();
    batch
        .numeric()
        .forEach(
            (name, values) ->
                numeric.put(name, picked.stream().mapToDouble(row -> values[row]).toArray()));
    Map<String, String[]> text = new HashMap<>();
    batch
        .text()
        .forEach(
            (name, values) ->
                text.put(name, picked.stream().map(row -> values[row]).toArray(String[]::new)));
    return new InputBatch(picked.size(), numeric, text);
  }

  /** Builds a request with typed contents: FP64 numbers and UTF-8 BYTES. */
  private static ModelInferRequest.Builder typedRequest(String model, InputBatch batch) {
    ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName(model);
    for (TensorSpec spec : INPUTS) {
      InferTensorContents.Builder contents = InferTensorContents.newBuilder();
      if (spec.datatype().equals("BYTES")) {
        for (String value : batch.text().get(spec.name())) {
          contents.addBytesContents(ByteString.copyFromUtf8(value));
        }
      } else {
        for (double value : batch.numeric().get(spec.name())) {
          contents.addFp64Contents(value);
        }
      }
      request.addInputs(
          InferInputTensor.newBuilder()
              .setName(spec.name())
              .setDatatype(spec.datatype())
              .addShape(batch.rows())
              .setContents(contents));
    }
    return request;
  }

  /** Builds the same request with raw_input_contents instead of typed contents. */
  private static ModelInferRequest.Builder rawRequest(String model, InputBatch batch) {
    ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName(model);
    for (TensorSpec spec : INPUTS) {
      request.addInputs(
          InferInputTensor.newBuilder()
              .setName(spec.name())
              .setDatatype(spec.datatype())
              .addShape(batch.rows()));
      if (spec.datatype().equals("BYTES")) {
        request.addRawInputContents(rawBytes(batch.text().get(spec.name())));
      } else {
        double[] values = batch.numeric().get(spec.name());
        ByteBuffer bytes =
            ByteBuffer.allocate(values.length * Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (double value : values) {
          bytes.putDouble(value);
        }
        request.addRawInputContents(ByteString.copyFrom(bytes.array()));
      }
    }
    return request;
  }

  /** Encodes strings as the protocol's raw BYTES: a 4-byte little-endian length, then UTF-8. */
  private static ByteString rawBytes(String[] values) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (String value : values) {
      byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
      out.writeBytes(
          ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(utf8.length).array());
      out.writeBytes(utf8);
    }
    return ByteString.copyFrom(out.toByteArray());
  }

  private static double[] rawDoubles(ByteString raw) {
    ByteBuffer bytes = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    double[] values = new double[bytes.remaining() / Double.BYTES];
    bytes.asDoubleBuffer().get(values);
    return values;
  }

  private double[] restScores(String model, InputBatch batch) throws Exception {
    JsonNode data = ProtocolRequests.v2Scores(fixture, model, batch, batch.rows());
    double[] scores = new double[data.size()];
    for (int i = 0; i < scores.length; i++) {
      scores[i] = data.get(i).asDouble();
    }
    return scores;
  }

  private static StatusRuntimeException callError(Runnable call) {
    return catchThrowableOfType(StatusRuntimeException.class, call::run);
  }

  private double requestCount(String outcome) {
    Counter counter =
        fixture
            .meters
            .find(InferenceMetrics.REQUESTS)
            .tags("model", MODEL, "protocol", "grpc", "outcome", outcome)
            .counter();
    return counter == null ? 0 : counter.count();
  }

  @Test
  void healthNeedsNoToken() {
    assertThat(stub(null).serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
    assertThat(stub(null).serverReady(ServerReadyRequest.getDefaultInstance()).getReady()).isTrue();
  }

  @Test
  void healthCallOver64KiBIsRejected() {
    ServerReadyRequest large =
        ServerReadyRequest.newBuilder()
            .setUnknownFields(
                UnknownFieldSet.newBuilder()
                    .addField(
                        1,
                        UnknownFieldSet.Field.newBuilder()
                            .addLengthDelimited(ByteString.copyFrom(new byte[200_000]))
                            .build())
                    .build())
            .build();

    StatusRuntimeException error = callError(() -> stub(null).serverReady(large));

    assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(error.getStatus().getDescription())
        .contains("ServerReady declares a message of 200004 bytes, more than 65536");
  }

  @Test
  void malformedMessageIsInvalidArgument() throws Exception {
    Vertx vertx = Vertx.vertx();
    HttpClientAgent client =
        vertx.createHttpClient(
            new HttpClientOptions()
                .setProtocolVersion(HttpVersion.HTTP_2)
                .setHttp2ClearTextUpgrade(false));
    try {
      HttpClientRequest request =
          client
              .request(
                  HttpMethod.POST,
                  fixture.server.grpcPort(),
                  "127.0.0.1",
                  GrpcInferenceService.SERVICE.pathOf("ModelInfer"))
              .toCompletionStage()
              .toCompletableFuture()
              .get(10, TimeUnit.SECONDS);
      request
          .putHeader("content-type", "application/grpc")
          .putHeader("te", "trailers")
          .putHeader("authorization", "Bearer " + fixture.viewerSecret);
      // A prefix for 3 bytes, then bytes that are no protobuf message.
      Buffer malformed =
          Buffer.buffer()
              .appendByte((byte) 0)
              .appendInt(3)
              .appendBytes(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff});
      // The body is read in the same event loop turn as the response arrives, so that its end
      // cannot pass unseen.
      HttpClientResponse[] response = new HttpClientResponse[1];
      Buffer body =
          request
              .send(malformed)
              .compose(
                  arrived -> {
                    response[0] = arrived;
                    return arrived.body();
                  })
              .toCompletionStage()
              .toCompletableFuture()
              .get(10, TimeUnit.SECONDS);
      MultiMap trailers = response[0].trailers();
      String status =
          response[0].getHeader("grpc-status") != null
              ? response[0].getHeader("grpc-status")
              : trailers.get("grpc-status");
      String message =
          response[0].getHeader("grpc-message") != null
              ? response[0].getHeader("grpc-message")
              : trailers.get("grpc-message");

      assertThat(body.length()).isZero();
      assertThat(status).isEqualTo("3");
      assertThat(URLDecoder.decode(message, StandardCharsets.UTF_8))
          .startsWith("the request is not a valid ModelInferRequest message: While parsing");
    } finally {
      client.close();
      vertx.close();
    }
  }

  @Test
  void modelReadyReportsLoadedVersions() {
    ModelReadyRequest active = ModelReadyRequest.newBuilder().setName(MODEL).build();
    ModelReadyRequest loaded = active.toBuilder().setVersion("1").build();
    ModelReadyRequest notLoaded = active.toBuilder().setVersion("9").build();

    assertThat(viewer().modelReady(active).getReady()).isTrue();
    assertThat(viewer().modelReady(loaded).getReady()).isTrue();
    assertThat(viewer().modelReady(notLoaded).getReady()).isFalse();
  }

  @Test
  void modelReadyOfUnknownModelIsNotFound() {
    StatusRuntimeException error =
        callError(
            () -> viewer().modelReady(ModelReadyRequest.newBuilder().setName("no-such").build()));

    assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(error.getStatus().getDescription()).contains("model 'no-such' not found");
  }

  @Test
  void serverMetadataNamesEvergreen() {
    ServerMetadataResponse metadata =
        viewer().serverMetadata(ServerMetadataRequest.getDefaultInstance());

    assertThat(metadata.getName()).isEqualTo("evergreen");
    assertThat(metadata.getVersion()).isNotBlank();
    assertThat(metadata.getExtensionsList()).isEmpty();
  }

  @Test
  void modelMetadataMatchesRest() throws Exception {
    ModelMetadataResponse metadata =
        viewer().modelMetadata(ModelMetadataRequest.newBuilder().setName(MODEL).build());
    JsonNode rest =
        ServerFixture.json(fixture.send("GET", "/v2/models/" + MODEL, fixture.viewerSecret, null));

    assertThat(metadata.getName()).isEqualTo(MODEL);
    assertThat(metadata.getVersionsList()).containsExactly("1");
    assertThat(metadata.getPlatform()).isEqualTo(rest.get("platform").asText());
    assertThat(metadata.getInputsCount()).isEqualTo(INPUTS.size());
    for (int i = 0; i < INPUTS.size(); i++) {
      ModelMetadataResponse.TensorMetadata input = metadata.getInputs(i);
      assertThat(input.getName()).isEqualTo(INPUTS.get(i).name());
      assertThat(input.getDatatype()).isEqualTo(INPUTS.get(i).datatype());
      assertThat(input.getShapeList()).containsExactly(-1L);
    }
    JsonNode restOutput = rest.get("outputs").get(0);
    assertThat(metadata.getOutputsCount()).isEqualTo(1);
    assertThat(metadata.getOutputs(0).getName()).isEqualTo(restOutput.get("name").asText());
    assertThat(metadata.getOutputs(0).getDatatype()).isEqualTo("FP64");
    assertThat(metadata.getOutputs(0).getShapeCount()).isEqualTo(restOutput.get("shape").size());
  }

  @Test
  void modelMetadataOfUnknownVersionIsNotFound() {
    StatusRuntimeException error =
        callError(
            () ->
                viewer()
                    .modelMetadata(
                        ModelMetadataRequest.newBuilder().setName(MODEL).setVersion("7").build()));

    assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(error.getStatus().getDescription()).contains("version 7");
  }

  @Test
  void typedInferMatchesRest() throws Exception {
    double before = requestCount("ok");
    ModelInferResponse response =
        viewer().modelInfer(typedRequest(MODEL, rows).setId("request-7").build());

    assertThat(response.getModelName()).isEqualTo(MODEL);
    assertThat(response.getModelVersion()).isEqualTo("1");
    assertThat(response.getId()).isEqualTo("request-7");
    assertThat(response.getRawOutputContentsCount()).isZero();
    assertThat(response.getOutputsCount()).isEqualTo(1);
    ModelInferResponse.InferOutputTensor output = response.getOutputs(0);
    assertThat(output.getName()).isEqualTo("probability");
    assertThat(output.getDatatype()).isEqualTo("FP64");
    assertThat(output.getShapeList()).containsExactly((long) ROWS);
    double[] scores =
        output.getContents().getFp64ContentsList().stream().mapToDouble(d -> d).toArray();
    assertThat(scores).containsExactly(restScores(MODEL, rows));
    assertThat(requestCount("ok")).isEqualTo(before + 1);
  }

  @Test
  void rawInferMatchesRest() throws Exception {
    ModelInferResponse response = viewer().modelInfer(rawRequest(MODEL, rows).build());

    assertThat(response.getOutputsCount()).isEqualTo(1);
    assertThat(response.getOutputs(0).hasContents()).isFalse();
    assertThat(response.getOutputs(0).getShapeList()).containsExactly((long) ROWS);
    assertThat(response.getRawOutputContentsCount()).isEqualTo(1);
    assertThat(rawDoubles(response.getRawOutputContents(0)))
        .containsExactly(restScores(MODEL, rows));
  }

  @Test
  void multiClassInferHasRowsTimesClasses() throws Exception {
    InputBatch classRows = completeRows(fixture.multiClassCheck.inputs(), ROWS);
    ModelInferResponse response = viewer().modelInfer(typedRequest(MULTI_CLASS, classRows).build());

    ModelInferResponse.InferOutputTensor output = response.getOutputs(0);
    assertThat(output.getShapeList()).containsExactly((long) ROWS, 3L);
    double[] scores =
        output.getContents().getFp64ContentsList().stream().mapToDouble(d -> d).toArray();
    assertThat(scores).containsExactly(restScores(MULTI_CLASS, classRows));
  }

  @Test
  void everyNumericDatatypeScoresAsFp64() {
    // 100 fits every numeric datatype, and 1 is BOOL's true; each must score as the FP64 value.
    for (String datatype :
        List.of(
            "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
            "FP16", "FP32", "FP64")) {
      double value = datatype.equals("BOOL") ? 1 : 100;
      double expected = distanceScore("FP64", value, false);
      if (!datatype.equals("FP16")) {
        assertThat(distanceScore(datatype, value, false))
            .as("typed %s", datatype)
            .isEqualTo(expected);
      }
      assertThat(distanceScore(datatype, value, true)).as("raw %s", datatype).isEqualTo(expected);
    }
  }

  /** Scores the first complete row with its distance replaced by one value of a datatype. */
  private double distanceScore(String datatype, double value, boolean raw) {
    InputBatch row = completeRows(rows, 1);
    ModelInferRequest.Builder request = raw ? rawRequest(MODEL, row) : typedRequest(MODEL, row);
    InferInputTensor.Builder distance = request.getInputsBuilder(0).setDatatype(datatype);
    if (raw) {
      request.setRawInputContents(0, rawValue(datatype, value));
    } else {
      distance.setContents(typedValue(datatype, value));
    }
    ModelInferResponse response = viewer().modelInfer(request.build());
    return raw
        ? rawDoubles(response.getRawOutputContents(0))[0]
        : response.getOutputs(0).getContents().getFp64Contents(0);
  }

  private static InferTensorContents typedValue(String datatype, double value) {
    InferTensorContents.Builder contents = InferTensorContents.newBuilder();
    switch (datatype) {
      case "BOOL" -> contents.addBoolContents(value != 0);
      case "INT8", "INT16", "INT32" -> contents.addIntContents((int) value);
      case "INT64" -> contents.addInt64Contents((long) value);
      case "UINT8", "UINT16", "UINT32" -> contents.addUintContents((int) value);
      case "UINT64" -> contents.addUint64Contents((long) value);
      case "FP32" -> contents.addFp32Contents((float) value);
      default -> contents.addFp64Contents(value);
    }
    return contents.build();
  }

  /** Encodes one value little-endian in its datatype's size, as raw_input_contents carries it. */
  private static ByteString rawValue(String datatype, double value) {
    ByteBuffer bytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    switch (datatype) {
      case "BOOL", "INT8", "UINT8" -> bytes.put((byte) value);
      case "INT16", "UINT16" -> bytes.putShort((short) value);
      case "FP16" -> bytes.putShort(Float.floatToFloat16((float) value));
      case "INT32", "UINT32" -> bytes.putInt((int) value);
      case "FP32" -> bytes.putFloat((float) value);
      case "FP64" -> bytes.putDouble(value);
      default -> bytes.putLong((long) value);
    }
    return ByteString.copyFrom(bytes.array(), 0, bytes.position());
  }

  @Test
  void requestedOutputsAreChecked() {
    ModelInferRequest.Builder request = typedRequest(MODEL, rows);
    ModelInferResponse named =
        viewer().modelInfer(request.clone().addOutputs(output("probability")).build());
    StatusRuntimeException unknown =
        callError(() -> viewer().modelInfer(request.clone().addOutputs(output("score")).build()));

    assertThat(named.getOutputsCount()).isEqualTo(1);
    assertThat(unknown.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(unknown.getStatus().getDescription()).contains("unknown output 'score'");
  }

  private static ModelInferRequest.InferRequestedOutputTensor output(String name) {
    return ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName(name).build();
  }

  @Test
  void unknownModelIsNotFound() {
    StatusRuntimeException error =
        callError(() -> viewer().modelInfer(typedRequest("no-such-model", rows).build()));

    assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(error.getStatus().getDescription()).contains("model 'no-such-model' not found");
  }

  @Test
  void wrongInputNameIsInvalid() {
    double before = requestCount("invalid");
    ModelInferRequest.Builder request = typedRequest(MODEL, rows);
    request.getInputsBuilder(0).setName("miles");

    StatusRuntimeException error = callError(() -> viewer().modelInfer(request.build()));

    assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(error.getStatus().getDescription()).contains("unknown input 'miles'");
    assertThat(requestCount("invalid")).isEqualTo(before + 1);
  }

  @Test
  void infiniteValueIsInvalid() {
    ModelInferRequest.Builder request = typedRequest(MODEL, rows);
    request.getInputsBuilder(0).getContentsBuilder().setFp64Contents(1, Double.POSITIVE_INFINITY);

    StatusRuntimeException error = callError(() -> viewer().modelInfer(request.build()));

    assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(error.getStatus().getDescription())
        .contains("input 'distance' has the value Infinity at element 1");
  }

  @Test
  void wrongInputShapeIsInvalid() {
    ModelInferRequest.Builder request = typedRequest(MODEL, rows);
    request.getInputsBuilder(0).clearShape().addShape(1).addShape(ROWS);

    StatusRuntimeException error = callError(() -> viewer().modelInfer(request.build()));

    assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(error.getStatus().getDescription())
        .contains("input 'distance' has shape [1, 5], but the model's input has shape [-1]");
  }

  @Test
  void wrongInputTypeIsInvalid() {
    ModelInferRequest.Builder request = typedRequest(MODEL, rows);
    request.getInputsBuilder(1).setDatatype("FP64");

    StatusRuntimeException error = callError(() -> viewer().modelInfer(request.build()));

    assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(error.getStatus().getDescription())
        .contains("input 'origin' has datatype FP64 but the model expects strings");
  }

  @Test
  void valuesInWrongFieldAreInvalid() {
    ModelInferRequest.Builder request = typedRequest(MODEL, rows);
    request.getInputsBuilder(0).setDatatype("FP32");

    StatusRuntimeException error = callError(() -> viewer().modelInfer(request.build()));

    assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(error.getStatus().getDescription())
        .contains("input 'distance' has datatype FP32 but sends its values in contents.fp64");
  }

  @Test
  void integerOutOfRangeIsInvalid() {
    ModelInferRequest.Builder request = typedRequest(MODEL, completeRows(rows, 1));
    request
        .getInputsBuilder(0)
        .setDatatype("INT8")
        .setContents(InferTensorContents.newBuilder().addIntContents(300));

    StatusRuntimeException error = callError(() -> viewer().modelInfer(request.build()));

    assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(error.getStatus().getDescription())
        .contains("input 'distance' has datatype INT8 but the value 300 at data index 0")
        .contains("-128 to 127");
  }

  @Test
  void truncatedRawBytesAreInvalid() {
    ModelInferRequest.Builder request = rawRequest(MODEL, rows);
    ByteString origin = request.getRawInputContents(1);
    request.setRawInputContents(1, origin.substring(0, origin.size() - 1));

    StatusRuntimeException error = callError(() -> viewer().modelInfer(request.build()));

    assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(error.getStatus().getDescription()).contains("input 'origin' (BYTES)");
  }

  @Test
  void missingTokenIsUnauthenticated() {
    StatusRuntimeException error =
        callError(() -> stub(null).modelInfer(typedRequest(MODEL, rows).build()));

    assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(error.getStatus().getDescription()).contains("missing bearer token");
  }

  @Test
  void unknownTokenIsUnauthenticated() {
    StatusRuntimeException error =
        callError(
            () -> stub("not-a-token").serverMetadata(ServerMetadataRequest.getDefaultInstance()));

    assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(error.getStatus().getDescription()).contains("the bearer token is not valid");
  }
}
