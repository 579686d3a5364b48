package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.ByteString;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.server.grpc.InferTensorContents;
import dev.evergreen.server.grpc.ModelInferRequest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Binds a {@code [-1, 4]} input through the JSON and the gRPC decoder to {@link RowSumModel}, which
 * sums each row, so a wrong row-major layout changes the scores.
 */
class TensorBindingTest {
  private final RowSumModel model = new RowSumModel();

  private InputBatch json(String body) {
    return InferenceRequestDecoder.decode(body.getBytes(StandardCharsets.UTF_8), model).batch();
  }

  private static ModelInferRequest.InferInputTensor.Builder tensor(long... shape) {
    ModelInferRequest.InferInputTensor.Builder tensor =
        ModelInferRequest.InferInputTensor.newBuilder().setName("x").setDatatype("FP64");
    for (long dimension : shape) {
      tensor.addShape(dimension);
    }
    return tensor;
  }

  /** Returns FP64 contents 1 to 8: two rows of four. */
  private static InferTensorContents.Builder oneToEight() {
    InferTensorContents.Builder contents = InferTensorContents.newBuilder();
    for (int value = 1; value <= 8; value++) {
      contents.addFp64Contents(value);
    }
    return contents;
  }

  private InputBatch grpc(ModelInferRequest request) {
    return GrpcRequestDecoder.decode(request, model).batch();
  }

  @Test
  void jsonFlatRowsAreSummed() {
    InputBatch batch =
        json(
            "{\"inputs\": [{\"name\": \"x\", \"shape\": [2, 4], \"datatype\": \"FP64\","
                + " \"data\": [1, 2, 3, 4, 10, 20, 30, 40]}]}");

    assertThat(batch.rows()).isEqualTo(2);
    assertThat(model.predict(batch)).containsExactly(10, 100);
  }

  @Test
  void jsonNestedRowsAreSummed() {
    InputBatch batch =
        json(
            "{\"inputs\": [{\"name\": \"x\", \"shape\": [2, 4], \"datatype\": \"INT32\","
                + " \"data\": [[1, 2, 3, 4], [5, 6, 7, 8]]}]}");

    assertThat(model.predict(batch)).containsExactly(10, 26);
  }

  @Test
  void jsonWrongWidthNamesBothShapes() {
    EvergreenException error =
        catchThrowableOfType(
            EvergreenException.class,
            () ->
                json(
                    "{\"inputs\": [{\"name\": \"x\", \"shape\": [2, 3], \"datatype\": \"FP64\","
                        + " \"data\": [1, 2, 3, 4, 5, 6]}]}"));

    assertThat(error.getMessage())
        .contains("input 'x' has shape [2, 3], but the model's input has shape [-1, 4]")
        .contains("send [rows, 4]");
  }

  @Test
  void jsonFlatShapeIsRejected() {
    EvergreenException error =
        catchThrowableOfType(
            EvergreenException.class,
            () ->
                json(
                    "{\"inputs\": [{\"name\": \"x\", \"shape\": [8], \"datatype\": \"FP64\","
                        + " \"data\": [1, 2, 3, 4, 5, 6, 7, 8]}]}"));

    assertThat(error.getMessage())
        .contains("input 'x' has shape [8], but the model's input has shape [-1, 4]");
  }

  @Test
  void grpcTypedRowsAreSummed() {
    InferTensorContents.Builder contents = oneToEight();
    ModelInferRequest request =
        ModelInferRequest.newBuilder().addInputs(tensor(2, 4).setContents(contents)).build();

    assertThat(model.predict(grpc(request))).containsExactly(10, 26);
  }

  @Test
  void grpcRawRowsAreSummed() {
    ByteBuffer bytes = ByteBuffer.allocate(12 * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (int value = 1; value <= 12; value++) {
      bytes.putFloat(value);
    }
    ModelInferRequest request =
        ModelInferRequest.newBuilder()
            .addInputs(tensor(3, 4).setDatatype("FP32"))
            .addRawInputContents(ByteString.copyFrom(bytes.array()))
            .build();

    assertThat(model.predict(grpc(request))).containsExactly(10, 26, 42);
  }

  @Test
  void grpcTransposedShapeIsRejected() {
    InferTensorContents.Builder contents = oneToEight();
    ModelInferRequest request =
        ModelInferRequest.newBuilder().addInputs(tensor(4, 2).setContents(contents)).build();

    EvergreenException error = catchThrowableOfType(EvergreenException.class, () -> grpc(request));

    assertThat(error.getMessage())
        .contains("input 'x' has shape [4, 2], but the model's input has shape [-1, 4]");
  }

  @Test
  void oneValuePerRowAcceptsRowsAndColumn() {
    assertThat(TensorBinding.shapeFits(new long[] {3}, java.util.List.of(-1L))).isTrue();
    assertThat(TensorBinding.shapeFits(new long[] {3, 1}, java.util.List.of(-1L))).isTrue();
    assertThat(TensorBinding.shapeFits(new long[] {3, 2}, java.util.List.of(-1L))).isFalse();
    assertThat(TensorBinding.shapeFits(new long[] {3, 4}, java.util.List.of(-1L, -1L))).isTrue();
  }
}
