package dev.evergreen.core.serving;

import java.util.Map;

/**
 * Rows to score, by input. Numeric inputs hold {@code NaN} for a missing value; text inputs hold
 * {@code null}. An input whose {@link TensorSpec} has shape {@code [-1]} contains {@code rows}
 * elements; an input of shape {@code [-1, d1, d2, ...]} contains {@code rows * d1 * d2 * ...}
 * elements, row-major, so each row's values are contiguous.
 */
public record InputBatch(int rows, Map<String, double[]> numeric, Map<String, String[]> text) {
  public InputBatch {
    numeric = Map.copyOf(numeric);
    text = Map.copyOf(text);
  }
}
