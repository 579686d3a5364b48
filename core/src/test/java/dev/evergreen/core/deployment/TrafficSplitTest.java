package dev.evergreen.core.deployment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TrafficSplitTest {
  @Test
  void keyedShareWithinOnePointOverTenThousandCallers() {
    for (double percent : new double[] {1, 5, 10, 25, 50, 90}) {
      TrafficSplit split = new TrafficSplit(percent);
      int taken = 0;
      for (int caller = 0; caller < 10_000; caller++) {
        if (split.takes("caller-" + caller)) {
          taken++;
        }
      }
      assertThat(taken / 100.0).as("share at %s%%", percent).isCloseTo(percent, within(1.0));
    }
  }

  @Test
  void keyedShareWithinOnePointForUuidLikeKeys() {
    TrafficSplit split = new TrafficSplit(20);
    int taken = 0;
    for (int i = 0; i < 10_000; i++) {
      String key = java.util.UUID.nameUUIDFromBytes(Integer.toString(i).getBytes()).toString();
      taken += split.takes(key) ? 1 : 0;
    }
    assertThat(taken / 100.0).isCloseTo(20.0, within(1.0));
  }

  @Test
  void sameKeyAlwaysGetsSameAnswer() {
    TrafficSplit split = new TrafficSplit(30);
    Map<String, Boolean> first = new HashMap<>();
    for (int round = 0; round < 5; round++) {
      for (int caller = 0; caller < 1_000; caller++) {
        String key = "user-" + caller;
        boolean taken = split.takes(key);
        assertThat(first.computeIfAbsent(key, k -> taken)).as(key).isEqualTo(taken);
      }
    }
  }

  @Test
  void unkeyedRequestsTakeTheExactShare() {
    TrafficSplit split = new TrafficSplit(12.5);
    int taken = 0;
    for (int n = 1; n <= 10_000; n++) {
      taken += split.takes(null) ? 1 : 0;
      // After every request the count is within one request of the exact share.
      assertThat(Math.abs(taken - n * 0.125)).isLessThan(1.0);
    }
    assertThat(taken).isEqualTo(1_250);
  }

  @Test
  void zeroAndHundredPercentAreAbsolute() {
    TrafficSplit none = new TrafficSplit(0);
    TrafficSplit all = new TrafficSplit(100);
    for (int i = 0; i < 1_000; i++) {
      assertThat(none.takes("k" + i)).isFalse();
      assertThat(all.takes(i % 2 == 0 ? null : "k" + i)).isTrue();
    }
  }

  @Test
  void percentOutsideRangeIsRejected() {
    assertThatThrownBy(() -> new TrafficSplit(100.5)).hasMessageContaining("100.5");
    assertThatThrownBy(() -> new TrafficSplit(Double.NaN)).hasMessageContaining("NaN");
  }

  private static org.assertj.core.data.Offset<Double> within(double offset) {
    return org.assertj.core.data.Offset.offset(offset);
  }
}
