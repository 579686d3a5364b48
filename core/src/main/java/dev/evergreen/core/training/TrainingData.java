package dev.evergreen.core.training;

import dev.evergreen.core.serving.InputBatch;
import java.util.List;

/**
 * A snapshot prepared for training: encoded training rows and the raw holdout rows.
 *
 * @param objective XGBoost objective the labels were prepared for
 * @param trainFeatures encoded training rows, row-major, {@code trainRows *
 *     encoding.featureCount()} values with {@code NaN} for missing
 * @param trainLabels label of each training row: 0 or 1, a class index, or the target value
 * @param trainRows number of training rows
 * @param holdout rows held out for evaluation
 * @param encoding encoding learned from the training rows
 * @param classNames class names in class-index order: {@code 0, 1} for binary, the sorted label
 *     values for multi-class, empty for regression
 * @param numClass number of classes: 2 for binary, the class count for multi-class, 0 for
 *     regression
 * @param droppedLabels rows left out because their label was null (or NaN)
 */
public record TrainingData(
    String objective,
    float[] trainFeatures,
    float[] trainLabels,
    int trainRows,
    Holdout holdout,
    FeatureEncoding encoding,
    List<String> classNames,
    int numClass,
    long droppedLabels) {
  public TrainingData {
    classNames = List.copyOf(classNames);
  }

  /**
   * Holdout rows as raw source columns, so that any model version can encode and score the same
   * rows with its own encoding.
   *
   * @param inputs source columns: numbers with {@code NaN} for null, categories as text, timestamps
   *     as ISO 8601 text in UTC without a zone
   * @param labels label of each row, as in {@link TrainingData#trainLabels()}
   * @param rowNumbers row of each holdout row in the snapshot file, counted from 0
   */
  public record Holdout(InputBatch inputs, double[] labels, long[] rowNumbers) {
    public int rows() {
      return inputs.rows();
    }
  }

  /** Returns the values each model row outputs: the class count for multi-class, else 1. */
  public int outputWidth() {
    return objective.startsWith("multi:") ? numClass : 1;
  }
}
