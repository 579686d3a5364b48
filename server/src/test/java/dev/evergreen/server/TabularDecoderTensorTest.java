package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.Signature;
import dev.evergreen.core.serving.TensorSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Reads nested arrays for multi-dimensional inputs with {@link TabularDecoder}, for a model with a
 * {@code [-1, 2, 2]} input {@code image} and a {@code [-1]} text input {@code tag}.
 */
class TabularDecoderTensorTest {
  private final ServableModel twoInputs =
      model(
          new TensorSpec("image", "FP32", List.of(-1L, 2L, 2L)),
          new TensorSpec("tag", "BYTES", List.of(-1L)));

  private final ServableModel rowSum = new RowSumModel();

  private static JsonNode json(String text) throws Exception {
    return ServerFixture.JSON.readTree(text);
  }

  private static EvergreenException rejection(Runnable decode) {
    return catchThrowableOfType(EvergreenException.class, decode::run);
  }

  @Test
  void nestedValueBeyondFp32RangeIsRejected() throws Exception {
    JsonNode rows = json("[{\"image\": [[1, 2], [3e39, 4]], \"tag\": \"a\"}]");

    EvergreenException error =
        rejection(() -> TabularDecoder.fromRows(rows, "instances", twoInputs, true));

    assertThat(error.getMessage())
        .contains("outside the FP32 range of -3.4028235E38 to 3.4028235E38 for input 'image'");
  }

  @Test
  void fp32LimitIsAccepted() throws Exception {
    ServableModel scalar = model(new TensorSpec("x", "FP32", List.of(-1L)));
    JsonNode rows = json("[{\"x\": 3.4028235E38}, {\"x\": -3.4028235E38}]");

    InputBatch batch = TabularDecoder.fromRows(rows, "instances", scalar, true);

    assertThat(batch.numeric().get("x")).containsExactly(3.4028235E38, -3.4028235E38);
    JsonNode tooLarge = json("[{\"x\": 3.5E38}]");
    EvergreenException error =
        rejection(() -> TabularDecoder.fromRows(tooLarge, "instances", scalar, true));
    assertThat(error.getMessage())
        .contains("instances[0].x is 3.5E38, which is outside the FP32 range")
        .contains("for input 'x'");
  }

  @Test
  void scalarBeyondDoubleRangeIsRejected() throws Exception {
    ServableModel scalar = model(new TensorSpec("x", "FP64", List.of(-1L)));
    JsonNode rows = json("[{\"x\": 1e400}]");

    EvergreenException error =
        rejection(() -> TabularDecoder.fromRows(rows, "instances", scalar, true));

    assertThat(error.getMessage())
        .contains("instances[0].x is")
        .contains("outside the FP64 range")
        .contains("send a number within that range");
  }

  @Test
  void rowsKeyedByNameReadNestedArrays() throws Exception {
    JsonNode rows =
        json(
            """
            [{"image": [[1, 2], [3, 4]], "tag": "a"},
             {"image": [[5, null], [true, 8]], "tag": null}]""");

    InputBatch batch = TabularDecoder.fromRows(rows, "instances", twoInputs, true);

    assertThat(batch.rows()).isEqualTo(2);
    assertThat(batch.numeric().get("image")).containsExactly(1, 2, 3, 4, 5, Double.NaN, 1, 8);
    assertThat(batch.text().get("tag")).containsExactly("a", null);
  }

  @Test
  void columnsReadNestedArrays() throws Exception {
    JsonNode columns =
        json(
            """
            {"image": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]], "tag": ["a", "b"]}""");

    InputBatch batch = TabularDecoder.fromColumns(columns, "inputs", twoInputs);

    assertThat(batch.numeric().get("image")).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
    assertThat(batch.text().get("tag")).containsExactly("a", "b");
  }

  @Test
  void arrayRowsInSignatureOrderReadNestedArrays() throws Exception {
    JsonNode rows = json("[[[[1, 2], [3, 4]], \"a\"]]");

    InputBatch batch = TabularDecoder.fromRows(rows, "instances", twoInputs, true);

    assertThat(batch.numeric().get("image")).containsExactly(1, 2, 3, 4);
    assertThat(batch.text().get("tag")).containsExactly("a");
  }

  @Test
  void singleInputTakesEachRowAsItsValue() throws Exception {
    InputBatch batch =
        TabularDecoder.fromRows(json("[[1, 2, 3, 4], [10, 20, 30, 40]]"), "inputs", rowSum, true);

    assertThat(rowSum.predict(batch)).containsExactly(10, 100);
  }

  @Test
  void emptyRowsGiveEmptyBatch() throws Exception {
    InputBatch batch = TabularDecoder.fromRows(json("[]"), "instances", rowSum, true);

    assertThat(batch.rows()).isZero();
    assertThat(batch.numeric().get("x")).isEmpty();
  }

  @Test
  void wrongRowShapeNamesInputAndBothShapes() throws Exception {
    JsonNode rows = json("[[1, 2, 3], [4, 5, 6]]");

    EvergreenException error =
        rejection(() -> TabularDecoder.fromRows(rows, "instances", rowSum, true));

    assertThat(error.getMessage())
        .contains("input 'x' has shape [2, 3]")
        .contains("the model's input has shape [-1, 4]");
  }

  @Test
  void scalarRowsForMatrixInputAreRejected() throws Exception {
    JsonNode rows = json("[1, 2]");

    EvergreenException error =
        rejection(() -> TabularDecoder.fromRows(rows, "instances", rowSum, true));

    assertThat(error.getMessage())
        .contains("input 'x' has shape [2]")
        .contains("the model's input has shape [-1, 4]");
  }

  @Test
  void rowsOfDifferentShapesAreRejected() throws Exception {
    JsonNode rows = json("[[1, 2, 3, 4], [5, 6, 7]]");

    EvergreenException error =
        rejection(() -> TabularDecoder.fromRows(rows, "instances", rowSum, true));

    assertThat(error.getMessage())
        .contains("input 'x' needs the same shape in every row")
        .contains("instances[0] has shape [4]")
        .contains("instances[1] has shape [3]")
        .contains("[-1, 4]");
  }

  @Test
  void raggedNestedArrayIsRejected() throws Exception {
    JsonNode rows = json("[{\"image\": [[1, 2], [3]], \"tag\": \"a\"}]");

    EvergreenException error =
        rejection(() -> TabularDecoder.fromRows(rows, "instances", twoInputs, true));

    assertThat(error.getMessage())
        .contains("instances[0].image is a ragged array")
        .contains("instances[0].image[1] has shape [1]")
        .contains("input 'image' has shape [-1, 2, 2]");
  }

  @Test
  void wrongLeafTypeNamesItsPosition() throws Exception {
    JsonNode rows = json("[[1, 2, 3, 4], [5, 6, \"seven\", 8]]");

    EvergreenException error =
        rejection(() -> TabularDecoder.fromRows(rows, "inputs", rowSum, true));

    assertThat(error.getMessage())
        .contains("inputs[1][2] is the string \"seven\" but input 'x' takes numbers");
  }

  @Test
  void rowWithoutTensorValueIsRejected() throws Exception {
    JsonNode rows = json("[{\"image\": [[1, 2], [3, 4]], \"tag\": \"a\"}, {\"tag\": \"b\"}]");

    EvergreenException error =
        rejection(() -> TabularDecoder.fromRows(rows, "instances", twoInputs, true));

    assertThat(error.getMessage()).contains("instances[1] has no value for input 'image'");
  }

  @Test
  void scalarFormatsRejectMatrixInput() throws Exception {
    JsonNode rows = json("[{\"x\": [1, 2, 3, 4]}]");

    EvergreenException records =
        rejection(() -> TabularDecoder.fromRows(rows, "dataframe_records", rowSum, false));
    EvergreenException csv = rejection(() -> TabularDecoder.fromCsv("x\n1\n", rowSum));

    assertThat(records.getMessage())
        .contains("input 'x' has shape [-1, 4], but 'dataframe_records' carries one value");
    assertThat(csv.getMessage()).contains("input 'x' has shape [-1, 4], but CSV carries one value");
  }

  @Test
  void columnInputTakesOneElementArrays() throws Exception {
    ServableModel column = model(new TensorSpec("distance", "FP64", List.of(-1L, 1L)));

    InputBatch batch =
        TabularDecoder.fromRows(
            json("[{\"distance\": [733]}, {\"distance\": 10}]"), "instances", column, true);

    assertThat(batch.numeric().get("distance")).containsExactly(733, 10);
  }

  private static ServableModel model(TensorSpec... inputs) {
    return new ServableModel() {
      @Override
      public String model() {
        return "tensor-inputs";
      }

      @Override
      public int version() {
        return 1;
      }

      @Override
      public Signature signature() {
        return new Signature(
            List.of(inputs), List.of(new TensorSpec("score", "FP64", List.of(-1L))));
      }

      @Override
      public int outputWidth() {
        return 1;
      }

      @Override
      public double[] predict(InputBatch batch) {
        return new double[batch.rows()];
      }

      @Override
      public CheckSet checkSet() {
        return new CheckSet(new InputBatch(0, Map.of(), Map.of()), new double[0]);
      }
    };
  }
}
