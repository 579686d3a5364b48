package dev.evergreen.api.pipeline;

/**
 * Dynamic batching of one model: requests that arrive close together are scored as one batch.
 *
 * @param maxBatchSize rows scored together at most; a request with more rows is scored alone
 * @param maxDelayMillis longest time the first request of a batch waits for others
 * @param maxQueue requests waiting at most; one more is refused at once with 503 and {@code
 *     Retry-After}
 */
public record BatchingSpec(Integer maxBatchSize, Double maxDelayMillis, Integer maxQueue) {
  /** Allowed {@code maxBatchSize}. */
  public static final IntegerRange MAX_BATCH_SIZE = new IntegerRange(1, 100_000);

  /** Allowed {@code maxQueue}. */
  public static final IntegerRange MAX_QUEUE = new IntegerRange(1, 1_000_000);

  public BatchingSpec {
    maxBatchSize = maxBatchSize == null ? 64 : maxBatchSize;
    maxDelayMillis = maxDelayMillis == null ? 2.0 : maxDelayMillis;
    maxQueue = maxQueue == null ? 1024 : maxQueue;
  }
}
