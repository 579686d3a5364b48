package dev.evergreen.core.training;

import dev.evergreen.core.serving.InputBatch;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/** Helpers for {@link InputBatch}. */
final class InputBatches {
  private InputBatches() {}

  /** Returns a copy of the first {@code rows} rows of a batch. */
  static InputBatch head(InputBatch batch, int rows) {
    if (rows < 0 || rows > batch.rows()) {
      throw new IllegalArgumentException("rows must be 0 to " + batch.rows() + ", got " + rows);
    }
    Map<String, double[]> numeric = new HashMap<>();
    batch.numeric().forEach((name, values) -> numeric.put(name, Arrays.copyOf(values, rows)));
    Map<String, String[]> text = new HashMap<>();
    batch.text().forEach((name, values) -> text.put(name, Arrays.copyOf(values, rows)));
    return new InputBatch(rows, numeric, text);
  }
}
