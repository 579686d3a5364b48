package dev.evergreen.core.inference;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class MeterBucketsTest {
  @Test
  void decadesEndAtTenSeconds() {
    Duration[] bounds = MeterBuckets.decades(Duration.ofNanos(1_000));

    assertThat(bounds).hasSize(22);
    assertThat(bounds)
        .startsWith(Duration.ofNanos(1_000), Duration.ofNanos(2_500), Duration.ofNanos(5_000))
        .endsWith(Duration.ofSeconds(5), Duration.ofSeconds(10));
  }

  @Test
  void laterStartDropsEarlyDecades() {
    Duration[] bounds = MeterBuckets.decades(Duration.ofNanos(10_000));

    assertThat(bounds).hasSize(19);
    assertThat(bounds[0]).isEqualTo(Duration.ofNanos(10_000));
    assertThat(bounds[bounds.length - 1]).isEqualTo(Duration.ofSeconds(10));
  }
}
