package dev.evergreen.core.inference;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.BatchingSpec;
import dev.evergreen.core.deployment.ScriptedModel;
import dev.evergreen.core.serving.InputBatch;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class DynamicBatcherTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final InferenceMeters meters = new InferenceMeters(registry);

  @Test
  void requestsArrivingTogetherAreScoredAsOneBatch() {
    CountDownLatch gate = new CountDownLatch(1);
    ScriptedModel model = new ScriptedModel("m", 3, false, 0, gate);
    try (DynamicBatcher batcher =
        new DynamicBatcher("m", new BatchingSpec(64, 50.0, 100), meters)) {
      // The first request keeps the worker waiting at the gate, so the next ones queue up.
      CompletableFuture<double[]> first = batcher.submit(model, ScriptedModel.row(0));
      List<CompletableFuture<double[]>> rest = new ArrayList<>();
      for (int i = 1; i <= 20; i++) {
        rest.add(batcher.submit(model, ScriptedModel.row(i)));
      }
      gate.countDown();

      assertThat(first.join()).containsExactly(0.5);
      for (int i = 1; i <= 20; i++) {
        assertThat(rest.get(i - 1).join()).containsExactly(3.0 * i + 0.5);
      }
    }
    var sizes = registry.find("evergreen.inference.batch.size").summary();
    // Every row was scored once, and fewer batches than requests were needed.
    assertThat(sizes.totalAmount()).isEqualTo(21.0);
    assertThat(sizes.count()).isLessThan(21);
    assertThat(sizes.max()).isGreaterThan(1.0);
    assertThat(registry.find("evergreen.inference.queue").timer().count()).isEqualTo(21);
  }

  @Test
  void batchNeverExceedsMaxRows() {
    CountDownLatch gate = new CountDownLatch(1);
    ScriptedModel model = new ScriptedModel("m", 1, false, 0, gate);
    try (DynamicBatcher batcher = new DynamicBatcher("m", new BatchingSpec(8, 50.0, 100), meters)) {
      List<CompletableFuture<double[]>> results = new ArrayList<>();
      results.add(batcher.submit(model, ScriptedModel.row(0)));
      for (int i = 0; i < 30; i++) {
        results.add(batcher.submit(model, rows(3)));
      }
      gate.countDown();
      results.forEach(CompletableFuture::join);
    }
    assertThat(registry.find("evergreen.inference.batch.size").summary().max())
        .isLessThanOrEqualTo(8);
  }

  @Test
  void fullQueueRefusesAtOnceWithUnavailable() {
    CountDownLatch gate = new CountDownLatch(1);
    ScriptedModel model = new ScriptedModel("m", 1, false, 0, gate);
    try (DynamicBatcher batcher = new DynamicBatcher("m", new BatchingSpec(1, 0.0, 2), meters)) {
      CompletableFuture<double[]> blocking = batcher.submit(model, ScriptedModel.row(1));
      awaitTaken(batcher, blocking);
      CompletableFuture<double[]> queued1 = batcher.submit(model, ScriptedModel.row(2));
      CompletableFuture<double[]> queued2 = batcher.submit(model, ScriptedModel.row(3));
      CompletableFuture<double[]> rejected = batcher.submit(model, ScriptedModel.row(4));

      assertThat(rejected).isCompletedExceptionally();
      EvergreenException error = failure(rejected);
      assertThat(error.kind()).isEqualTo(ErrorKind.UNAVAILABLE);
      assertThat(error.getMessage()).contains("model 'm' is overloaded").contains("max_queue 2");
      gate.countDown();
      assertThat(blocking.join()).containsExactly(1.5);
      assertThat(queued1.join()).containsExactly(2.5);
      assertThat(queued2.join()).containsExactly(3.5);
    }
    assertThat(registry.find("evergreen.inference.rejected").counter().count()).isEqualTo(1);
  }

  @Test
  void badRequestFailsAloneInsideBatch() {
    CountDownLatch gate = new CountDownLatch(1);
    ScriptedModel model = new ScriptedModel("m", 2, false, 0, gate);
    try (DynamicBatcher batcher =
        new DynamicBatcher("m", new BatchingSpec(64, 50.0, 100), meters)) {
      CompletableFuture<double[]> first = batcher.submit(model, ScriptedModel.row(1));
      CompletableFuture<double[]> good = batcher.submit(model, ScriptedModel.row(4));
      CompletableFuture<double[]> bad =
          batcher.submit(model, new InputBatch(1, Map.of("y", new double[] {1}), Map.of()));
      gate.countDown();

      assertThat(first.join()).containsExactly(2.5);
      assertThat(good.join()).containsExactly(8.5);
      assertThat(failure(bad).getMessage()).contains("input 'x' is missing");
    }
  }

  private static InputBatch rows(int count) {
    double[] x = new double[count];
    for (int i = 0; i < count; i++) {
      x[i] = i;
    }
    return new InputBatch(count, Map.of("x", x), Map.of());
  }

  /** Waits until the worker took the blocking request off the queue. */
  private static void awaitTaken(DynamicBatcher batcher, CompletableFuture<double[]> blocking) {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (batcher.queued() > 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertThat(batcher.queued()).isZero();
    assertThat(blocking).isNotDone();
  }

  private static EvergreenException failure(CompletableFuture<double[]> result) {
    try {
      result.join();
    } catch (CompletionException e) {
      return (EvergreenException) e.getCause();
    }
    throw new AssertionError("the request did not fail");
  }
}
