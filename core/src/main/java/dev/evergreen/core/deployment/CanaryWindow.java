package dev.evergreen.core.deployment;

/**
 * Outcomes and latencies of a canary's recent requests over a sliding window, for automatic
 * rollback. The window is split into at most 60 slots. A slot is cleared when the clock comes round
 * to it again, so memory stays fixed whatever the traffic.
 *
 * <p>Latencies go into buckets eight to a power of two of microseconds, so a reported percentile is
 * the upper bound of its bucket and at most 12.5% above the true value.
 */
public final class CanaryWindow {
  private static final int SUB_BUCKETS = 8;

  /** Covers latencies up to 2^25 µs, about 33 s; slower requests land in the last bucket. */
  private static final int BUCKETS = 25 * SUB_BUCKETS;

  private static final int MAX_SLOTS = 60;

  private final long slotNanos;
  private final int slots;
  private final long[] slotIndex;
  private final long[] requests;
  private final long[] errors;
  private final long[][] latencies;

  /** Totals over the window. */
  public record Summary(long requests, long errors, double p99Millis) {
    public double errorRate() {
      return requests == 0 ? 0 : (double) errors / requests;
    }
  }

  public CanaryWindow(int windowSeconds) {
    if (windowSeconds < 1) {
      throw new IllegalArgumentException("window must be at least 1 s, got " + windowSeconds);
    }
    this.slots = Math.min(windowSeconds, MAX_SLOTS);
    this.slotNanos = windowSeconds * 1_000_000_000L / slots;
    this.slotIndex = new long[slots];
    java.util.Arrays.fill(slotIndex, Long.MIN_VALUE);
    this.requests = new long[slots];
    this.errors = new long[slots];
    this.latencies = new long[slots][BUCKETS];
  }

  /** Records one request that the canary scored, or failed with a server error. */
  public void record(boolean error, long latencyNanos) {
    record(System.nanoTime(), error, latencyNanos);
  }

  synchronized void record(long nowNanos, boolean error, long latencyNanos) {
    int slot = slotFor(nowNanos);
    requests[slot]++;
    if (error) {
      errors[slot]++;
    }
    latencies[slot][bucket(latencyNanos)]++;
  }

  /** Returns the totals over the window ending now. */
  public Summary summary() {
    return summary(System.nanoTime());
  }

  synchronized Summary summary(long nowNanos) {
    long current = Math.floorDiv(nowNanos, slotNanos);
    long total = 0;
    long failed = 0;
    long[] merged = new long[BUCKETS];
    for (int slot = 0; slot < slots; slot++) {
      if (slotIndex[slot] <= current - slots || slotIndex[slot] > current) {
        continue;
      }
      total += requests[slot];
      failed += errors[slot];
      for (int b = 0; b < BUCKETS; b++) {
        merged[b] += latencies[slot][b];
      }
    }
    return new Summary(total, failed, percentileMillis(merged, total, 0.99));
  }

  private int slotFor(long nowNanos) {
    long index = Math.floorDiv(nowNanos, slotNanos);
    int slot = (int) Math.floorMod(index, slots);
    if (slotIndex[slot] != index) {
      slotIndex[slot] = index;
      requests[slot] = 0;
      errors[slot] = 0;
      java.util.Arrays.fill(latencies[slot], 0);
    }
    return slot;
  }

  static int bucket(long latencyNanos) {
    long micros = Math.max(1, latencyNanos / 1_000);
    int power = 63 - Long.numberOfLeadingZeros(micros);
    // The three bits below the leading one pick one of eight steps within the power of two.
    int step = power >= 3 ? (int) (micros >>> (power - 3)) & 7 : (int) (micros << (3 - power)) & 7;
    return Math.min(BUCKETS - 1, power * SUB_BUCKETS + step);
  }

  /** Returns the upper bound of a bucket in milliseconds. */
  static double upperMillis(int bucket) {
    int power = bucket / SUB_BUCKETS;
    int step = bucket % SUB_BUCKETS;
    double micros = Math.scalb(1.0 + (step + 1) / (double) SUB_BUCKETS, power);
    return micros / 1_000.0;
  }

  private static double percentileMillis(long[] buckets, long total, double quantile) {
    if (total == 0) {
      return 0;
    }
    long rank = (long) Math.ceil(quantile * total);
    long seen = 0;
    for (int b = 0; b < buckets.length; b++) {
      seen += buckets[b];
      if (seen >= rank) {
        return upperMillis(b);
      }
    }
    return upperMillis(buckets.length - 1);
  }
}
