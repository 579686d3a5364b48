package dev.evergreen.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PercentilesTest {

  @Test
  void percentileOfOneToHundredIsRank() {
    long[] samples = new long[100];
    for (int i = 0; i < samples.length; i++) {
      samples[i] = 100 - i;
    }
    Percentiles percentiles = Percentiles.of(samples);

    assertThat(percentiles.percentile(50)).isEqualTo(50);
    assertThat(percentiles.percentile(99)).isEqualTo(99);
    assertThat(percentiles.percentile(99.9)).isEqualTo(100);
    assertThat(percentiles.percentile(100)).isEqualTo(100);
    assertThat(percentiles.percentile(0)).isEqualTo(1);
    assertThat(percentiles.percentile(0.5)).isEqualTo(1);
    assertThat(percentiles.percentile(1.5)).isEqualTo(2);
  }

  @Test
  void percentileMatchesRankDefinitionOnRandomSamples() {
    SplittableRandom random = new SplittableRandom(11);
    long[] samples = new long[1237];
    for (int i = 0; i < samples.length; i++) {
      samples[i] = random.nextLong(1_000_000);
    }
    Percentiles percentiles = Percentiles.of(samples);

    for (double percent : new double[] {1, 10, 50, 90, 99, 99.9}) {
      long value = percentiles.percentile(percent);
      long atOrBelow = Arrays.stream(samples).filter(s -> s <= value).count();
      long below = Arrays.stream(samples).filter(s -> s < value).count();
      // Nearest rank: at least p% of the samples are <= the value, fewer than p% are below it.
      assertThat(atOrBelow).isGreaterThanOrEqualTo((long) Math.ceil(percent / 100 * 1237));
      assertThat(below).isLessThan((long) Math.ceil(percent / 100 * 1237));
    }
  }

  @Test
  void countLimitsSamplesUsed() {
    long[] samples = {5, 1, 3, 1_000, 2_000};
    Percentiles percentiles = Percentiles.of(samples, 3);

    assertThat(percentiles.count()).isEqualTo(3);
    assertThat(percentiles.max()).isEqualTo(5);
    assertThat(percentiles.min()).isEqualTo(1);
    assertThat(percentiles.mean()).isEqualTo(3.0);
  }

  @Test
  void ofDoesNotReorderCallerArray() {
    long[] samples = {3, 2, 1};
    Percentiles.of(samples);

    assertThat(samples).containsExactly(3, 2, 1);
  }

  @Test
  void emptySamplesRejectPercentile() {
    Percentiles percentiles = Percentiles.of(new long[0]);

    assertThat(percentiles.summary(1, "ms")).isEqualTo("n=0");
    assertThat(percentiles.mean()).isNaN();
    assertThatThrownBy(() -> percentiles.percentile(50))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no samples");
  }

  @Test
  void invalidPercentOrCountRejected() {
    Percentiles percentiles = Percentiles.of(new long[] {1});

    assertThatThrownBy(() -> percentiles.percentile(100.5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("100.5");
    assertThatThrownBy(() -> percentiles.percentile(Double.NaN))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Percentiles.of(new long[2], 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("count 3");
  }

  @Test
  void scaledDoublesRoundToNearest() {
    Percentiles percentiles = Percentiles.ofScaled(new double[] {0.0014, 0.0026}, 1000);

    assertThat(percentiles.min()).isEqualTo(1);
    assertThat(percentiles.max()).isEqualTo(3);
  }
}
