package dev.evergreen.core.serving.external;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.TensorSpec;
import dev.evergreen.core.serving.xgboost.TreeEnsemble;

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
    TensorSpec output = declared.output();
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
