package dev.evergreen.core.serving.external;

import static dev.evergreen.core.serving.external.ExternalFixtures.file;
import static dev.evergreen.core.serving.external.ExternalFixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.TensorSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Signature files that are invalid, and signatures that do not match the model at load. */
class ExternalSignatureTest {
  private static ExternalSignature parse(String json) {
    return ExternalSignature.parse(utf8(json), "sig.json");
  }

  private static void assertRejected(String json, String... fragments) {
    assertThatThrownBy(() -> parse(json))
        .isInstanceOf(EvergreenException.class)
        .satisfies(
            e -> assertThat(((EvergreenException) e).kind()).isEqualTo(ErrorKind.INVALID_INPUT))
        .hasMessageContainingAll(fragments);
  }

  private static void assertLoadRejected(
      ExternalFormat format, String fileName, String signature, String... fragments) {
    assertThatThrownBy(
            () -> ExternalModels.open("m", 1, format, file(fileName), parse(signature), null))
        .isInstanceOf(EvergreenException.class)
        .satisfies(
            e -> assertThat(((EvergreenException) e).kind()).isEqualTo(ErrorKind.INVALID_INPUT))
        .hasMessageContainingAll(fragments);
  }

  @Test
  void parseReadsInputsOutputAndColumn() {
    ExternalSignature signature = parse(ExternalFixtures.LOGISTIC_FP64_POSITIVE_SIGNATURE);

    assertThat(signature.inputs())
        .containsExactly(new TensorSpec("features", "FP64", List.of(-1L, 4L)));
    assertThat(signature.output())
        .isEqualTo(new TensorSpec("probabilities", "FP64", List.of(-1L, 2L)));
    assertThat(signature.outputColumn()).isEqualTo(1);
    assertThat(signature.outputWidth()).isEqualTo(1);
  }

  @Test
  void treeRoundTripsThroughManifestForm() {
    ExternalSignature signature = parse(ExternalFixtures.TREE_ZIPMAP_SIGNATURE);

    assertThat(ExternalSignature.fromTree(signature.toTree(), "manifest")).isEqualTo(signature);
  }

  @Test
  void parseRejectsInvalidJson() {
    assertRejected("{\"inputs\": [", "signature file sig.json is not valid JSON");
  }

  @Test
  void parseRejectsUnknownDatatype() {
    assertRejected(
        """
        {"inputs": [{"name": "x", "datatype": "FP16", "shape": [-1, 4]}],
         "output": {"name": "y", "datatype": "FP32", "shape": [-1]}}
        """,
        "signature file sig.json",
        "field 'inputs[0].datatype'",
        "\"FP16\"",
        "FP32, FP64, INT64, INT32, BOOL, BYTES");
  }

  @Test
  void parseRejectsShapeWithoutBatchDimension() {
    assertRejected(
        """
        {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4]}],
         "output": {"name": "y", "datatype": "FP32", "shape": [-1]}}
        """,
        "field 'inputs[0].shape'",
        "[1,4]",
        "starting with -1");
  }

  @Test
  void parseRejectsZeroDimension() {
    assertRejected(
        """
        {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 0]}],
         "output": {"name": "y", "datatype": "FP32", "shape": [-1]}}
        """,
        "field 'inputs[0].shape'",
        "[-1,0]");
  }

  @Test
  void parseRejectsDuplicateInputName() {
    assertRejected(
        """
        {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1]},
                    {"name": "x", "datatype": "FP64", "shape": [-1]}],
         "output": {"name": "y", "datatype": "FP32", "shape": [-1]}}
        """,
        "field 'inputs[1].name'",
        "\"x\"",
        "a unique name");
  }

  @Test
  void parseRejectsMissingOutput() {
    assertRejected(
        """
        {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1]}]}
        """,
        "field 'output' is missing");
  }

  @Test
  void parseRejectsColumnOutsideOutput() {
    assertRejected(
        """
        {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1]}],
         "output": {"name": "y", "datatype": "FP32", "shape": [-1, 2], "column": 2}}
        """,
        "field 'output.column' is 2");
  }

  @Test
  void parseRejectsBytesOutput() {
    assertRejected(
        """
        {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1]}],
         "output": {"name": "y", "datatype": "BYTES", "shape": [-1]}}
        """,
        "field 'output.datatype' is \"BYTES\"");
  }

  @Test
  void parseRejectsUnknownField() {
    assertRejected(
        """
        {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1], "dims": [4]}],
         "output": {"name": "y", "datatype": "FP32", "shape": [-1]}}
        """,
        "unknown field 'inputs[0].dims'");
  }

  @Test
  void onnxLoadRejectsWrongInputName() {
    assertLoadRejected(
        ExternalFormat.ONNX,
        "flights-logistic-fp32.onnx",
        ExternalFixtures.LOGISTIC_FP32_SIGNATURE.replace("\"features\"", "\"feature\""),
        "declares inputs [feature]",
        "the ONNX model has inputs [features]");
  }

  @Test
  void onnxLoadRejectsWrongInputDatatype() {
    assertLoadRejected(
        ExternalFormat.ONNX,
        "flights-logistic-fp32.onnx",
        ExternalFixtures.LOGISTIC_FP64_POSITIVE_SIGNATURE,
        "input 'features' is declared FP64 (DOUBLE)",
        "element type FLOAT");
  }

  @Test
  void onnxLoadRejectsWrongInputDimension() {
    assertLoadRejected(
        ExternalFormat.ONNX,
        "flights-logistic-fp32.onnx",
        ExternalFixtures.LOGISTIC_FP32_SIGNATURE.replace("[-1, 4]", "[-1, 5]"),
        "input 'features' is declared with shape [-1, 5]",
        "the ONNX model has shape [-1, 4]");
  }

  @Test
  void onnxLoadRejectsWrongInputRank() {
    assertLoadRejected(
        ExternalFormat.ONNX,
        "flights-tree.onnx",
        ExternalFixtures.TREE_SIGNATURE.replace(
            "\"hour\", \"datatype\": \"INT64\", \"shape\": [-1, 1]",
            "\"hour\", \"datatype\": \"INT64\", \"shape\": [-1]"),
        "input 'hour' is declared with shape [-1]",
        "the ONNX model has shape [-1, 1]");
  }

  @Test
  void onnxLoadRejectsUnknownOutput() {
    assertLoadRejected(
        ExternalFormat.ONNX,
        "flights-tree.onnx",
        ExternalFixtures.TREE_SIGNATURE.replace("\"probabilities\"", "\"scores\""),
        "output 'scores' is declared",
        "outputs [label, probabilities]");
  }

  @Test
  void onnxLoadRejectsWrongOutputDatatype() {
    assertLoadRejected(
        ExternalFormat.ONNX,
        "flights-logistic-fp32.onnx",
        ExternalFixtures.LOGISTIC_FP32_SIGNATURE.replace(
            "\"datatype\": \"FP32\", \"shape\": [-1, 2]",
            "\"datatype\": \"FP64\", \"shape\": [-1, 2]"),
        "output 'probabilities' is declared FP64 (DOUBLE)",
        "element type FLOAT");
  }

  @Test
  void onnxLoadRejectsZipMapDeclaredAsVector() {
    assertLoadRejected(
        ExternalFormat.ONNX,
        "flights-tree-zipmap.onnx",
        ExternalFixtures.TREE_ZIPMAP_SIGNATURE.replace(
            "\"shape\": [-1, 2], \"column\": 1", "\"shape\": [-1]"),
        "output 'probability_maps' is a sequence of maps",
        "[-1, k]");
  }

  @Test
  void onnxLoadRejectsFileThatIsNotOnnx() {
    assertLoadRejected(
        ExternalFormat.ONNX,
        "flights-xgboost.json",
        ExternalFixtures.LOGISTIC_FP32_SIGNATURE,
        "ONNX Runtime cannot open the model file");
  }

  @Test
  void xgboostLoadRejectsWrongFeatureCount() {
    assertLoadRejected(
        ExternalFormat.XGBOOST_JSON,
        "flights-xgboost.json",
        ExternalFixtures.XGBOOST_MATRIX_SIGNATURE.replace("[-1, 4]", "[-1, 5]"),
        "declares 5 features per row",
        "num_feature 4");
  }

  @Test
  void xgboostLoadRejectsWrongOutputWidth() {
    assertLoadRejected(
        ExternalFormat.XGBOOST_UBJ,
        "flights-xgboost.ubj",
        ExternalFixtures.XGBOOST_MATRIX_SIGNATURE.replace(
            "\"shape\": [-1]}", "\"shape\": [-1, 2]}"),
        "output 'probability' is declared with shape [-1, 2]",
        "objective binary:logistic",
        "returns 1 value(s) per row");
  }

  @Test
  void xgboostLoadRejectsBytesInput() {
    assertLoadRejected(
        ExternalFormat.XGBOOST_JSON,
        "flights-xgboost.json",
        ExternalFixtures.XGBOOST_MATRIX_SIGNATURE.replace(
            "\"datatype\": \"FP32\", \"shape\": [-1, 4]",
            "\"datatype\": \"BYTES\", \"shape\": [-1, 4]"),
        "input 'features' has datatype BYTES");
  }

  @Test
  void xgboostLoadRejectsJsonFileDeclaredUbjson() {
    assertLoadRejected(
        ExternalFormat.XGBOOST_UBJ,
        "flights-xgboost.json",
        ExternalFixtures.XGBOOST_MATRIX_SIGNATURE,
        "the file is JSON text",
        "xgboost-json");
  }

  @Test
  void xgboostLoadRejectsUbjsonFileDeclaredJson() {
    assertLoadRejected(
        ExternalFormat.XGBOOST_JSON,
        "flights-xgboost.ubj",
        ExternalFixtures.XGBOOST_MATRIX_SIGNATURE,
        "the file is not JSON",
        "xgboost-ubj");
  }

  @Test
  void xgboostLoadRejectsOnnxFile() {
    assertLoadRejected(
        ExternalFormat.XGBOOST_UBJ,
        "flights-tree.onnx",
        ExternalFixtures.XGBOOST_MATRIX_SIGNATURE,
        "cannot read the XGBoost model file");
  }

  @Test
  void manifestRoundTripKeepsMissingValues() {
    ExternalSignature signature = parse(ExternalFixtures.XGBOOST_MATRIX_SIGNATURE);
    CheckSet checkSet =
        new CheckSet(
            new InputBatch(1, Map.of("features", new double[] {Double.NaN, 7, 1, 2}), Map.of()),
            new double[] {0.25});
    ExternalManifest manifest =
        new ExternalManifest(
            ExternalFormat.XGBOOST_UBJ,
            "model.ubj",
            "sha256/" + "a".repeat(64),
            "b".repeat(64),
            signature,
            checkSet,
            ExternalManifest.CHECK_FILE);

    ExternalManifest read = ExternalManifest.fromJson(manifest.toJson(), "manifest");

    assertThat(read.format()).isEqualTo(ExternalFormat.XGBOOST_UBJ);
    assertThat(read.signature()).isEqualTo(signature);
    assertThat(read.checkSet().inputs().numeric().get("features"))
        .containsExactly(Double.NaN, 7.0, 1.0, 2.0);
    assertThat(read.checkSet().expected()).containsExactly(0.25);
    assertThat(manifest.toJson()).isEqualTo(read.toJson());
  }

  @Test
  void manifestOfOtherKindIsRejected() {
    assertThatThrownBy(
            () -> ExternalManifest.fromJson(utf8("{\"formatVersion\": 1}"), "sha256/abc"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("manifest sha256/abc is not of kind external-model");
  }
}
