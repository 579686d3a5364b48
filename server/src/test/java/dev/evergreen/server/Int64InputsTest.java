package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import dev.evergreen.api.pipeline.BatchingSpec;
import dev.evergreen.core.serving.external.OnnxGraphs;
import dev.evergreen.server.grpc.InferTensorContents;
import dev.evergreen.server.grpc.ModelInferRequest;
import dev.evergreen.server.grpc.ModelInferRequest.InferInputTensor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * INT64 inputs of ONNX models receive integers beyond 2^53 exactly over every protocol. The model
 * returns {@code id - 2^53} computed in 64-bit integers, so a rounded id shows in its score: 2^53 +
 * 1 scores 1, its rounded double 0; 2^53 + 3 scores 3, its rounded double 4.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Int64InputsTest {
  private static final String IDS = "ids";
  private static final String PAIRS = "id-pairs";
  private static final long BASE = OnnxGraphs.ID_BASE;

  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
    fixture.registerOnnx(IDS, "ids.onnx", OnnxGraphs.idOffset(), OnnxGraphs.ID_OFFSET_SIGNATURE);
    fixture.registerOnnx(
        PAIRS, "pairs.onnx", OnnxGraphs.idOffsetPairs(), OnnxGraphs.ID_OFFSET_PAIRS_SIGNATURE);
    fixture.deployVersion(IDS, 1);
    fixture.deployVersion(PAIRS, 1);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private HttpResponse<String> post(String path, String contentType, String body) throws Exception {
    return ProtocolRequests.post(fixture, path, fixture.viewerSecret, contentType, body);
  }

  private static double[] doubles(JsonNode array) {
    double[] values = new double[array.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = array.get(i).asDouble();
    }
    return values;
  }

  private static String v2(String datatype, String data) {
    return "{\"inputs\": [{\"name\": \"id\", \"shape\": [3], \"datatype\": \""
        + datatype
        + "\", \"data\": "
        + data
        + "}]}";
  }

  private double[] v2Offsets(String body) throws Exception {
    HttpResponse<String> response = post("/v2/models/" + IDS + "/infer", "application/json", body);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return doubles(ServerFixture.json(response).get("outputs").get(0).get("data"));
  }

  @Test
  void v2JsonIntegersReachTheModelExactly() throws Exception {
    double[] offsets = v2Offsets(v2("INT64", "[9007199254740993, 9007199254740995, 5]"));

    assertThat(offsets).containsExactly(1, 3, 5 - BASE);
  }

  @Test
  void v2JsonTakesTheLargestInt64() throws Exception {
    double[] offsets = v2Offsets(v2("INT64", "[9223372036854775807, -9223372036854775808, 0]"));

    assertThat(offsets)
        .containsExactly((double) (Long.MAX_VALUE - BASE), (double) (Long.MIN_VALUE - BASE), -BASE);
  }

  @Test
  void v2Uint64BeyondInt64RangeIsRejected() throws Exception {
    HttpResponse<String> response =
        post(
            "/v2/models/" + IDS + "/infer",
            "application/json",
            v2("UINT64", "[1, 2, 9223372036854775808]"));

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("input 'id' (INT64)")
        .contains("at element 2");
  }

  @Test
  void v2BatchedRequestsKeepExactIntegers() throws Exception {
    fixture.evergreen.router().configureBatching(IDS, new BatchingSpec(64, 20.0, 100));
    try {
      List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        // Every other request has only small ids, so joined batches mix both kinds.
        String data = i % 2 == 0 ? "[9007199254740993, 9007199254740995, " + i + "]" : "[1, 2, 3]";
        calls.add(
            fixture.http.sendAsync(
                HttpRequest.newBuilder(fixture.uri("/v2/models/" + IDS + "/infer"))
                    .header("Authorization", "Bearer " + fixture.viewerSecret)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(v2("INT64", data)))
                    .build(),
                HttpResponse.BodyHandlers.ofString()));
      }
      for (int i = 0; i < calls.size(); i++) {
        HttpResponse<String> response = calls.get(i).get(60, TimeUnit.SECONDS);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        double[] offsets = doubles(ServerFixture.json(response).get("outputs").get(0).get("data"));
        if (i % 2 == 0) {
          assertThat(offsets).containsExactly(1, 3, i - BASE);
        } else {
          assertThat(offsets).containsExactly(1 - BASE, 2 - BASE, 3 - BASE);
        }
      }
    } finally {
      fixture.evergreen.router().configureBatching(IDS, null);
    }
  }

  @Test
  void v2MatrixIntegersReachTheModelExactly() throws Exception {
    String body =
        "{\"inputs\": [{\"name\": \"id\", \"shape\": [2, 2], \"datatype\": \"INT64\","
            + " \"data\": [9007199254740993, 1, 2, 9007199254740995]}]}";

    HttpResponse<String> response =
        post("/v2/models/" + PAIRS + "/infer", "application/json", body);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    assertThat(doubles(ServerFixture.json(response).get("outputs").get(0).get("data")))
        .containsExactly(1, 1 - BASE, 2 - BASE, 3);
  }

  @Test
  void kserveV1InstancesReachTheModelExactly() throws Exception {
    String body = "{\"instances\": [{\"id\": 9007199254740993}, {\"id\": 9007199254740995}]}";

    HttpResponse<String> response =
        post("/v1/models/" + IDS + ":predict", "application/json", body);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    assertThat(doubles(ServerFixture.json(response).get("predictions"))).containsExactly(1, 3);
  }

  @Test
  void kserveV1NestedRowsReachTheModelExactly() throws Exception {
    String body = "{\"instances\": [[9007199254740993, 7], [8, 9007199254740995]]}";

    HttpResponse<String> response =
        post("/v1/models/" + PAIRS + ":predict", "application/json", body);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode predictions = ServerFixture.json(response).get("predictions");
    assertThat(doubles(predictions.get(0))).containsExactly(1, 7 - BASE);
    assertThat(doubles(predictions.get(1))).containsExactly(8 - BASE, 3);
  }

  @Test
  void mlflowDataframeSplitReachesTheModelExactly() throws Exception {
    String body =
        "{\"dataframe_split\": {\"columns\": [\"id\"],"
            + " \"data\": [[9007199254740993], [9007199254740995]]}}";

    HttpResponse<String> response = post("/invocations?model=" + IDS, "application/json", body);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    assertThat(doubles(ServerFixture.json(response).get("predictions"))).containsExactly(1, 3);
  }

  @Test
  void mlflowCsvReachesTheModelExactly() throws Exception {
    HttpResponse<String> response =
        post(
            "/invocations?model=" + IDS,
            "text/csv",
            "id\n9007199254740993\n 9007199254740995 \n-9007199254740993\n");

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    assertThat(doubles(ServerFixture.json(response).get("predictions")))
        .containsExactly(1, 3, (double) (-(BASE + 1) - BASE));
  }

  @Test
  void grpcInt64ContentsReachTheModelExactly() {
    InferTensorContents contents =
        InferTensorContents.newBuilder()
            .addInt64Contents(BASE + 1)
            .addInt64Contents(BASE + 3)
            .addInt64Contents(Long.MAX_VALUE)
            .build();
    ModelInferRequest request =
        ModelInferRequest.newBuilder()
            .setModelName(IDS)
            .addInputs(
                InferInputTensor.newBuilder()
                    .setName("id")
                    .setDatatype("INT64")
                    .addShape(3)
                    .setContents(contents))
            .build();

    List<Double> offsets =
        fixture
            .grpcStub(fixture.viewerSecret)
            .modelInfer(request)
            .getOutputs(0)
            .getContents()
            .getFp64ContentsList();

    assertThat(offsets).containsExactly(1.0, 3.0, (double) (Long.MAX_VALUE - BASE));
  }

  @Test
  void grpcRawInt64ReachesTheModelExactly() {
    ByteBuffer raw = ByteBuffer.allocate(3 * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    raw.putLong(BASE + 1).putLong(BASE + 3).putLong(-5);
    ModelInferRequest request =
        ModelInferRequest.newBuilder()
            .setModelName(IDS)
            .addInputs(InferInputTensor.newBuilder().setName("id").setDatatype("INT64").addShape(3))
            .addRawInputContents(ByteString.copyFrom(raw.array()))
            .build();

    ByteBuffer output =
        fixture
            .grpcStub(fixture.viewerSecret)
            .modelInfer(request)
            .getRawOutputContents(0)
            .asReadOnlyByteBuffer()
            .order(ByteOrder.LITTLE_ENDIAN);

    assertThat(output.getDouble()).isEqualTo(1.0);
    assertThat(output.getDouble()).isEqualTo(3.0);
    assertThat(output.getDouble()).isEqualTo((double) (-5 - BASE));
  }

  @Test
  void grpcUint64BeyondInt64RangeIsRejected() {
    InferTensorContents contents =
        InferTensorContents.newBuilder().addUint64Contents(Long.MIN_VALUE).build();
    ModelInferRequest request =
        ModelInferRequest.newBuilder()
            .setModelName(IDS)
            .addInputs(
                InferInputTensor.newBuilder()
                    .setName("id")
                    .setDatatype("UINT64")
                    .addShape(1)
                    .setContents(contents))
            .build();

    StatusRuntimeException error =
        catchThrowableOfType(
            StatusRuntimeException.class,
            () -> fixture.grpcStub(fixture.viewerSecret).modelInfer(request));

    assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(error.getStatus().getDescription()).contains("input 'id' (INT64)");
  }
}
