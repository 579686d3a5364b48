package dev.evergreen.core.serving.external;

import static dev.evergreen.core.serving.external.ExternalFixtures.file;
import static dev.evergreen.core.serving.external.ExternalFixtures.scores;
import static dev.evergreen.core.serving.external.ExternalFixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.xgboost.TreeEnsemble;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Tests of the feature-name check. The fixture model was trained with the feature names distance,
 * hour, day_of_week and day_of_month, so a signature that names or orders them differently must not
 * load.
 */
class XgboostFeatureNamesTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private static ServableModel open(ExternalFormat format, byte[] model, String signature) {
    return ExternalModels.open(
        "flights",
        1,
        format,
        model,
        ExternalSignature.parse(utf8(signature), "signature.json"),
        null);
  }

  private static String scalarSignature(String... names) {
    StringBuilder inputs = new StringBuilder();
    for (String name : names) {
      if (!inputs.isEmpty()) {
        inputs.append(", ");
      }
      inputs
          .append("{\"name\": \"")
          .append(name)
          .append("\", \"datatype\": \"FP64\", \"shape\": [-1]}");
    }
    return "{\"inputs\": ["
        + inputs
        + "], \"output\": {\"name\": \"probability\", \"datatype\": \"FP64\", \"shape\": [-1]}}";
  }

  private static byte[] jsonModel(java.util.function.Consumer<ObjectNode> edit) throws Exception {
    ObjectNode root = (ObjectNode) MAPPER.readTree(file("flights-xgboost.json"));
    edit.accept((ObjectNode) root.get("learner"));
    return MAPPER.writeValueAsBytes(root);
  }

  @Test
  void parseReadsNamesFromBothFormats() {
    assertThat(TreeEnsemble.parse(file("flights-xgboost.json")).featureNames())
        .containsExactly("distance", "hour", "day_of_week", "day_of_month");
    assertThat(TreeEnsemble.parse(file("flights-xgboost.ubj")).featureNames())
        .containsExactly("distance", "hour", "day_of_week", "day_of_month");
  }

  @Test
  void openRejectsInputsInAnotherOrder() {
    String signature = scalarSignature("hour", "distance", "day_of_week", "day_of_month");

    assertThatThrownBy(
            () -> open(ExternalFormat.XGBOOST_UBJ, file("flights-xgboost.ubj"), signature))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(
            "input 'hour' is feature 0 of the signature, but the XGBoost model names feature 0"
                + " 'distance' (the model has it as feature 1)")
        .hasMessageContaining("[distance, hour, day_of_week, day_of_month]")
        .extracting(e -> ((EvergreenException) e).kind())
        .isEqualTo(ErrorKind.INVALID_INPUT);
  }

  @Test
  void openRejectsUnknownInputName() {
    String signature = scalarSignature("distance", "hour", "weekday", "day_of_month");

    assertThatThrownBy(
            () -> open(ExternalFormat.XGBOOST_JSON, file("flights-xgboost.json"), signature))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(
            "input 'weekday' is feature 2 of the signature, but the XGBoost model names feature 2"
                + " 'day_of_week' (the model has no feature of that name)");
  }

  @Test
  void openComparesInputsAfterMatrixInput() {
    String matching =
        """
        {"inputs": [{"name": "trip", "datatype": "FP64", "shape": [-1, 2]},
                    {"name": "day_of_week", "datatype": "FP64", "shape": [-1, 1]},
                    {"name": "day_of_month", "datatype": "FP64", "shape": [-1]}],
         "output": {"name": "probability", "datatype": "FP64", "shape": [-1]}}
        """;
    String swapped = matching.replace("day_of_week", "x").replace("day_of_month", "day_of_week");

    ServableModel model = open(ExternalFormat.XGBOOST_JSON, file("flights-xgboost.json"), matching);
    double[] trip = new double[40];
    double[] dayOfWeek = new double[20];
    double[] dayOfMonth = new double[20];
    double[] rows = ExternalFixtures.featureMatrix().numeric().get("features");
    for (int row = 0; row < 20; row++) {
      trip[row * 2] = rows[row * 4];
      trip[row * 2 + 1] = rows[row * 4 + 1];
      dayOfWeek[row] = rows[row * 4 + 2];
      dayOfMonth[row] = rows[row * 4 + 3];
    }
    InputBatch batch =
        new InputBatch(
            20,
            Map.of("trip", trip, "day_of_week", dayOfWeek, "day_of_month", dayOfMonth),
            Map.of());

    assertThat(model.predict(batch)).containsExactly(scores("xgboost"), within(1e-6));
    assertThatThrownBy(
            () -> open(ExternalFormat.XGBOOST_JSON, file("flights-xgboost.json"), swapped))
        .hasMessageContaining("input 'x' is feature 2 of the signature");
  }

  @Test
  void openAcceptsAnyNamesWithoutFeatureNames() throws Exception {
    byte[] unnamed = jsonModel(learner -> learner.putArray("feature_names"));
    String signature = scalarSignature("a", "b", "c", "d");

    ServableModel model = open(ExternalFormat.XGBOOST_JSON, unnamed, signature);

    assertThat(model.signature().inputs()).hasSize(4);
    assertThat(TreeEnsemble.parse(unnamed).featureNames()).isEmpty();
  }

  @Test
  void parseRejectsWrongNameCount() throws Exception {
    byte[] model = jsonModel(learner -> learner.putArray("feature_names").add("distance"));

    assertThatThrownBy(() -> TreeEnsemble.parse(model))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(
            "XGBoost model field learner.feature_names = an array of 1 must name each of the"
                + " model's 4 features (num_feature)");
  }
}
