package dev.evergreen.bench;

import java.util.Arrays;
import java.util.Locale;

/**
 * Percentiles of a set of samples, computed exactly from a sorted copy. A percentile is the
 * nearest-rank value: the smallest sample such that at least {@code p} percent of the samples are
 * at most that value. Exact ranks cost one sort, which is fine for the few million samples a
 * bounded benchmark records.
 */
public final class Percentiles {
  private final long[] sorted;

  private Percentiles(long[] sorted) {
    this.sorted = sorted;
  }

  /**
   * Sorts a copy of the first {@code count} samples.
   *
   * @throws IllegalArgumentException when {@code count} is negative or exceeds the array length
   */
  public static Percentiles of(long[] samples, int count) {
    if (count < 0 || count > samples.length) {
      throw new IllegalArgumentException(
          "count " + count + " is outside 0.." + samples.length + ", the length of the samples");
    }
    long[] copy = Arrays.copyOf(samples, count);
    Arrays.sort(copy);
    return new Percentiles(copy);
  }

  /** Sorts a copy of all samples. */
  public static Percentiles of(long[] samples) {
    return of(samples, samples.length);
  }

  /** Sorts a copy of durations given as doubles, after scaling each by {@code scale}. */
  public static Percentiles ofScaled(double[] samples, double scale) {
    long[] values = new long[samples.length];
    for (int i = 0; i < samples.length; i++) {
      values[i] = Math.round(samples[i] * scale);
    }
    return of(values);
  }

  public int count() {
    return sorted.length;
  }

  /**
   * Returns the nearest-rank percentile: the sample at 1-based rank {@code ceil(p / 100 * n)}, rank
   * 1 for {@code p = 0}.
   *
   * @param percent from 0 to 100
   * @throws IllegalStateException when there are no samples
   * @throws IllegalArgumentException when {@code percent} is outside 0 to 100 or NaN
   */
  public long percentile(double percent) {
    if (!(percent >= 0 && percent <= 100)) {
      throw new IllegalArgumentException("percent must be from 0 to 100, got " + percent);
    }
    requireSamples();
    long rank = (long) Math.ceil(percent / 100.0 * sorted.length);
    int index = (int) Math.max(0, Math.min(sorted.length - 1, rank - 1));
    return sorted[index];
  }

  public long min() {
    requireSamples();
    return sorted[0];
  }

  public long max() {
    requireSamples();
    return sorted[sorted.length - 1];
  }

  /** Returns the arithmetic mean, or NaN when there are no samples. */
  public double mean() {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    double sum = 0;
    for (long value : sorted) {
      sum += value;
    }
    return sum / sorted.length;
  }

  /**
   * Formats count, p50, p90, p99, p99.9 and max, each sample divided by {@code divisor}, such as
   * {@code n=1000 p50=0.412 ... max=3.100 ms}.
   */
  public String summary(double divisor, String unit) {
    if (sorted.length == 0) {
      return "n=0";
    }
    return String.format(
        Locale.ROOT,
        "n=%d p50=%.3f p90=%.3f p99=%.3f p99.9=%.3f max=%.3f %s",
        sorted.length,
        percentile(50) / divisor,
        percentile(90) / divisor,
        percentile(99) / divisor,
        percentile(99.9) / divisor,
        max() / divisor,
        unit);
  }

  private void requireSamples() {
    if (sorted.length == 0) {
      throw new IllegalStateException("no samples were recorded, so there is no percentile");
    }
  }
}
