package dev.evergreen.core.serving.external;

import static dev.evergreen.core.serving.external.ExternalFixtures.column;
import static dev.evergreen.core.serving.external.ExternalFixtures.featureMatrix;
import static dev.evergreen.core.serving.external.ExternalFixtures.file;
import static dev.evergreen.core.serving.external.ExternalFixtures.scores;
import static dev.evergreen.core.serving.external.ExternalFixtures.treeInputs;
import static dev.evergreen.core.serving.external.ExternalFixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.TensorSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Scores the models Python wrote and compares with Python's own predictions. */
class ExternalModelScoringTest {
  private static ServableModel open(ExternalFormat format, String fileName, String signature) {
    return ExternalModels.open(
        "flights",
        1,
        format,
        file(fileName),
        ExternalSignature.parse(utf8(signature), "signature.json"),
        null);
  }

  private static ServableModel idOffsetModel() {
    return ExternalModels.open(
        "ids",
        1,
        ExternalFormat.ONNX,
        OnnxGraphs.idOffset(),
        ExternalSignature.parse(utf8(OnnxGraphs.ID_OFFSET_SIGNATURE), "signature.json"),
        null);
  }

  private static double[] positiveClass(double[] pairs) {
    double[] positive = new double[pairs.length / 2];
    for (int i = 0; i < positive.length; i++) {
      positive[i] = pairs[i * 2 + 1];
    }
    return positive;
  }

  @Test
  void xgboostJsonMatchesPython() {
    ServableModel model =
        open(
            ExternalFormat.XGBOOST_JSON,
            "flights-xgboost.json",
            ExternalFixtures.XGBOOST_MATRIX_SIGNATURE);

    double[] expected = scores("xgboost");
    assertThat(expected).hasSize(20);
    assertThat(model.predict(featureMatrix())).containsExactly(expected, within(1e-6));
    assertThat(model.outputWidth()).isEqualTo(1);
  }

  @Test
  void xgboostUbjsonMatchesPython() {
    ServableModel model =
        open(
            ExternalFormat.XGBOOST_UBJ,
            "flights-xgboost.ubj",
            ExternalFixtures.XGBOOST_MATRIX_SIGNATURE);

    assertThat(model.predict(featureMatrix())).containsExactly(scores("xgboost"), within(1e-6));
  }

  @Test
  void xgboostOneInputPerFeatureMatchesPython() {
    ServableModel model =
        open(
            ExternalFormat.XGBOOST_JSON,
            "flights-xgboost.json",
            ExternalFixtures.XGBOOST_COLUMNS_SIGNATURE);
    InputBatch batch =
        new InputBatch(
            20,
            Map.of(
                "distance", column(0),
                "hour", column(1),
                "day_of_week", column(2),
                "day_of_month", column(3)),
            Map.of());

    assertThat(model.predict(batch)).containsExactly(scores("xgboost"), within(1e-6));
    assertThat(model.signature().inputs())
        .extracting(TensorSpec::name)
        .containsExactly("distance", "hour", "day_of_week", "day_of_month");
  }

  @Test
  void xgboostMissingValueFollowsDefaultBranch() {
    ServableModel model =
        open(
            ExternalFormat.XGBOOST_JSON,
            "flights-xgboost.json",
            ExternalFixtures.XGBOOST_MATRIX_SIGNATURE);
    double[] row = {Double.NaN, 7, 1, 2};

    double[] score = model.predict(new InputBatch(1, Map.of("features", row), Map.of()));

    assertThat(score).hasSize(1);
    assertThat(score[0]).isBetween(0.0, 1.0);
  }

  @Test
  void onnxLogisticFp32MatchesSklearn() {
    ServableModel model =
        open(
            ExternalFormat.ONNX,
            "flights-logistic-fp32.onnx",
            ExternalFixtures.LOGISTIC_FP32_SIGNATURE);

    double[] expected = scores("logistic");
    assertThat(expected).hasSize(40);
    assertThat(model.outputWidth()).isEqualTo(2);
    assertThat(model.predict(featureMatrix())).containsExactly(expected, within(1e-5));
    assertThat(model.signature().outputs())
        .containsExactly(new TensorSpec("probabilities", "FP64", List.of(-1L, 2L)));
  }

  @Test
  void onnxLogisticFp64ColumnMatchesSklearn() {
    ServableModel model =
        open(
            ExternalFormat.ONNX,
            "flights-logistic-fp64.onnx",
            ExternalFixtures.LOGISTIC_FP64_POSITIVE_SIGNATURE);

    assertThat(model.outputWidth()).isEqualTo(1);
    assertThat(model.predict(featureMatrix()))
        .containsExactly(positiveClass(scores("logistic")), within(1e-6));
    assertThat(model.signature().outputs())
        .containsExactly(new TensorSpec("probabilities", "FP64", List.of(-1L)));
  }

  @Test
  void onnxTreeIntegerInputsMatchSklearn() {
    ServableModel model =
        open(ExternalFormat.ONNX, "flights-tree.onnx", ExternalFixtures.TREE_SIGNATURE);

    assertThat(model.predict(treeInputs())).containsExactly(scores("tree"), within(1e-5));
  }

  @Test
  void onnxZipMapOutputMatchesSklearn() {
    ServableModel model =
        open(
            ExternalFormat.ONNX,
            "flights-tree-zipmap.onnx",
            ExternalFixtures.TREE_ZIPMAP_SIGNATURE);

    assertThat(model.predict(treeInputs()))
        .containsExactly(positiveClass(scores("tree")), within(1e-5));
  }

  @Test
  void onnxStringInputMatchesPython() {
    ServableModel model =
        open(ExternalFormat.ONNX, "origin-late-rate.onnx", ExternalFixtures.ORIGIN_SIGNATURE);
    JsonNode origins = ExternalFixtures.expected().get("origins");
    String[] codes = new String[origins.size()];
    for (int i = 0; i < codes.length; i++) {
      codes[i] = origins.get(i).asText();
    }

    double[] rates = model.predict(new InputBatch(codes.length, Map.of(), Map.of("origin", codes)));

    assertThat(rates).containsExactly(scores("origin_late_rate"), within(1e-6));
    assertThat(rates[codes.length - 1]).isEqualTo(-1.0);
  }

  @Test
  void onnxRejectsFractionalValueForInt64Input() {
    ServableModel model =
        open(ExternalFormat.ONNX, "flights-tree.onnx", ExternalFixtures.TREE_SIGNATURE);
    InputBatch batch =
        new InputBatch(
            1,
            Map.of(
                "distance", new double[] {300},
                "hour", new double[] {7.5},
                "day_of_week", new double[] {1},
                "weekend", new double[] {0}),
            Map.of());

    assertThatThrownBy(() -> model.predict(batch))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("input 'hour' (INT64) has the value 7.5")
        .extracting(e -> ((EvergreenException) e).kind())
        .isEqualTo(ErrorKind.INVALID_INPUT);
  }

  @Test
  void onnxBoolShowsValueAsWritten() {
    ServableModel model =
        open(ExternalFormat.ONNX, "flights-tree.onnx", ExternalFixtures.TREE_SIGNATURE);
    InputBatch batch =
        new InputBatch(
            1,
            Map.of(
                "distance", new double[] {300},
                "hour", new double[] {7},
                "day_of_week", new double[] {1},
                "weekend", new double[] {2}),
            Map.of());

    assertThatThrownBy(() -> model.predict(batch))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(
            "input 'weekend' (BOOL) has the value 2 at element 0; send true or false (or 1 or 0)");
  }

  @Test
  void onnxInt64KeepsExactIntegers() {
    ServableModel model = idOffsetModel();
    long base = OnnxGraphs.ID_BASE;
    long[] ids = {base + 1, base + 3, 5, Long.MAX_VALUE - 1};
    double[] rounded = new double[ids.length];
    for (int i = 0; i < ids.length; i++) {
      rounded[i] = ids[i];
    }

    double[] exact =
        model.predict(new InputBatch(4, Map.of("id", rounded), Map.of(), Map.of("id", ids)));
    double[] fromDoubles =
        model.predict(
            new InputBatch(2, Map.of("id", new double[] {rounded[0], rounded[1]}), Map.of()));

    assertThat(exact).containsExactly(1, 3, 5 - base, (double) (Long.MAX_VALUE - 1 - base));
    // 2^53 + 1 rounds to 2^53 and 2^53 + 3 to 2^53 + 4 as doubles.
    assertThat(fromDoubles[0]).isEqualTo(0);
    assertThat(fromDoubles[1]).isEqualTo(4);
  }

  @Test
  void onnxInt64IgnoresMismatchedIntegers() {
    ServableModel model = idOffsetModel();
    long base = OnnxGraphs.ID_BASE;
    // Element 1 has no exact value (0 where the double is 7), element 2 is a missing value.
    InputBatch batch =
        new InputBatch(
            3,
            Map.of("id", new double[] {base + 1, 7, Double.NaN}),
            Map.of(),
            Map.of("id", new long[] {base + 1, 0, 0}));

    assertThatThrownBy(() -> model.predict(batch))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("input 'id' (INT64) has a missing value at element 2");
    double[] scores =
        model.predict(
            new InputBatch(
                2,
                Map.of("id", new double[] {base + 1, 7}),
                Map.of(),
                Map.of("id", new long[] {base + 1, 0})));
    assertThat(scores).containsExactly(1, 7 - base);
  }

  @Test
  void onnxInt64InputRejectsTwoToThe63() {
    ServableModel model = idOffsetModel();

    // (double) Long.MAX_VALUE is 2^63, which a cast to long would turn into Long.MAX_VALUE.
    assertThatThrownBy(
            () -> model.predict(new InputBatch(1, Map.of("id", new double[] {0x1p63}), Map.of())))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("input 'id' (INT64) has the value 9.223372036854776E18 at element 0");
  }

  @Test
  void onnxRejectsValueBeyondFp32Range() {
    ServableModel model =
        open(
            ExternalFormat.ONNX,
            "flights-logistic-fp32.onnx",
            ExternalFixtures.LOGISTIC_FP32_SIGNATURE);
    InputBatch batch =
        new InputBatch(1, Map.of("features", new double[] {733, 7, 1e39, 2}), Map.of());

    assertThatThrownBy(() -> model.predict(batch))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("input 'features' (FP32) has the value 1.0E39 at element 2")
        .extracting(e -> ((EvergreenException) e).kind())
        .isEqualTo(ErrorKind.INVALID_INPUT);
  }

  @Test
  void onnxRejectsMissingStringValue() {
    ServableModel model =
        open(ExternalFormat.ONNX, "origin-late-rate.onnx", ExternalFixtures.ORIGIN_SIGNATURE);
    InputBatch batch = new InputBatch(2, Map.of(), Map.of("origin", new String[] {"ATL", null}));

    assertThatThrownBy(() -> model.predict(batch))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("input 'origin' has a missing value at element 1");
  }

  @Test
  void onnxRejectsMissingInput() {
    ServableModel model =
        open(
            ExternalFormat.ONNX,
            "flights-logistic-fp32.onnx",
            ExternalFixtures.LOGISTIC_FP32_SIGNATURE);

    assertThatThrownBy(() -> model.predict(new InputBatch(1, Map.of(), Map.of())))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("missing input 'features' (FP32, shape [-1, 4])");
  }

  @Test
  void onnxScoresConcurrentBatchesConsistently() throws Exception {
    ServableModel model =
        open(ExternalFormat.ONNX, "flights-tree.onnx", ExternalFixtures.TREE_SIGNATURE);
    double[] expected = model.predict(treeInputs());
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<double[]>> results = new ArrayList<>();
      for (int i = 0; i < 32; i++) {
        results.add(pool.submit(() -> model.predict(treeInputs())));
      }
      for (Future<double[]> result : results) {
        assertThat(result.get()).containsExactly(expected);
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
