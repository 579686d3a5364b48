package dev.evergreen.api.pipeline;

/**
 * Limits on a canary, checked every second over a sliding window of its requests. When one is
 * exceeded, all traffic returns to the stable version.
 *
 * @param maxErrorRate largest share of canary requests that may fail with a server error, 0 to 1;
 *     requests rejected as invalid input do not count
 * @param maxP99Millis largest 99th-percentile latency of canary scoring in milliseconds, null for
 *     no latency limit
 * @param windowSeconds length of the sliding window
 * @param minRequests canary requests the window needs before a limit is judged
 */
public record RollbackSpec(
    Double maxErrorRate, Double maxP99Millis, Integer windowSeconds, Integer minRequests) {
  public static final RollbackSpec DEFAULT = new RollbackSpec(null, null, null, null);

  /** Allowed {@code windowSeconds}. */
  public static final IntegerRange WINDOW_SECONDS = new IntegerRange(1, 3_600);

  /** Allowed {@code minRequests}. */
  public static final IntegerRange MIN_REQUESTS = IntegerRange.atLeast(1);

  public RollbackSpec {
    maxErrorRate = maxErrorRate == null ? 0.05 : maxErrorRate;
    windowSeconds = windowSeconds == null ? 60 : windowSeconds;
    minRequests = minRequests == null ? 50 : minRequests;
  }
}
