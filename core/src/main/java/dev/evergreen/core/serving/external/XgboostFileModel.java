package dev.evergreen.core.serving.external;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.TensorSpec;
import dev.evergreen.core.serving.xgboost.TreeEnsemble;
import java.util.List;

/**
 * An XGBoost model saved by another program (JSON or UBJSON), scored in plain Java by {@link
 * TreeEnsemble}. Each row's feature vector is the concatenation of the row's values of every
 * declared input, in declared order: one input of shape {@code [-1, n]}, n inputs of shape {@code
 * [-1]}, or any mix whose values per row add up to the model's {@code num_feature}. {@code NaN} is
 * a missing value, as in XGBoost.
 */
final class XgboostFileModel extends ExternalModel {
  private final TreeEnsemble ensemble;

  private XgboostFileModel(
      String model,
      int version,
      ExternalSignature declared,
      CheckSet checkSet,
      TreeEnsemble ensemble) {
    super(model, version, declared, checkSet);
    this.ensemble = ensemble;
  }

  /**
   * Parses a model file and checks the declared signature against it.
   *
   * @throws EvergreenException of kind INVALID_INPUT when the file is not a supported XGBoost model
   *     or the signature does not fit it
   */
  static XgboostFileModel open(
      String model, int version, byte[] file, ExternalSignature declared, CheckSet checkSet) {
    TreeEnsemble ensemble;
    try {
      ensemble = TreeEnsemble.parse(file);
    } catch (EvergreenException e) {
      throw EvergreenException.invalid("cannot read the XGBoost model file: " + e.getMessage());
    }
    long features = 0;
    for (TensorSpec input : declared.inputs()) {
      if ("BYTES".equals(input.datatype())) {
        throw EvergreenException.invalid(
            "input '"
                + input.name()
                + "' has datatype BYTES but an XGBoost model reads only numbers; declare FP32,"
                + " FP64, INT64, INT32 or BOOL");
      }
      features += ExternalSignature.valuesPerRow(input);
    }
    if (features != ensemble.featureCount()) {
      throw EvergreenException.invalid(
          "the signature declares "
              + features
              + " features per row (inputs "
              + declared.inputs().stream().map(i -> i.name() + " " + i.shape()).toList()
              + ") but the XGBoost model has num_feature "
              + ensemble.featureCount());
    }
    checkFeatureNames(declared, ensemble.featureNames());
    TensorSpec output = declared.output();
    if (!output.datatype().equals("FP64") && !output.datatype().equals("FP32")) {
      // Scores are margins or probabilities, returned as FP64 whatever the declared datatype.
      throw EvergreenException.invalid(
          "output '"
              + output.name()
              + "' is declared as "
              + output.datatype()
              + ", but an XGBoost model returns scores (margins, probabilities or values); declare"
              + " it FP64 or FP32");
    }
    long declaredWidth = ExternalSignature.valuesPerRow(output);
    if (declaredWidth != ensemble.outputWidth()) {
      throw EvergreenException.invalid(
          "output '"
              + output.name()
              + "' is declared with shape "
              + output.shape()
              + " but the XGBoost model (objective "
              + ensemble.objective()
              + ") returns "
              + ensemble.outputWidth()
              + " value(s) per row");
    }
    return new XgboostFileModel(model, version, declared, checkSet, ensemble);
  }

  /**
   * Checks each one-value input against the model's saved feature name at the same position,
   * because XGBoost itself rejects a matrix whose column names differ from the training names. An
   * input with several values per row covers a slice of features that has no single name, so it is
   * not compared. A model saved without names is not checked.
   */
  private static void checkFeatureNames(ExternalSignature declared, List<String> featureNames) {
    if (featureNames.isEmpty()) {
      return;
    }
    int position = 0;
    for (TensorSpec input : declared.inputs()) {
      int width = (int) ExternalSignature.valuesPerRow(input);
      if (width == 1 && !input.name().equals(featureNames.get(position))) {
        int modelPosition = featureNames.indexOf(input.name());
        String found =
            modelPosition < 0
                ? "the model has no feature of that name"
                : "the model has it as feature " + modelPosition;
        throw EvergreenException.invalid(
            "input '"
                + input.name()
                + "' is feature "
                + position
                + " of the signature, but the XGBoost model names feature "
                + position
                + " '"
                + featureNames.get(position)
                + "' ("
                + found
                + "). The model's feature_names, in order: "
                + featureNames
                + ". Declare the inputs with these names in this order, or as one [-1, "
                + featureNames.size()
                + "] input");
      }
      position += width;
    }
  }

  @Override
  public double[] predict(InputBatch batch) {
    int rows = batch.rows();
    int featureCount = ensemble.featureCount();
    float[] features = new float[Math.multiplyExact(rows, featureCount)];
    int offset = 0;
    for (TensorSpec input : declared.inputs()) {
      double[] values = numeric(batch, input);
      int width = (int) ExternalSignature.valuesPerRow(input);
      for (int row = 0; row < rows; row++) {
        for (int i = 0; i < width; i++) {
          features[row * featureCount + offset + i] = (float) values[row * width + i];
        }
      }
      offset += width;
    }
    return selectColumn(ensemble.predict(features, rows), rows);
  }

  @Override
  public String toString() {
    return "XgboostFileModel[" + model + " version " + version + ", " + ensemble + "]";
  }
}
