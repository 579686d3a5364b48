package dev.evergreen.core.evaluation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MetricsTest {
  private static final double EXACT = 1e-12;

  @Test
  void binaryMetricsOfSmallCase() {
    double[] labels = {1, 0, 1, 0};
    double[] scores = {0.9, 0.1, 0.4, 0.6};

    Map<String, Double> metrics = Metrics.evaluate("binary:logistic", labels, scores, 1);

    // Positives score 0.9 and 0.4, negatives 0.1 and 0.6: 3 of the 4 pairs are ordered right.
    assertThat(metrics.get("auc")).isCloseTo(0.75, within(EXACT));
    // -(ln 0.9 + ln 0.9 + ln 0.4 + ln 0.4) / 4 = (0.1053605 + 0.9162907) / 2.
    assertThat(metrics.get("log_loss")).isCloseTo(0.5108256, within(1e-7));
    // Predictions above 0.5 are 1, 0, 0, 1: rows 0 and 1 are right.
    assertThat(metrics.get("accuracy")).isCloseTo(0.5, within(EXACT));
    // TP 1 (row 0), FP 1 (row 3), FN 1 (row 2): 2 / (2 + 1 + 1).
    assertThat(metrics.get("f1")).isCloseTo(0.5, within(EXACT));
    assertThat(metrics.keySet()).containsExactly("accuracy", "auc", "f1", "log_loss");
  }

  @Test
  void binaryAucAveragesTies() {
    // All scores tied: every pair counts one half.
    assertThat(auc(new double[] {1, 0, 1, 0}, new double[] {0.5, 0.5, 0.5, 0.5})).isEqualTo(0.5);
    // Pairs (0.7, 0.7) 1/2, (0.7, 0.2) 1, (0.2, 0.7) 0, (0.2, 0.2) 1/2: 2 of 4.
    assertThat(auc(new double[] {1, 0, 1, 0}, new double[] {0.7, 0.7, 0.2, 0.2})).isEqualTo(0.5);
    // Positives 0.8 and 0.5 against negative 0.5: 1 + 1/2 of 2 pairs.
    assertThat(auc(new double[] {1, 1, 0}, new double[] {0.8, 0.5, 0.5})).isEqualTo(0.75);
    // Perfect and reversed order.
    assertThat(auc(new double[] {0, 0, 1}, new double[] {0.1, 0.2, 0.3})).isEqualTo(1.0);
    assertThat(auc(new double[] {1, 1, 0}, new double[] {0.1, 0.2, 0.3})).isEqualTo(0.0);
  }

  @Test
  void binaryAucMatchesPairwiseCount() {
    Random random = new Random(17);
    for (int trial = 0; trial < 20; trial++) {
      int n = 200 + random.nextInt(1_500);
      double[] labels = new double[n];
      double[] scores = new double[n];
      for (int i = 0; i < n; i++) {
        labels[i] = random.nextDouble() < 0.3 ? 1 : 0;
        // One decimal creates many ties; the label shifts the scores so AUC is not 0.5.
        scores[i] = Math.round((random.nextDouble() + 0.3 * labels[i]) * 10) / 10.0;
      }

      assertThat(auc(labels, scores)).isCloseTo(pairwiseAuc(labels, scores), within(EXACT));
    }
  }

  @Test
  void singleClassAucIsNaN() {
    Map<String, Double> metrics =
        Metrics.evaluate(
            "binary:logistic", new double[] {1, 1, 1}, new double[] {0.2, 0.6, 0.9}, 1);

    assertThat(metrics.get("auc")).isNaN();
    // The other metrics stay defined: predictions 0, 1, 1.
    assertThat(metrics.get("accuracy")).isCloseTo(2.0 / 3, within(EXACT));
    assertThat(metrics.get("f1")).isCloseTo(0.8, within(EXACT));
  }

  @Test
  void logLossClipsCertainMistakes() {
    Map<String, Double> metrics =
        Metrics.evaluate("binary:logistic", new double[] {1, 0}, new double[] {0.0, 1.0}, 1);

    // Row 0 gets probability 1e-15 for its label: -ln(1e-15) = 34.538776. Row 1 gets 1 minus the
    // double nearest 1 - 1e-15, which is 9.992e-16: -ln of that is 34.539576.
    double expected = (-Math.log(1e-15) - Math.log(1 - (1 - 1e-15))) / 2;
    assertThat(expected).isCloseTo(34.539176, within(1e-6));
    assertThat(metrics.get("log_loss")).isCloseTo(expected, within(1e-9));
    assertThat(metrics.get("log_loss")).isFinite();
  }

  @Test
  void f1WithoutPositivesIsZero() {
    Map<String, Double> metrics =
        Metrics.evaluate("binary:logistic", new double[] {0, 0}, new double[] {0.1, 0.2}, 1);

    assertThat(metrics.get("f1")).isEqualTo(0.0);
    assertThat(metrics.get("accuracy")).isEqualTo(1.0);
  }

  @Test
  void multiClassMetricsOfSmallCase() {
    double[] labels = {0, 1, 2, 1};
    double[] scores = {
      0.7, 0.2, 0.1, //
      0.1, 0.6, 0.3, //
      0.2, 0.5, 0.3, //
      0.3, 0.3, 0.4
    };

    Map<String, Double> metrics = Metrics.evaluate("multi:softprob", labels, scores, 3);

    // Predicted classes 0, 1, 1, 2: rows 0 and 1 are right.
    assertThat(metrics.get("accuracy")).isCloseTo(0.5, within(EXACT));
    // -(ln 0.7 + ln 0.6 + ln 0.3 + ln 0.3) / 4 = (0.3566749 + 0.5108256 + 2 * 1.2039728) / 4.
    assertThat(metrics.get("log_loss")).isCloseTo(0.8188615, within(1e-7));
    // Class F1: class 0 TP 1 -> 1; class 1 TP 1, FP 1, FN 1 -> 0.5; class 2 FP 1, FN 1 -> 0.
    assertThat(metrics.get("f1")).isCloseTo(0.5, within(EXACT));
    // One-vs-rest AUC: class 0 0.7 above 0.1, 0.2, 0.3 -> 1; class 1 positives 0.6 and 0.3
    // against 0.2 and 0.5 -> 3/4; class 2 positive 0.3 against 0.1, 0.3, 0.4 -> 1.5/3.
    assertThat(metrics.get("auc")).isCloseTo((1 + 0.75 + 0.5) / 3, within(EXACT));
  }

  @Test
  void multiClassAucMatchesPairwiseCount() {
    Random random = new Random(23);
    int n = 900;
    int k = 4;
    double[] labels = new double[n];
    double[] scores = new double[n * k];
    for (int i = 0; i < n; i++) {
      labels[i] = random.nextInt(k);
      double sum = 0;
      for (int c = 0; c < k; c++) {
        double value = Math.round(random.nextDouble() * 20) + (c == labels[i] ? 5 : 0);
        scores[i * k + c] = value;
        sum += value;
      }
      for (int c = 0; c < k; c++) {
        scores[i * k + c] /= sum;
      }
    }
    double expected = 0;
    for (int c = 0; c < k; c++) {
      double[] oneVsRest = new double[n];
      double[] column = new double[n];
      for (int i = 0; i < n; i++) {
        oneVsRest[i] = labels[i] == c ? 1 : 0;
        column[i] = scores[i * k + c];
      }
      expected += pairwiseAuc(oneVsRest, column) / k;
    }

    Map<String, Double> metrics = Metrics.evaluate("multi:softprob", labels, scores, k);

    assertThat(metrics.get("auc")).isCloseTo(expected, within(EXACT));
  }

  @Test
  void multiClassAucSkipsAbsentClass() {
    // Class 2 never occurs, so its one-vs-rest AUC is undefined and left out of the average.
    double[] labels = {0, 1};
    double[] scores = {0.6, 0.3, 0.1, 0.2, 0.7, 0.1};

    Map<String, Double> metrics = Metrics.evaluate("multi:softprob", labels, scores, 3);

    assertThat(metrics.get("auc")).isCloseTo(1.0, within(EXACT));
    assertThat(metrics.get("f1")).isCloseTo(1.0, within(EXACT));
  }

  @Test
  void regressionMetricsOfSmallCase() {
    double[] labels = {1, 2, 3, 4};
    double[] scores = {1.5, 2, 2, 5};

    Map<String, Double> metrics = Metrics.evaluate("reg:squarederror", labels, scores, 1);

    // Errors -0.5, 0, 1, -1: squared sum 2.25, absolute sum 2.5. Mean label 2.5 gives a total
    // sum of squares of 2.25 + 0.25 + 0.25 + 2.25 = 5.
    assertThat(metrics.get("rmse")).isCloseTo(Math.sqrt(2.25 / 4), within(EXACT));
    assertThat(metrics.get("mae")).isCloseTo(0.625, within(EXACT));
    assertThat(metrics.get("r2")).isCloseTo(1 - 2.25 / 5, within(EXACT));
    assertThat(metrics.keySet()).containsExactly("mae", "r2", "rmse");
  }

  @Test
  void constantLabelsGiveNaNR2() {
    Map<String, Double> metrics =
        Metrics.evaluate("reg:squarederror", new double[] {3, 3}, new double[] {2, 4}, 1);

    assertThat(metrics.get("r2")).isNaN();
    assertThat(metrics.get("rmse")).isCloseTo(1.0, within(EXACT));
  }

  @Test
  void nanScoreMakesEveryMetricNaN() {
    Map<String, Double> metrics =
        Metrics.evaluate("binary:logistic", new double[] {1, 0}, new double[] {Double.NaN, 0.2}, 1);

    assertThat(metrics).hasSize(4);
    assertThat(metrics.values()).allMatch(value -> value.isNaN());
  }

  @Test
  void emptyInputGivesNaN() {
    Map<String, Double> metrics =
        Metrics.evaluate("reg:squarederror", new double[0], new double[0], 1);

    assertThat(metrics.values()).hasSize(3).allMatch(value -> value.isNaN());
  }

  @Test
  void mismatchedLengthsAreRejected() {
    assertThatThrownBy(
            () -> Metrics.evaluate("multi:softprob", new double[] {0, 1}, new double[] {1, 0}, 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("need 4 scores, got 2");
  }

  private static double auc(double[] labels, double[] scores) {
    return Metrics.evaluate("binary:logistic", labels, scores, 1).get("auc");
  }

  /** Counts every positive-negative pair: 1 when ordered right, 1/2 when tied. */
  private static double pairwiseAuc(double[] labels, double[] scores) {
    double wins = 0;
    long pairs = 0;
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] != 1) {
        continue;
      }
      for (int j = 0; j < labels.length; j++) {
        if (labels[j] == 1) {
          continue;
        }
        pairs++;
        if (scores[i] > scores[j]) {
          wins += 1;
        } else if (scores[i] == scores[j]) {
          wins += 0.5;
        }
      }
    }
    return wins / pairs;
  }
}
