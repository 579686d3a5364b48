package dev.evergreen.core.inference;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Histogram bucket bounds shared by the inference meters of the core and the server. */
public final class MeterBuckets {
  /** The largest time bound: 10 s. */
  private static final long MAX_NANOS = 10_000_000_000L;

  private MeterBuckets() {}

  /**
   * Returns time bounds at 1, 2.5 and 5 times each power of ten, from {@code from} up to 10 s.
   * Every version gets the same bounds, so that quantiles can be summed across versions.
   */
  public static Duration[] decades(Duration from) {
    List<Duration> bounds = new ArrayList<>();
    for (long decade = from.toNanos(); decade <= MAX_NANOS; decade *= 10) {
      for (long bound : new long[] {decade, decade * 5 / 2, decade * 5}) {
        if (bound <= MAX_NANOS) {
          bounds.add(Duration.ofNanos(bound));
        }
      }
    }
    return bounds.toArray(Duration[]::new);
  }
}
