package dev.evergreen.core.serving;

/**
 * A model version loaded into memory and ready to score. Implementations are immutable and safe for
 * concurrent use.
 */
public interface ServableModel {
  String model();

  int version();

  Signature signature();

  /**
   * Returns the framework that scores this model, the {@code platform} of Open Inference Protocol
   * model metadata: {@code xgboost} or {@code onnxruntime_onnx}.
   */
  default String platform() {
    return "xgboost";
  }

  /**
   * Returns whether the model's format defines the score of a row with a missing value (NaN, or a
   * null text value). XGBoost defines it, because each tree sends the row down its default branch.
   * An ONNX graph without an imputer returns NaN for such a row, so ONNX models return false, and
   * the scoring path reports a non-finite score of a row with a missing value as invalid input.
   */
  default boolean scoresMissingValues() {
    return true;
  }

  /** Values per row: 1 for binary classification and regression, the class count otherwise. */
  int outputWidth();

  /**
   * Scores a batch and returns {@code rows * outputWidth()} values, row-major: the probability of
   * the positive class, the class probabilities, or the predicted value.
   *
   * @throws dev.evergreen.api.EvergreenException of kind INVALID_INPUT naming the input when a
   *     required input is missing or a value cannot be read
   */
  double[] predict(InputBatch batch);

  /** Returns the holdout rows and expected scores recorded at training time. */
  CheckSet checkSet();
}
