package dev.evergreen.core.profile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Checks each sketch against exact values on synthetic data. */
class SketchTest {
  @Test
  void hyperLogLogEstimatesWithinFivePercent() {
    for (int distinct : new int[] {1, 10, 100, 1_000, 5_000, 20_000, 100_000, 1_000_000}) {
      HyperLogLog hll = new HyperLogLog();
      for (int repeat = 0; repeat < 2; repeat++) {
        for (long i = 0; i < distinct; i++) {
          hll.addHash(HyperLogLog.hashLong(i * 7919));
        }
      }
      assertThat(hll.estimate())
          .as("distinct %d", distinct)
          .isCloseTo(distinct, within(0.05 * distinct + 0.5));
    }
  }

  @Test
  void hyperLogLogEmptyEstimatesZero() {
    assertThat(new HyperLogLog().estimate()).isZero();
  }

  @Test
  void hyperLogLogMergeEqualsUnion() {
    HyperLogLog a = new HyperLogLog();
    HyperLogLog b = new HyperLogLog();
    HyperLogLog union = new HyperLogLog();
    for (int i = 0; i < 50_000; i++) {
      long hash = HyperLogLog.hashString("value-" + i);
      (i % 3 == 0 ? a : b).addHash(hash);
      union.addHash(hash);
    }
    a.merge(b);
    assertThat(a).isEqualTo(union);
  }

  @Test
  void kllRankErrorBelowTwoPercent() {
    Random random = new Random(11);
    int n = 1_000_000;
    double[] values = new double[n];
    KllSketch sketch = new KllSketch();
    for (int i = 0; i < n; i++) {
      values[i] = Math.exp(random.nextGaussian());
      sketch.add(values[i]);
    }
    Arrays.sort(values);
    KllSketch.Cdf cdf = sketch.cdf();
    assertThat(cdf.total()).isEqualTo(n);
    assertThat(sketch.count()).isEqualTo(n);
    assertThat(sketch.retained()).isLessThan(700);
    for (int i = 1; i < 100; i++) {
      double x = values[i * n / 100];
      long exact = upperBound(values, x);
      assertThat((double) cdf.rankAtMost(x) / n)
          .as("rank at %f", x)
          .isCloseTo((double) exact / n, within(0.02));
    }
  }

  @Test
  void kllMergeOfManyPartsKeepsRankError() {
    Random random = new Random(5);
    int n = 400_000;
    double[] values = new double[n];
    KllSketch merged = new KllSketch();
    for (int part = 0; part < 40; part++) {
      KllSketch sketch = new KllSketch();
      for (int i = part * (n / 40); i < (part + 1) * (n / 40); i++) {
        // Each part covers a different range, the hardest case for a merge.
        values[i] = part * 10 + random.nextDouble() * 15;
        sketch.add(values[i]);
      }
      merged.merge(sketch);
    }
    Arrays.sort(values);
    KllSketch.Cdf cdf = merged.cdf();
    assertThat(cdf.total()).isEqualTo(n);
    for (int i = 1; i < 50; i++) {
      double x = values[i * n / 50];
      assertThat((double) cdf.rankAtMost(x) / n)
          .isCloseTo((double) upperBound(values, x) / n, within(0.02));
    }
  }

  @Test
  void kllKeepsSmallInputExact() {
    KllSketch sketch = new KllSketch();
    for (int i = 100; i >= 1; i--) {
      sketch.add(i);
    }
    KllSketch.Cdf cdf = sketch.cdf();
    assertThat(cdf.rankAtMost(50)).isEqualTo(50);
    assertThat(cdf.rankBelow(50)).isEqualTo(49);
    assertThat(cdf.quantile(0.5)).isEqualTo(50.0);
    assertThat(cdf.quantile(0.0)).isEqualTo(1.0);
    assertThat(cdf.quantile(1.0)).isEqualTo(100.0);
  }

  @Test
  void kllRejectsNaN() {
    assertThatThrownBy(() -> new KllSketch().add(Double.NaN))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("NaN");
  }

  @Test
  void frequentItemsExactUpToCapacity() {
    FrequentItems items = new FrequentItems(10);
    for (int i = 0; i < 1000; i++) {
      items.add("v" + (i % 10));
    }
    assertThat(items.maxError()).isZero();
    assertThat(items.count("v3")).isEqualTo(100);
    assertThat(items.items().get(0)).isEqualTo(new FrequentItems.Item("v0", 100));
  }

  @Test
  void frequentItemsBoundsHoldAfterMerge() {
    Random random = new Random(3);
    Map<String, Long> exact = new HashMap<>();
    FrequentItems merged = new FrequentItems(20);
    for (int part = 0; part < 5; part++) {
      FrequentItems sketch = new FrequentItems(20);
      for (int i = 0; i < 20_000; i++) {
        // Zipf-like: a few heavy values and a long tail.
        String value = "v" + (int) Math.floor(Math.pow(random.nextDouble(), 3) * 500);
        exact.merge(value, 1L, Long::sum);
        sketch.add(value);
      }
      merged.merge(sketch);
    }
    assertThat(merged.total()).isEqualTo(100_000);
    assertThat(merged.size()).isLessThanOrEqualTo(20);
    assertThat(merged.maxError()).isLessThanOrEqualTo(100_000 / 21);
    for (Map.Entry<String, Long> entry : exact.entrySet()) {
      long estimate = merged.count(entry.getKey());
      assertThat(estimate).as(entry.getKey()).isLessThanOrEqualTo(entry.getValue());
      assertThat(estimate + merged.maxError())
          .as(entry.getKey())
          .isGreaterThanOrEqualTo(entry.getValue());
    }
    List<FrequentItems.Item> top = merged.items();
    assertThat(top.get(0).value()).isEqualTo("v0");
  }

  @Test
  void momentsMergeMatchesOnePass() {
    Random random = new Random(9);
    Moments all = new Moments();
    Moments a = new Moments();
    Moments b = new Moments();
    for (int i = 0; i < 100_000; i++) {
      double value = 1e6 + random.nextGaussian() * (i < 30_000 ? 1 : 50);
      all.add(value);
      (i < 30_000 ? a : b).add(value);
    }
    a.merge(b);
    assertThat(a.count()).isEqualTo(all.count());
    assertThat(a.mean()).isCloseTo(all.mean(), within(1e-6));
    assertThat(a.sampleVariance())
        .isCloseTo(all.sampleVariance(), within(1e-6 * all.sampleVariance()));
    assertThat(a.min()).isEqualTo(all.min());
    assertThat(a.max()).isEqualTo(all.max());
  }

  private static long upperBound(double[] sorted, double x) {
    int low = 0;
    int high = sorted.length;
    while (low < high) {
      int mid = (low + high) >>> 1;
      if (sorted[mid] <= x) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    return low;
  }
}
