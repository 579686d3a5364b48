package dev.evergreen.core.serving;

import java.util.Map;

/**
 * Rows to score, by column. Numeric columns hold {@code NaN} for a missing value; text columns hold
 * {@code null}. Every array has {@code rows} elements.
 */
public record InputBatch(int rows, Map<String, double[]> numeric, Map<String, String[]> text) {
  public InputBatch {
    numeric = Map.copyOf(numeric);
    text = Map.copyOf(text);
  }
}
