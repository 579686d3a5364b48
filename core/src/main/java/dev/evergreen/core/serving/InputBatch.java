package dev.evergreen.core.serving;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.HashMap;
import java.util.Map;

/**
 * Rows to score, by input. Numeric inputs hold {@code NaN} for a missing value; text inputs hold
 * {@code null}. An input whose {@link TensorSpec} has shape {@code [-1]} contains {@code rows}
 * elements; an input of shape {@code [-1, d1, d2, ...]} contains {@code rows * d1 * d2 * ...}
 * elements, row-major, so each row's values are contiguous.
 *
 * @param integers for {@code INT64} inputs whose request carried integers beyond ±2^53, which a
 *     double rounds, the elements as 64-bit integers beside their {@code numeric} values. Element
 *     {@code i} is the exact value only where {@code (double) integers[i] == numeric[i]}; elsewhere
 *     {@code numeric[i]} is the value. Inputs without such integers have no entry.
 */
public record InputBatch(
    int rows,
    Map<String, double[]> numeric,
    Map<String, String[]> text,
    // Left out of stored check sets when empty, so that manifests keep the format they had before
    // this field, and manifests without it read as empty.
    @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, long[]> integers) {
  public InputBatch {
    numeric = Map.copyOf(numeric);
    text = Map.copyOf(text);
    integers = integers == null ? Map.of() : Map.copyOf(integers);
  }

  /** Returns a batch whose numbers are all exact as doubles. */
  public InputBatch(int rows, Map<String, double[]> numeric, Map<String, String[]> text) {
    this(rows, numeric, text, Map.of());
  }

  /** Returns a copy whose arrays no other holder can change. */
  public InputBatch copy() {
    Map<String, double[]> numericCopy = new HashMap<>();
    numeric.forEach((name, values) -> numericCopy.put(name, values.clone()));
    Map<String, String[]> textCopy = new HashMap<>();
    text.forEach((name, values) -> textCopy.put(name, values.clone()));
    Map<String, long[]> integersCopy = new HashMap<>();
    integers.forEach((name, values) -> integersCopy.put(name, values.clone()));
    return new InputBatch(rows, numericCopy, textCopy, integersCopy);
  }
}
