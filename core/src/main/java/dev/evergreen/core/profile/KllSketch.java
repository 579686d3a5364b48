package dev.evergreen.core.profile;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * KLL quantile sketch of doubles (Karnin, Lang and Liberty, "Optimal quantile approximation in
 * streams", 2016), in the lazy form of Ivkin et al. (2019): a stack of compactors, where an item on
 * level {@code h} stands for {@code 2^h} input values. When the sketch is full, the lowest
 * compactor over its capacity is sorted and every second item, starting at a random offset, moves
 * one level up. Level {@code h} of {@code H} contains {@code ceil(k (2/3)^(H - h - 1)) + 1} items,
 * so the sketch retains at most about {@code 3k + H} items whatever the input size.
 *
 * <p>With {@link #DEFAULT_K} = 200 the rank error of a query is about 1% of the count at the 99th
 * percentile of error; docs/profiles.md gives the values measured on the flight data. Compaction
 * keeps pairs only, so the total weight equals the number of values added exactly.
 *
 * <p>The random offsets come from a fixed-seed generator, so the same input in the same order gives
 * the same sketch.
 */
public final class KllSketch {
  public static final int DEFAULT_K = 200;

  private static final double CAPACITY_RATIO = 2.0 / 3.0;
  private static final long SEED = 0x5DEECE66DL;

  private final int k;
  private final List<double[]> levels = new ArrayList<>();
  private final List<Integer> sizes = new ArrayList<>();
  private long count;
  private int retained;
  private int maxRetained;
  private long coinState = SEED;

  public KllSketch() {
    this(DEFAULT_K);
  }

  public KllSketch(int k) {
    if (k < 8 || k > 65_535) {
      throw new IllegalArgumentException("KLL k must be between 8 and 65535, got " + k);
    }
    this.k = k;
    grow();
  }

  public int k() {
    return k;
  }

  /** Returns the number of values added, the sum of the weights of the retained items. */
  public long count() {
    return count;
  }

  /** Returns the number of retained items. */
  public int retained() {
    return retained;
  }

  /** Adds a value; NaN is rejected because it has no rank. */
  public void add(double value) {
    if (Double.isNaN(value)) {
      throw new IllegalArgumentException("KLL sketch cannot rank NaN");
    }
    append(0, value);
    count++;
    retained++;
    if (retained >= maxRetained) {
      compress();
    }
  }

  /** Folds {@code other} into this sketch; both must have the same k. */
  public void merge(KllSketch other) {
    if (other.k != k) {
      throw new IllegalArgumentException(
          "cannot merge KLL sketches with k " + k + " and " + other.k);
    }
    while (levels.size() < other.levels.size()) {
      grow();
    }
    for (int h = 0; h < other.levels.size(); h++) {
      double[] items = other.levels.get(h);
      for (int i = 0; i < other.sizes.get(h); i++) {
        append(h, items[i]);
      }
    }
    count += other.count;
    retained += other.retained;
    while (retained >= maxRetained) {
      compress();
    }
  }

  /** Returns the retained items and their weights, sorted by value, for rank queries. */
  public Cdf cdf() {
    double[] values = new double[retained];
    long[] weights = new long[retained];
    int n = 0;
    for (int h = 0; h < levels.size(); h++) {
      double[] items = levels.get(h);
      for (int i = 0; i < sizes.get(h); i++) {
        values[n] = items[i];
        weights[n] = 1L << h;
        n++;
      }
    }
    Integer[] boxed = new Integer[n];
    for (int i = 0; i < n; i++) {
      boxed[i] = i;
    }
    Arrays.sort(boxed, (a, b) -> Double.compare(values[a], values[b]));
    double[] sortedValues = new double[n];
    long[] cumulative = new long[n];
    long total = 0;
    for (int i = 0; i < n; i++) {
      sortedValues[i] = values[boxed[i]];
      total += weights[boxed[i]];
      cumulative[i] = total;
    }
    return new Cdf(sortedValues, cumulative);
  }

  int levelCount() {
    return levels.size();
  }

  /** Returns a copy of the items on level {@code h}. */
  double[] level(int h) {
    return Arrays.copyOf(levels.get(h), sizes.get(h));
  }

  /** Rebuilds a sketch from its levels, as written by {@link ProfileCodec}. */
  static KllSketch of(int k, long count, List<double[]> items) {
    KllSketch sketch = new KllSketch(k);
    while (sketch.levels.size() < items.size()) {
      sketch.grow();
    }
    long weight = 0;
    for (int h = 0; h < items.size(); h++) {
      for (double value : items.get(h)) {
        sketch.append(h, value);
        weight += 1L << h;
      }
      sketch.retained += items.get(h).length;
    }
    if (weight != count) {
      throw new IllegalArgumentException(
          "corrupt KLL sketch: items weigh " + weight + " but the count is " + count);
    }
    sketch.count = count;
    return sketch;
  }

  private void grow() {
    levels.add(new double[8]);
    sizes.add(0);
    int total = 0;
    for (int h = 0; h < levels.size(); h++) {
      total += capacity(h);
    }
    maxRetained = total;
  }

  private int capacity(int h) {
    int depth = levels.size() - h - 1;
    return (int) Math.ceil(Math.pow(CAPACITY_RATIO, depth) * k) + 1;
  }

  private void append(int h, double value) {
    double[] items = levels.get(h);
    int size = sizes.get(h);
    if (size == items.length) {
      items = Arrays.copyOf(items, size * 2);
      levels.set(h, items);
    }
    items[size] = value;
    sizes.set(h, size + 1);
  }

  /** Compacts the lowest levels over capacity until the sketch has room again. */
  private void compress() {
    for (int h = 0; h < levels.size(); h++) {
      if (sizes.get(h) < capacity(h)) {
        continue;
      }
      if (h + 1 >= levels.size()) {
        grow();
      }
      double[] items = levels.get(h);
      int size = sizes.get(h);
      Arrays.sort(items, 0, size);
      // An odd item out stays on this level; pairs collapse into one item of twice the weight.
      int pairs = size / 2;
      int start = size - 2 * pairs;
      int offset = coin();
      for (int i = 0; i < pairs; i++) {
        append(h + 1, items[start + 2 * i + offset]);
      }
      sizes.set(h, start);
      retained -= pairs;
      if (retained < maxRetained) {
        return;
      }
    }
  }

  private int coin() {
    coinState = HyperLogLog.hashLong(coinState);
    return (int) (coinState >>> 63);
  }

  /**
   * Empirical distribution of a sketch: retained values in ascending order with cumulative weights.
   * Ranks count input values, so {@code rankAtMost(x) / total()} estimates the CDF.
   */
  public static final class Cdf {
    private final double[] values;
    private final long[] cumulative;

    Cdf(double[] values, long[] cumulative) {
      this.values = values;
      this.cumulative = cumulative;
    }

    public long total() {
      return cumulative.length == 0 ? 0 : cumulative[cumulative.length - 1];
    }

    /** Returns a copy of the retained values, ascending; equal values may repeat. */
    public double[] values() {
      return values.clone();
    }

    /** Returns the estimated number of values less than or equal to {@code x}. */
    public long rankAtMost(double x) {
      int index = upperBound(x);
      return index == 0 ? 0 : cumulative[index - 1];
    }

    /** Returns the estimated number of values strictly less than {@code x}. */
    public long rankBelow(double x) {
      int index = lowerBound(x);
      return index == 0 ? 0 : cumulative[index - 1];
    }

    /**
     * Returns the smallest retained value whose cumulative weight reaches {@code q * total}, the
     * sketch's counterpart of {@code quantile_disc}; NaN for an empty sketch.
     */
    public double quantile(double q) {
      if (values.length == 0) {
        return Double.NaN;
      }
      double target = q * total();
      for (int i = 0; i < values.length; i++) {
        if (cumulative[i] >= target) {
          return values[i];
        }
      }
      return values[values.length - 1];
    }

    private int upperBound(double x) {
      int low = 0;
      int high = values.length;
      while (low < high) {
        int mid = (low + high) >>> 1;
        if (values[mid] <= x) {
          low = mid + 1;
        } else {
          high = mid;
        }
      }
      return low;
    }

    private int lowerBound(double x) {
      int low = 0;
      int high = values.length;
      while (low < high) {
        int mid = (low + high) >>> 1;
        if (values[mid] < x) {
          low = mid + 1;
        } else {
          high = mid;
        }
      }
      return low;
    }
  }
}
