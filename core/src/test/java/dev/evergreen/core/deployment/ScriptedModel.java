package dev.evergreen.core.deployment;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.Signature;
import dev.evergreen.core.serving.TensorSpec;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A deterministic model for traffic tests: row {@code r} scores {@code version * x[r] + 0.5}. Its
 * check rows always score correctly, so it passes the deploy check. Other requests can be made to
 * fail, to take a fixed time or to wait for a latch.
 */
public record ScriptedModel(
    String model, int version, boolean failing, long delayNanos, CountDownLatch gate)
    implements ServableModel {
  public static final InputBatch CHECK_ROWS =
      new InputBatch(3, Map.of("x", new double[] {0.0, 1.0, 2.5}), Map.of());

  public static ScriptedModel good(String model, int version) {
    return new ScriptedModel(model, version, false, 0, null);
  }

  /** Returns one row with input {@code x}. */
  public static InputBatch row(double x) {
    return new InputBatch(1, Map.of("x", new double[] {x}), Map.of());
  }

  @Override
  public Signature signature() {
    return new Signature(
        List.of(new TensorSpec("x", "FP64", List.of(-1L))),
        List.of(new TensorSpec("prediction", "FP64", List.of(-1L))));
  }

  @Override
  public int outputWidth() {
    return 1;
  }

  @Override
  public double[] predict(InputBatch batch) {
    double[] x = batch.numeric().get("x");
    if (x == null) {
      throw EvergreenException.invalid("input 'x' is missing");
    }
    if (batch != CHECK_ROWS) {
      if (failing) {
        throw new EvergreenException(ErrorKind.INTERNAL, "version " + version + " is broken");
      }
      if (delayNanos > 0) {
        long end = System.nanoTime() + delayNanos;
        while (System.nanoTime() < end) {
          Thread.onSpinWait();
        }
      }
      if (gate != null) {
        try {
          if (!gate.await(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the gate stayed closed for 30 s");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
      }
    }
    double[] scores = new double[batch.rows()];
    for (int row = 0; row < scores.length; row++) {
      scores[row] = version * x[row] + 0.5;
    }
    return scores;
  }

  @Override
  public CheckSet checkSet() {
    return new CheckSet(CHECK_ROWS, predictCheck());
  }

  private double[] predictCheck() {
    double[] x = CHECK_ROWS.numeric().get("x");
    double[] expected = new double[x.length];
    for (int row = 0; row < x.length; row++) {
      expected[row] = version * x[row] + 0.5;
    }
    return expected;
  }
}
