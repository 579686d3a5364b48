package dev.evergreen.core.evaluation;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * Holdout metrics of a model's scores.
 *
 * <p>Conventions, chosen to match scikit-learn where it defines the case:
 *
 * <ul>
 *   <li>AUC is exact: the probability that a random positive row scores above a random negative
 *       one, ties counting one half, which equals the rank-sum (Mann-Whitney) form with tied ranks
 *       averaged. It is undefined, and NaN, when the labels contain only one class.
 *   <li>Log loss clips each probability to [1e-15, 1 - 1e-15] and uses the natural logarithm.
 *   <li>Binary accuracy and F1 predict the positive class when the probability is above 0.5, as
 *       XGBoost's {@code error} metric does. F1 is 0 when there are no positive labels and no
 *       positive predictions.
 *   <li>Multi-class predictions are the class with the largest probability (the first on ties).
 *       Macro F1 averages over the classes that occur in the labels or the predictions. Macro AUC
 *       averages one-vs-rest AUC over the classes that have both positive and negative rows, and is
 *       NaN when no class has.
 *   <li>R² is NaN when all labels are equal.
 *   <li>Every metric is NaN when there are no rows or a score is NaN.
 * </ul>
 */
public final class Metrics {
  private static final double EPSILON = 1e-15;

  private Metrics() {}

  /**
   * Computes the metrics of an objective.
   *
   * @param objective XGBoost objective: {@code binary:*} gives auc, log_loss, accuracy and f1;
   *     {@code multi:*} gives the same with macro averages; anything else is regression and gives
   *     rmse, mae and r2
   * @param labels 0 or 1 for binary, the class index for multi-class, the target for regression
   * @param scores row-major scores, {@code labels.length * width} values: the positive-class
   *     probability, the class probabilities, or the predicted value
   * @param width scores per row, the class count for multi-class, else 1
   * @return metric name to value, sorted by name
   * @throws IllegalArgumentException when the array lengths do not match
   */
  public static Map<String, Double> evaluate(
      String objective, double[] labels, double[] scores, int width) {
    if (width < 1 || scores.length != (long) labels.length * width) {
      throw new IllegalArgumentException(
          labels.length
              + " labels with "
              + width
              + " scores per row need "
              + (long) labels.length * width
              + " scores, got "
              + scores.length);
    }
    boolean binary = objective.startsWith("binary:");
    boolean multi = objective.startsWith("multi:");
    if (binary && width != 1) {
      throw new IllegalArgumentException(objective + " needs 1 score per row, got " + width);
    }
    Map<String, Double> metrics = new TreeMap<>();
    boolean undefined = labels.length == 0 || containsNaN(scores);
    if (binary) {
      binary(labels, scores, metrics);
    } else if (multi) {
      multiClass(labels, scores, width, metrics);
    } else {
      regression(labels, scores, metrics);
    }
    if (undefined) {
      metrics.replaceAll((name, value) -> Double.NaN);
    }
    return Collections.unmodifiableMap(metrics);
  }

  private static boolean containsNaN(double[] values) {
    for (double value : values) {
      if (Double.isNaN(value)) {
        return true;
      }
    }
    return false;
  }

  private static void binary(double[] labels, double[] scores, Map<String, Double> metrics) {
    int n = labels.length;
    double logLoss = 0;
    long correct = 0;
    long truePositives = 0;
    long falsePositives = 0;
    long falseNegatives = 0;
    for (int i = 0; i < n; i++) {
      boolean positive = labels[i] > 0.5;
      double p = clip(scores[i]);
      logLoss -= positive ? Math.log(p) : Math.log(1 - p);
      boolean predicted = scores[i] > 0.5;
      correct += predicted == positive ? 1 : 0;
      truePositives += predicted && positive ? 1 : 0;
      falsePositives += predicted && !positive ? 1 : 0;
      falseNegatives += !predicted && positive ? 1 : 0;
    }
    metrics.put("auc", auc(labels, scores, 1, 0, 1.0));
    metrics.put("log_loss", logLoss / n);
    metrics.put("accuracy", (double) correct / n);
    metrics.put("f1", f1(truePositives, falsePositives, falseNegatives));
  }

  private static void multiClass(
      double[] labels, double[] scores, int width, Map<String, Double> metrics) {
    int n = labels.length;
    long[] truePositives = new long[width];
    long[] falsePositives = new long[width];
    long[] falseNegatives = new long[width];
    double logLoss = 0;
    long correct = 0;
    for (int i = 0; i < n; i++) {
      int label = (int) labels[i];
      if (label < 0 || label >= width || label != labels[i]) {
        throw new IllegalArgumentException(
            "row " + i + ": label " + labels[i] + " is not a class index from 0 to " + (width - 1));
      }
      int predicted = 0;
      for (int k = 1; k < width; k++) {
        if (scores[i * width + k] > scores[i * width + predicted]) {
          predicted = k;
        }
      }
      logLoss -= Math.log(clip(scores[i * width + label]));
      if (predicted == label) {
        correct++;
        truePositives[label]++;
      } else {
        falsePositives[predicted]++;
        falseNegatives[label]++;
      }
    }
    double f1Sum = 0;
    int f1Classes = 0;
    double aucSum = 0;
    int aucClasses = 0;
    for (int k = 0; k < width; k++) {
      if (truePositives[k] + falsePositives[k] + falseNegatives[k] > 0) {
        f1Sum += f1(truePositives[k], falsePositives[k], falseNegatives[k]);
        f1Classes++;
      }
      double auc = auc(labels, scores, width, k, k);
      if (!Double.isNaN(auc)) {
        aucSum += auc;
        aucClasses++;
      }
    }
    metrics.put("accuracy", (double) correct / n);
    metrics.put("log_loss", logLoss / n);
    metrics.put("f1", f1Classes == 0 ? Double.NaN : f1Sum / f1Classes);
    metrics.put("auc", aucClasses == 0 ? Double.NaN : aucSum / aucClasses);
  }

  private static void regression(double[] labels, double[] scores, Map<String, Double> metrics) {
    int n = labels.length;
    double mean = 0;
    for (double label : labels) {
      mean += label;
    }
    mean /= n;
    double squaredError = 0;
    double absoluteError = 0;
    double totalSquares = 0;
    for (int i = 0; i < n; i++) {
      double error = labels[i] - scores[i];
      squaredError += error * error;
      absoluteError += Math.abs(error);
      totalSquares += (labels[i] - mean) * (labels[i] - mean);
    }
    metrics.put("rmse", Math.sqrt(squaredError / n));
    metrics.put("mae", absoluteError / n);
    metrics.put("r2", totalSquares == 0 ? Double.NaN : 1 - squaredError / totalSquares);
  }

  /**
   * Returns the exact AUC of column {@code column} of row-major {@code scores} for the rows whose
   * label equals {@code positiveLabel} (binary: above 0.5) against all others, or NaN when either
   * side is empty.
   */
  static double auc(double[] labels, double[] scores, int width, int column, double positiveLabel) {
    int n = labels.length;
    int positives = 0;
    for (double label : labels) {
      positives += isPositive(label, width, positiveLabel) ? 1 : 0;
    }
    int negatives = n - positives;
    if (positives == 0 || negatives == 0) {
      return Double.NaN;
    }

    double[] positiveScores = new double[positives];
    double[] negativeScores = new double[negatives];
    int p = 0;
    int q = 0;
    for (int i = 0; i < n; i++) {
      double score = scores[i * width + column];
      if (isPositive(labels[i], width, positiveLabel)) {
        positiveScores[p++] = score;
      } else {
        negativeScores[q++] = score;
      }
    }
    Arrays.sort(positiveScores);
    Arrays.sort(negativeScores);

    // For each positive in ascending order, count the negatives below it and tied with it. Both
    // boundaries only move forward, so the pass is linear after sorting.
    double wins = 0;
    int belowEnd = 0;
    int tiedEnd = 0;
    for (double score : positiveScores) {
      while (belowEnd < negatives && negativeScores[belowEnd] < score) {
        belowEnd++;
      }
      tiedEnd = Math.max(tiedEnd, belowEnd);
      while (tiedEnd < negatives && negativeScores[tiedEnd] == score) {
        tiedEnd++;
      }
      wins += belowEnd + 0.5 * (tiedEnd - belowEnd);
    }
    return wins / ((double) positives * negatives);
  }

  private static boolean isPositive(double label, int width, double positiveLabel) {
    return width == 1 ? label > 0.5 : label == positiveLabel;
  }

  private static double f1(long truePositives, long falsePositives, long falseNegatives) {
    long denominator = 2 * truePositives + falsePositives + falseNegatives;
    return denominator == 0 ? 0.0 : 2.0 * truePositives / denominator;
  }

  private static double clip(double probability) {
    return Math.min(Math.max(probability, EPSILON), 1 - EPSILON);
  }
}
