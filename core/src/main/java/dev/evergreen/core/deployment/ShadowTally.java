package dev.evergreen.core.deployment;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Outcomes of one shadow's comparisons since it started: the same counts as the shadow's meters,
 * kept with the shadow so that stopping it can record them after its meters are removed.
 */
public final class ShadowTally {
  private final LongAdder agreed = new LongAdder();
  private final LongAdder disagreed = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final LongAdder dropped = new LongAdder();

  public void agreed() {
    agreed.increment();
  }

  public void disagreed() {
    disagreed.increment();
  }

  /** Counts a copy that the shadow failed to score. */
  public void failed() {
    failed.increment();
  }

  /** Counts a copy that was not scored because the queue was full or held too many rows. */
  public void dropped() {
    dropped.increment();
  }

  /**
   * Returns the counts by outcome, named as the {@code outcome} tag of the shadow's meters: agree,
   * disagree, error and dropped, in that order.
   */
  public Map<String, Long> counts() {
    Map<String, Long> counts = new LinkedHashMap<>();
    counts.put("agree", agreed.sum());
    counts.put("disagree", disagreed.sum());
    counts.put("error", failed.sum());
    counts.put("dropped", dropped.sum());
    return counts;
  }
}
