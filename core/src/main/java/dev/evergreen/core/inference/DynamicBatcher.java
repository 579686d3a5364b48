package dev.evergreen.core.inference;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.BatchingSpec;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dynamic batching of one model: requests wait in a bounded queue, and one worker thread scores the
 * requests that arrived within {@code maxDelayMillis} of the first as one batch of at most {@code
 * maxBatchSize} rows. A full queue rejects a request at once with UNAVAILABLE, so memory stays
 * bounded under any load.
 *
 * <p>Requests for different versions of the model (stable and canary) are never joined: a batch
 * ends at the first request for another version. When a joined batch fails, its requests are scored
 * one by one, so a bad request fails alone. A joined batch's scores are checked for non-finite
 * values request by request, for the same reason.
 */
final class DynamicBatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DynamicBatcher.class);

  /** Seconds a rejected caller should wait before retrying, sent as {@code Retry-After}. */
  static final int RETRY_AFTER_SECONDS = 1;

  private final String model;
  private final BatchingSpec spec;
  private final long maxDelayNanos;
  private final ArrayBlockingQueue<Pending> queue;
  private final InferenceMeters meters;
  private final Thread worker;
  private volatile boolean closed;

  /** One request waiting to be scored. */
  record Pending(
      ServableModel model, InputBatch batch, CompletableFuture<double[]> result, long queuedAt) {}

  DynamicBatcher(String model, BatchingSpec spec, InferenceMeters meters) {
    this.model = model;
    this.spec = spec;
    this.maxDelayNanos = (long) (spec.maxDelayMillis() * 1_000_000);
    this.queue = new ArrayBlockingQueue<>(spec.maxQueue());
    this.meters = meters;
    this.worker = Thread.ofPlatform().daemon().name("evergreen-batcher-" + model).start(this::run);
  }

  BatchingSpec spec() {
    return spec;
  }

  /** Returns the number of requests waiting for the worker. */
  int queued() {
    return queue.size();
  }

  /**
   * Queues a request; the returned future fails with UNAVAILABLE at once when the queue is full.
   */
  CompletableFuture<double[]> submit(ServableModel version, InputBatch batch) {
    CompletableFuture<double[]> result = new CompletableFuture<>();
    if (closed || !queue.offer(new Pending(version, batch, result, System.nanoTime()))) {
      meters.of(version).rejected.increment();
      result.completeExceptionally(overloaded());
    }
    return result;
  }

  private EvergreenException overloaded() {
    return new EvergreenException(
        ErrorKind.UNAVAILABLE,
        "model '"
            + model
            + "' is overloaded: its batching queue is full (max_queue "
            + spec.maxQueue()
            + "); retry after "
            + RETRY_AFTER_SECONDS
            + " s");
  }

  private void run() {
    Pending carried = null;
    List<Pending> group = new ArrayList<>();
    while (!closed) {
      try {
        Pending first = carried != null ? carried : queue.take();
        carried = null;
        group.clear();
        group.add(first);
        int rows = first.batch().rows();
        long deadline = first.queuedAt() + maxDelayNanos;
        while (rows < spec.maxBatchSize()) {
          long wait = deadline - System.nanoTime();
          Pending next = wait > 0 ? queue.poll(wait, TimeUnit.NANOSECONDS) : queue.poll();
          if (next == null) {
            break;
          }
          if (next.model() != first.model()
              || rows + next.batch().rows() > spec.maxBatchSize()
              || !Batches.joinable(first.batch(), next.batch())) {
            carried = next;
            break;
          }
          group.add(next);
          rows += next.batch().rows();
        }
        score(group, rows);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      } catch (RuntimeException e) {
        LOG.error("Batching worker of model {} failed; it keeps running", model, e);
        for (Pending pending : group) {
          pending.result().completeExceptionally(e);
        }
      }
    }
    failRemaining(carried);
  }

  private void score(List<Pending> group, int rows) {
    ServableModel version = group.get(0).model();
    InferenceMeters.Meters versionMeters = meters.of(version);
    long started = System.nanoTime();
    for (Pending pending : group) {
      versionMeters.queue.record(started - pending.queuedAt(), TimeUnit.NANOSECONDS);
    }
    if (group.size() == 1) {
      Pending only = group.get(0);
      try {
        double[] scores = version.predict(only.batch());
        versionMeters.recordCompute(rows, System.nanoTime() - started);
        only.result().complete(FiniteScores.requireFinite(version, only.batch(), scores));
      } catch (RuntimeException e) {
        only.result().completeExceptionally(e);
      }
      return;
    }
    double[] scores;
    try {
      scores = version.predict(Batches.concat(group.stream().map(Pending::batch).toList()));
    } catch (RuntimeException e) {
      // One bad request must not fail the others, so each is scored alone.
      for (Pending pending : group) {
        long alone = System.nanoTime();
        try {
          double[] own = version.predict(pending.batch());
          versionMeters.recordCompute(pending.batch().rows(), System.nanoTime() - alone);
          pending.result().complete(FiniteScores.requireFinite(version, pending.batch(), own));
        } catch (RuntimeException single) {
          pending.result().completeExceptionally(single);
        }
      }
      return;
    }
    versionMeters.recordCompute(rows, System.nanoTime() - started);
    int width = scores.length / Math.max(1, rows);
    int at = 0;
    for (Pending pending : group) {
      int length = pending.batch().rows() * width;
      double[] own = Arrays.copyOfRange(scores, at, at + length);
      at += length;
      // Checked per request, so a request's error numbers rows from its own first row.
      try {
        pending.result().complete(FiniteScores.requireFinite(version, pending.batch(), own));
      } catch (EvergreenException e) {
        pending.result().completeExceptionally(e);
      }
    }
  }

  private void failRemaining(Pending carried) {
    List<Pending> left = new ArrayList<>();
    if (carried != null) {
      left.add(carried);
    }
    queue.drainTo(left);
    for (Pending pending : left) {
      pending.result().completeExceptionally(overloaded());
    }
  }

  /** Stops the worker; requests still queued fail with UNAVAILABLE. */
  @Override
  public void close() {
    closed = true;
    worker.interrupt();
    try {
      worker.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    failRemaining(null);
  }
}
