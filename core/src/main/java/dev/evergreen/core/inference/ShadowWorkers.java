package dev.evergreen.core.inference;

import dev.evergreen.core.deployment.ServingListener;
import dev.evergreen.core.deployment.ServingState;
import dev.evergreen.core.deployment.Shadow;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scores copies of requests with the shadow versions in the background: one worker thread and one
 * bounded queue per model that runs a shadow, so a slow shadow delays and drops only its own
 * copies.
 *
 * <p>Each model's queue takes at most {@link InferenceRouter#SHADOW_QUEUE} waiting copies, and its
 * waiting copies together with the one being scored contain at most {@link
 * InferenceRouter#SHADOW_ROWS} rows. A copy beyond either bound is dropped and counted in the
 * shadow's meters and tally. The bounds are per model. With N models running a shadow, the worst
 * case is N × 1,025 copies: 1,024 waiting and 1 being scored per model. Together they contain at
 * most N × 100,000 rows, and each copy keeps its request's inputs and served scores. A request of
 * more than 100,000 rows is never shadowed.
 *
 * <p>The workers are platform threads. Shadow scoring is CPU-bound, and the virtual-thread
 * scheduler does not preempt: a virtual thread releases its carrier only when it blocks, and one
 * inside a native call, such as a call into ONNX Runtime, cannot release it at all. A few slow
 * shadows on virtual threads could therefore occupy every carrier and stall the shadows of other
 * models. The operating system time-slices platform threads, so every model's worker makes
 * progress. A worker starts with the first copy its shadow accepts and ends when the shadow stops
 * or is replaced, or when the router closes. Copies still waiting then are discarded uncounted,
 * because the shadow they were meant for no longer runs.
 */
final class ShadowWorkers implements ServingListener, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ShadowWorkers.class);

  /** Queue entry that wakes a stopped worker blocked on an empty queue. */
  private static final Copy WAKE_UP =
      new Copy(new InputBatch(0, Map.of(), Map.of()), new double[0]);

  private final InferenceMeters meters;
  private final MeterRegistry registry;

  /** The worker of each model's running shadow, by model name. */
  private final ConcurrentHashMap<String, Worker> workers = new ConcurrentHashMap<>();

  /** The {@code evergreen.inference.shadow.queue} gauge of each model that served, by name. */
  private final ConcurrentHashMap<String, Gauge> queueGauges = new ConcurrentHashMap<>();

  private volatile boolean closed;

  /** One request's rows and the scores its caller received. */
  private record Copy(InputBatch batch, double[] served) {}

  ShadowWorkers(InferenceMeters meters, MeterRegistry registry) {
    this.meters = meters;
    this.registry = registry;
  }

  /**
   * Queues a copy of a request for {@code shadow}, or drops it and counts it as dropped when the
   * model's queue or row bound is reached. A copy for a shadow that stopped or was replaced is
   * skipped uncounted.
   *
   * @param served the scores the caller received, compared with the shadow's
   */
  void submit(Shadow shadow, InputBatch batch, double[] served) {
    Worker worker = workers.get(shadow.model().model());
    if (worker == null || worker.shadow != shadow) {
      return;
    }
    worker.offer(new Copy(batch, served));
  }

  /** Returns the number of copies waiting for the shadow of {@code model}, 0 when none runs. */
  int queued(String model) {
    Worker worker = workers.get(model);
    return worker == null ? 0 : worker.queue.size();
  }

  @Override
  public void servingChanging(ServingState previous, ServingState next) {
    if (closed) {
      return;
    }
    String model = next.active().model();
    queueGauges.computeIfAbsent(model, this::registerQueueGauge);
    Shadow before = previous == null ? null : previous.shadow();
    Shadow after = next.shadow();
    if (before == after) {
      return;
    }
    // The deployment manager makes the calls for one model one at a time, under the model's lock,
    // so no other call replaces this model's worker between these lines.
    Worker stopped = after == null ? workers.remove(model) : workers.put(model, new Worker(after));
    if (stopped != null) {
      stopped.stop(false);
    }
  }

  @Override
  public void versionUnloaded(ServableModel version) {
    // A shadow's worker ends in servingChanging, when the state without that shadow is announced.
  }

  private Gauge registerQueueGauge(String model) {
    return Gauge.builder("evergreen.inference.shadow.queue", () -> queued(model))
        .description("Copies of requests waiting for the model's shadow version")
        .tags("model", model)
        .register(registry);
  }

  /** Stops every worker, interrupting the scorings in progress, and removes the queue gauges. */
  @Override
  public void close() {
    closed = true;
    workers.values().forEach(worker -> worker.stop(true));
    workers.clear();
    queueGauges.values().forEach(registry::remove);
    queueGauges.clear();
  }

  /** The thread, queue and row count of one shadow. */
  private final class Worker {
    final Shadow shadow;
    final ArrayBlockingQueue<Copy> queue = new ArrayBlockingQueue<>(InferenceRouter.SHADOW_QUEUE);

    /** Rows of the copies waiting or being scored. */
    final AtomicLong rows = new AtomicLong();

    final Thread thread;
    final AtomicBoolean started = new AtomicBoolean();
    volatile boolean stopped;

    Worker(Shadow shadow) {
      this.shadow = shadow;
      this.thread =
          Thread.ofPlatform()
              .daemon()
              .name("evergreen-shadow-" + shadow.model().model())
              .unstarted(this::run);
    }

    void offer(Copy copy) {
      if (stopped) {
        return;
      }
      int copyRows = copy.batch().rows();
      if (rows.addAndGet(copyRows) > InferenceRouter.SHADOW_ROWS) {
        rows.addAndGet(-copyRows);
        drop();
        return;
      }
      if (!queue.offer(copy)) {
        rows.addAndGet(-copyRows);
        drop();
        return;
      }
      if (!started.get() && started.compareAndSet(false, true)) {
        LOG.debug(
            "Starting the shadow worker of model {} version {}",
            shadow.model().model(),
            shadow.model().version());
        thread.start();
      }
    }

    private void drop() {
      meters.shadowOf(shadow.model()).dropped.increment();
      shadow.tally().dropped();
    }

    /**
     * Discards the waiting copies and ends the thread after the copy it is scoring, or at once when
     * {@code interrupt} is set.
     */
    void stop(boolean interrupt) {
      stopped = true;
      queue.clear();
      // Wakes a thread blocked on the empty queue. When the queue is full again, the thread is not
      // blocked and reads the flag after taking its next copy.
      queue.offer(WAKE_UP);
      if (interrupt) {
        thread.interrupt();
      }
    }

    private void run() {
      try {
        while (!stopped) {
          Copy copy = queue.take();
          if (stopped) {
            break;
          }
          try {
            compare(copy);
          } finally {
            rows.addAndGet(-copy.batch().rows());
          }
        }
      } catch (InterruptedException e) {
        // The router closed.
        Thread.currentThread().interrupt();
      } finally {
        queue.clear();
        LOG.debug(
            "Shadow worker of model {} version {} ended",
            shadow.model().model(),
            shadow.model().version());
      }
    }

    private void compare(Copy copy) {
      ServableModel model = shadow.model();
      InferenceMeters.ShadowMeters shadowMeters = meters.shadowOf(model);
      try {
        double[] scores =
            FiniteScores.requireFinite(model, copy.batch(), model.predict(copy.batch()));
        double difference = InferenceRouter.maxDifference(copy.served(), scores);
        shadowMeters.difference.record(difference);
        if (difference <= shadow.spec().tolerance()) {
          shadowMeters.agree.increment();
          shadow.tally().agreed();
        } else {
          shadowMeters.disagree.increment();
          shadow.tally().disagreed();
        }
      } catch (RuntimeException e) {
        shadowMeters.error.increment();
        shadow.tally().failed();
        LOG.debug(
            "Shadow version {} of model {} failed to score a copy: {}",
            model.version(),
            model.model(),
            e.toString());
      }
    }
  }
}
