package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.Signature;
import dev.evergreen.core.serving.TensorSpec;
import dev.evergreen.server.grpc.InferTensorContents;
import dev.evergreen.server.grpc.ModelInferRequest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Decodes tensors of shape {@code [rows, 2, 2]} with one bad element through the JSON and the gRPC
 * decoder, and checks that the error gives the element's flat index, row and indices in the row.
 */
class TensorPositionTest {
  /** A model with one FP64 input {@code cube} of shape {@code [-1, 2, 2]} that sums each row. */
  private static final class CubeSumModel implements ServableModel {
    @Override
    public String model() {
      return "cube-sum";
    }

    @Override
    public int version() {
      return 1;
    }

    @Override
    public Signature signature() {
      return new Signature(
          List.of(new TensorSpec("cube", "FP64", List.of(-1L, 2L, 2L))),
          List.of(new TensorSpec("sum", "FP64", List.of(-1L))));
    }

    @Override
    public int outputWidth() {
      return 1;
    }

    @Override
    public double[] predict(InputBatch batch) {
      double[] values = batch.numeric().get("cube");
      double[] sums = new double[batch.rows()];
      for (int i = 0; i < values.length; i++) {
        sums[i / 4] += values[i];
      }
      return sums;
    }

    @Override
    public CheckSet checkSet() {
      return new CheckSet(
          new InputBatch(0, Map.of("cube", new double[0]), Map.of()), new double[0]);
    }
  }

  private final CubeSumModel model = new CubeSumModel();

  private EvergreenException jsonError(String data) {
    String body =
        "{\"inputs\": [{\"name\": \"cube\", \"shape\": [2, 2, 2], \"datatype\": \"INT8\","
            + " \"data\": "
            + data
            + "}]}";
    return catchThrowableOfType(
        EvergreenException.class,
        () -> InferenceRequestDecoder.decode(body.getBytes(StandardCharsets.UTF_8), model));
  }

  @Test
  void jsonValidCubeIsSummed() {
    InputBatch batch =
        InferenceRequestDecoder.decode(
                ("{\"inputs\": [{\"name\": \"cube\", \"shape\": [2, 2, 2], \"datatype\": \"INT8\","
                        + " \"data\": [1, 2, 3, 4, 10, 20, 30, 40]}]}")
                    .getBytes(StandardCharsets.UTF_8),
                model)
            .batch();

    assertThat(model.predict(batch)).containsExactly(10, 100);
  }

  @Test
  void jsonStringNamesRowAndElement() {
    EvergreenException error = jsonError("[1, 2, 3, 4, 5, 6, \"x\", 8]");

    assertThat(error.getMessage())
        .contains("input 'cube' (INT8) contains the string \"x\" at data index 6")
        .contains("(row 1, element [1, 0])");
  }

  @Test
  void jsonOutOfRangeNamesRowAndElement() {
    EvergreenException error = jsonError("[[[1, 2], [3, 4]], [[5, 300], [7, 8]]]");

    assertThat(error.getMessage())
        .contains("input 'cube' has datatype INT8 but the value 300")
        .contains("at data index 5 (row 1, element [0, 1])")
        .contains("outside its range of -128 to 127");
  }

  @Test
  void grpcOutOfRangeNamesRowAndElement() {
    InferTensorContents.Builder contents = InferTensorContents.newBuilder();
    for (int value : new int[] {1, 2, 3, 4, 5, 6, 7, 300}) {
      contents.addIntContents(value);
    }
    ModelInferRequest request =
        ModelInferRequest.newBuilder()
            .addInputs(
                ModelInferRequest.InferInputTensor.newBuilder()
                    .setName("cube")
                    .setDatatype("INT8")
                    .addShape(2)
                    .addShape(2)
                    .addShape(2)
                    .setContents(contents))
            .build();

    EvergreenException error =
        catchThrowableOfType(
            EvergreenException.class, () -> GrpcRequestDecoder.decode(request, model));

    assertThat(error.getMessage())
        .contains("input 'cube' has datatype INT8 but the value 300")
        .contains("at data index 7 (row 1, element [1, 1])");
  }
}
