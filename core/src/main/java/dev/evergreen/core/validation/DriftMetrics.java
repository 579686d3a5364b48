package dev.evergreen.core.validation;

import dev.evergreen.core.profile.KllSketch;
import java.util.Arrays;
import java.util.List;

/**
 * Distribution distances and two-sample tests between a reference and a current sample. Numeric
 * metrics take the non-null values of each sample sorted ascending; binned metrics take per-bin
 * {@code {reference count, current count}} pairs, the bins of {@link PopulationStability}. The
 * overloads on {@link KllSketch.Cdf} compute the same statistics between two quantile sketches,
 * treating each sketch as the weighted sample of its retained items.
 */
final class DriftMetrics {
  /** Smallest reference standard deviation used to normalise the Wasserstein distance. */
  static final double MIN_SCALE = 0.001;

  private static final int MAX_TERMS = 1000;
  private static final double EPSILON = 1e-15;

  private DriftMetrics() {}

  /**
   * Returns the two-sample Kolmogorov-Smirnov statistic: the largest absolute difference between
   * the empirical CDFs, evaluated after each distinct value of either sample.
   */
  static double ks(double[] reference, double[] current) {
    int i = 0;
    int j = 0;
    double largest = 0;
    while (i < reference.length && j < current.length) {
      double x = Math.min(reference[i], current[j]);
      while (i < reference.length && reference[i] <= x) {
        i++;
      }
      while (j < current.length && current[j] <= x) {
        j++;
      }
      double gap = Math.abs((double) i / reference.length - (double) j / current.length);
      largest = Math.max(largest, gap);
    }
    return largest;
  }

  /**
   * Returns the Kolmogorov-Smirnov statistic between two sketched distributions, evaluated at every
   * retained item of either. It differs from the statistic of the raw samples by at most the sum of
   * the two sketches' rank errors.
   */
  static double ks(KllSketch.Cdf reference, KllSketch.Cdf current) {
    if (reference.total() == 0 || current.total() == 0) {
      return 0.0;
    }
    double largest = 0;
    for (double[] points : List.of(reference.values(), current.values())) {
      for (double x : points) {
        double gap =
            Math.abs(
                (double) reference.rankAtMost(x) / reference.total()
                    - (double) current.rankAtMost(x) / current.total());
        largest = Math.max(largest, gap);
      }
    }
    return largest;
  }

  /**
   * Returns the Wasserstein-1 distance between two sketched distributions: the area between their
   * step CDFs, in the unit of the values.
   */
  static double wasserstein(KllSketch.Cdf reference, KllSketch.Cdf current) {
    if (reference.total() == 0 || current.total() == 0) {
      return 0.0;
    }
    double[] a = reference.values();
    double[] b = current.values();
    double[] points = new double[a.length + b.length];
    System.arraycopy(a, 0, points, 0, a.length);
    System.arraycopy(b, 0, points, a.length, b.length);
    Arrays.sort(points);
    double area = 0;
    for (int i = 0; i + 1 < points.length; i++) {
      double width = points[i + 1] - points[i];
      if (width > 0) {
        double gap =
            Math.abs(
                (double) reference.rankAtMost(points[i]) / reference.total()
                    - (double) current.rankAtMost(points[i]) / current.total());
        area += gap * width;
      }
    }
    return area;
  }

  /**
   * Returns the asymptotic p-value of the two-sample Kolmogorov-Smirnov test, {@code Q(sqrt(n m /
   * (n + m)) d)} where Q is the survival function of the Kolmogorov distribution. It is close to
   * the exact p-value once both samples have more than a few dozen values.
   */
  static double ksPValue(double statistic, int n, int m) {
    if (n == 0 || m == 0) {
      return 1.0;
    }
    double effective = Math.sqrt((double) n * m / (n + m));
    return kolmogorovSurvival(effective * statistic);
  }

  /** Returns {@code P(K > lambda)} for the Kolmogorov distribution K. */
  static double kolmogorovSurvival(double lambda) {
    if (lambda <= 0) {
      return 1.0;
    }
    if (lambda < 1.18) {
      // The alternating series converges slowly for small lambda; this form of the CDF does not.
      double sum = 0;
      double factor = -Math.PI * Math.PI / (8 * lambda * lambda);
      for (int k = 1; k <= MAX_TERMS; k += 2) {
        double term = Math.exp(factor * k * k);
        sum += term;
        if (term < EPSILON * sum) {
          break;
        }
      }
      double cdf = Math.sqrt(2 * Math.PI) / lambda * sum;
      return Math.min(1.0, Math.max(0.0, 1.0 - cdf));
    }
    double sum = 0;
    for (int k = 1; k <= MAX_TERMS; k++) {
      double term = Math.exp(-2.0 * k * k * lambda * lambda);
      sum += (k % 2 == 1 ? 2 : -2) * term;
      if (term < EPSILON) {
        break;
      }
    }
    return Math.min(1.0, Math.max(0.0, sum));
  }

  /**
   * Returns the Wasserstein-1 distance, the area between the two empirical CDFs, in the unit of the
   * values.
   */
  static double wasserstein(double[] reference, double[] current) {
    if (reference.length == 0 || current.length == 0) {
      return 0.0;
    }
    int i = 0;
    int j = 0;
    double area = 0;
    double previous = Math.min(reference[0], current[0]);
    while (i < reference.length || j < current.length) {
      double x;
      if (j >= current.length || (i < reference.length && reference[i] <= current[j])) {
        x = reference[i];
      } else {
        x = current[j];
      }
      double gap = Math.abs((double) i / reference.length - (double) j / current.length);
      area += gap * (x - previous);
      previous = x;
      while (i < reference.length && reference[i] <= x) {
        i++;
      }
      while (j < current.length && current[j] <= x) {
        j++;
      }
    }
    return area;
  }

  /**
   * Returns the Wasserstein-1 distance divided by the population standard deviation of the
   * reference, floored at {@value #MIN_SCALE} so that a constant reference gives a finite value.
   */
  static double normalisedWasserstein(double[] reference, double[] current) {
    return wasserstein(reference, current) / Math.max(standardDeviation(reference), MIN_SCALE);
  }

  /** Returns the population standard deviation (divisor n), 0 for an empty sample. */
  static double standardDeviation(double[] values) {
    if (values.length == 0) {
      return 0.0;
    }
    double mean = 0;
    for (double value : values) {
      mean += value;
    }
    mean /= values.length;
    double squares = 0;
    for (double value : values) {
      squares += (value - mean) * (value - mean);
    }
    return Math.sqrt(squares / values.length);
  }

  /**
   * Returns the Jensen-Shannon distance, the square root of the Jensen-Shannon divergence with
   * natural logarithms; it lies between 0 and {@code sqrt(ln 2)}, about 0.833.
   */
  static double jensenShannon(List<long[]> bins) {
    double[] totals = totals(bins);
    if (totals[0] == 0 || totals[1] == 0) {
      return 0.0;
    }
    double divergence = 0;
    for (long[] bin : bins) {
      double p = bin[0] / totals[0];
      double q = bin[1] / totals[1];
      double m = (p + q) / 2;
      if (p > 0) {
        divergence += 0.5 * p * Math.log(p / m);
      }
      if (q > 0) {
        divergence += 0.5 * q * Math.log(q / m);
      }
    }
    return Math.sqrt(Math.max(0.0, divergence));
  }

  /** Returns the largest absolute difference between a bin's reference and current share. */
  static double lInfinity(List<long[]> bins) {
    double[] totals = totals(bins);
    if (totals[0] == 0 || totals[1] == 0) {
      return 0.0;
    }
    double largest = 0;
    for (long[] bin : bins) {
      largest = Math.max(largest, Math.abs(bin[0] / totals[0] - bin[1] / totals[1]));
    }
    return largest;
  }

  /**
   * Returns the p-value of Pearson's chi-squared test of homogeneity on the 2 x k table of bin
   * counts, with k - 1 degrees of freedom; bins empty in both samples are left out, and fewer than
   * two bins give 1.
   */
  static double chiSquaredPValue(List<long[]> bins) {
    double[] totals = totals(bins);
    double all = totals[0] + totals[1];
    if (totals[0] == 0 || totals[1] == 0) {
      return 1.0;
    }
    double statistic = 0;
    int used = 0;
    for (long[] bin : bins) {
      double column = bin[0] + bin[1];
      if (column == 0) {
        continue;
      }
      used++;
      for (int sample = 0; sample < 2; sample++) {
        double expected = column * totals[sample] / all;
        double difference = bin[sample] - expected;
        statistic += difference * difference / expected;
      }
    }
    if (used < 2) {
      return 1.0;
    }
    return chiSquaredSurvival(statistic, used - 1);
  }

  /** Returns {@code P(X > x)} for a chi-squared variable X with {@code degrees} of freedom. */
  static double chiSquaredSurvival(double x, int degrees) {
    if (x <= 0) {
      return 1.0;
    }
    return regularizedGammaQ(degrees / 2.0, x / 2.0);
  }

  /**
   * Returns the regularised upper incomplete gamma function {@code Q(a, x) = Γ(a, x) / Γ(a)}, by
   * its power series below {@code x = a + 1} and by its continued fraction (modified Lentz method)
   * above.
   */
  static double regularizedGammaQ(double a, double x) {
    if (x <= 0) {
      return 1.0;
    }
    double logPrefix = a * Math.log(x) - x - logGamma(a);
    if (x < a + 1) {
      double term = 1.0 / a;
      double sum = term;
      for (int n = 1; n <= MAX_TERMS; n++) {
        term *= x / (a + n);
        sum += term;
        if (Math.abs(term) < Math.abs(sum) * EPSILON) {
          break;
        }
      }
      return Math.max(0.0, 1.0 - sum * Math.exp(logPrefix));
    }
    double tiny = 1e-300;
    double b = x + 1 - a;
    double c = 1 / tiny;
    double d = 1 / b;
    double fraction = d;
    for (int n = 1; n <= MAX_TERMS; n++) {
      double an = -n * (n - a);
      b += 2;
      d = an * d + b;
      d = Math.abs(d) < tiny ? tiny : d;
      c = b + an / c;
      c = Math.abs(c) < tiny ? tiny : c;
      d = 1 / d;
      double delta = d * c;
      fraction *= delta;
      if (Math.abs(delta - 1) < EPSILON) {
        break;
      }
    }
    return Math.min(1.0, Math.exp(logPrefix) * fraction);
  }

  /** Returns {@code ln Γ(x)} for x > 0 by the Lanczos approximation (g = 7, nine coefficients). */
  static double logGamma(double x) {
    if (x < 0.5) {
      // Reflection formula: Γ(x) Γ(1 - x) = π / sin(π x).
      return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
    }
    double[] coefficients = {
      0.99999999999980993,
      676.5203681218851,
      -1259.1392167224028,
      771.32342877765313,
      -176.61502916214059,
      12.507343278686905,
      -0.13857109526572012,
      9.9843695780195716e-6,
      1.5056327351493116e-7
    };
    double y = x - 1;
    double sum = coefficients[0];
    for (int i = 1; i < coefficients.length; i++) {
      sum += coefficients[i] / (y + i);
    }
    double t = y + 7.5;
    return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(sum);
  }

  private static double[] totals(List<long[]> bins) {
    double[] totals = new double[2];
    for (long[] bin : bins) {
      totals[0] += bin[0];
      totals[1] += bin[1];
    }
    return totals;
  }
}
