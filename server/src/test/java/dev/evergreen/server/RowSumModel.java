package dev.evergreen.server;

import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.Signature;
import dev.evergreen.core.serving.TensorSpec;
import java.util.List;
import java.util.Map;

/**
 * A model with one FP64 input {@code x} of shape {@code [-1, 4]} that returns the sum of each row's
 * four values, to test inputs with more than one value per row.
 */
final class RowSumModel implements ServableModel {
  static final int WIDTH = 4;

  @Override
  public String model() {
    return "row-sum";
  }

  @Override
  public int version() {
    return 1;
  }

  @Override
  public Signature signature() {
    return new Signature(
        List.of(new TensorSpec("x", "FP64", List.of(-1L, (long) WIDTH))),
        List.of(new TensorSpec("sum", "FP64", List.of(-1L))));
  }

  @Override
  public int outputWidth() {
    return 1;
  }

  @Override
  public double[] predict(InputBatch batch) {
    double[] values = batch.numeric().get("x");
    double[] sums = new double[batch.rows()];
    for (int row = 0; row < sums.length; row++) {
      for (int column = 0; column < WIDTH; column++) {
        sums[row] += values[row * WIDTH + column];
      }
    }
    return sums;
  }

  @Override
  public CheckSet checkSet() {
    return new CheckSet(new InputBatch(0, Map.of("x", new double[0]), Map.of()), new double[0]);
  }
}
