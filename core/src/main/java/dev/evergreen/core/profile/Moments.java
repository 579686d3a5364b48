package dev.evergreen.core.profile;

/**
 * Count, mean, sum of squared deviations (M2), minimum and maximum of a numeric column's non-null,
 * non-NaN values. Values are added with Welford's update and sketches merged with Chan, Golub and
 * LeVeque's pairwise formula, so a merge equals one pass over both inputs up to rounding.
 */
public final class Moments {
  private long count;
  private double mean;
  private double m2;
  private double min = Double.POSITIVE_INFINITY;
  private double max = Double.NEGATIVE_INFINITY;

  public Moments() {}

  Moments(long count, double mean, double m2, double min, double max) {
    this.count = count;
    this.mean = mean;
    this.m2 = m2;
    this.min = min;
    this.max = max;
  }

  public void add(double value) {
    count++;
    double delta = value - mean;
    mean += delta / count;
    m2 += delta * (value - mean);
    min = Math.min(min, value);
    max = Math.max(max, value);
  }

  public void merge(Moments other) {
    if (other.count == 0) {
      return;
    }
    if (count == 0) {
      count = other.count;
      mean = other.mean;
      m2 = other.m2;
      min = other.min;
      max = other.max;
      return;
    }
    long total = count + other.count;
    double delta = other.mean - mean;
    mean += delta * other.count / total;
    m2 += other.m2 + delta * delta * ((double) count * other.count / total);
    count = total;
    min = Math.min(min, other.min);
    max = Math.max(max, other.max);
  }

  public long count() {
    return count;
  }

  /** Returns the mean, NaN when no value was added. */
  public double mean() {
    return count == 0 ? Double.NaN : mean;
  }

  double m2() {
    return m2;
  }

  /** Returns the population variance (divisor n), NaN when no value was added. */
  public double populationVariance() {
    return count == 0 ? Double.NaN : m2 / count;
  }

  /** Returns the sample variance (divisor n - 1), NaN for fewer than two values. */
  public double sampleVariance() {
    return count < 2 ? Double.NaN : m2 / (count - 1);
  }

  /** Returns the smallest value, positive infinity when no value was added. */
  public double min() {
    return min;
  }

  /** Returns the largest value, negative infinity when no value was added. */
  public double max() {
    return max;
  }
}
