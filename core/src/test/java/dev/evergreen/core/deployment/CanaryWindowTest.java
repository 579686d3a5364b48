package dev.evergreen.core.deployment;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CanaryWindowTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void summaryCountsRequestsAndErrorsInWindow() {
    CanaryWindow window = new CanaryWindow(10);
    long now = 1_000 * SECOND;
    for (int i = 0; i < 90; i++) {
      window.record(now, false, 200_000);
    }
    for (int i = 0; i < 10; i++) {
      window.record(now, true, 200_000);
    }

    CanaryWindow.Summary summary = window.summary(now);

    assertThat(summary.requests()).isEqualTo(100);
    assertThat(summary.errors()).isEqualTo(10);
    assertThat(summary.errorRate()).isEqualTo(0.1);
  }

  @Test
  void requestsOlderThanWindowAreForgotten() {
    CanaryWindow window = new CanaryWindow(10);
    long start = 1_000 * SECOND;
    window.record(start, true, 1_000_000);
    window.record(start + 5 * SECOND, false, 1_000_000);

    assertThat(window.summary(start + 9 * SECOND).requests()).isEqualTo(2);
    assertThat(window.summary(start + 11 * SECOND).requests()).isEqualTo(1);
    assertThat(window.summary(start + 11 * SECOND).errors()).isZero();
    assertThat(window.summary(start + 30 * SECOND).requests()).isZero();
  }

  @Test
  void p99IsUpperBoundOfItsBucket() {
    CanaryWindow window = new CanaryWindow(60);
    long now = 5_000 * SECOND;
    for (int i = 0; i < 980; i++) {
      window.record(now, false, 100_000);
    }
    for (int i = 0; i < 20; i++) {
      window.record(now, false, 40_000_000);
    }

    double p99 = window.summary(now).p99Millis();

    assertThat(p99).isBetween(40.0, 40.0 * 1.09);
  }

  @Test
  void bucketsGrowMonotonicallyWithLatency() {
    int previous = -1;
    for (long micros = 1; micros < 30_000_000; micros = micros * 11 / 10 + 1) {
      int bucket = CanaryWindow.bucket(micros * 1_000);
      assertThat(bucket).isGreaterThanOrEqualTo(previous);
      assertThat(CanaryWindow.upperMillis(bucket) * 1_000).isGreaterThanOrEqualTo(micros);
      previous = bucket;
    }
  }
}
