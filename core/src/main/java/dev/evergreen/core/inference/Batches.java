package dev.evergreen.core.inference;

import dev.evergreen.core.serving.InputBatch;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Joins input batches into one and splits the scores back. */
final class Batches {
  private Batches() {}

  /**
   * Returns the rows of all batches in order. Every batch must have the same inputs with the same
   * values per row; an input missing from one batch is missing from the result, so the model
   * reports it as it would for that request alone.
   */
  static InputBatch concat(List<InputBatch> batches) {
    if (batches.size() == 1) {
      return batches.get(0);
    }
    int rows = 0;
    for (InputBatch batch : batches) {
      rows += batch.rows();
    }
    InputBatch first = batches.get(0);
    Map<String, double[]> numeric = new HashMap<>();
    for (String name : first.numeric().keySet()) {
      double[] joined = joinNumeric(batches, name);
      if (joined != null) {
        numeric.put(name, joined);
      }
    }
    Map<String, String[]> text = new HashMap<>();
    for (String name : first.text().keySet()) {
      String[] joined = joinText(batches, name);
      if (joined != null) {
        text.put(name, joined);
      }
    }
    Map<String, long[]> integers = new HashMap<>();
    for (InputBatch batch : batches) {
      for (String name : batch.integers().keySet()) {
        if (numeric.containsKey(name) && !integers.containsKey(name)) {
          integers.put(name, joinIntegers(batches, name, numeric.get(name).length));
        }
      }
    }
    return new InputBatch(rows, numeric, text, integers);
  }

  /** Returns whether two batches have the same inputs, so that they can be joined. */
  static boolean joinable(InputBatch a, InputBatch b) {
    if (!a.numeric().keySet().equals(b.numeric().keySet())
        || !a.text().keySet().equals(b.text().keySet())) {
      return false;
    }
    for (Map.Entry<String, double[]> input : a.numeric().entrySet()) {
      if (!sameWidth(
          input.getValue().length, a.rows(), b.numeric().get(input.getKey()).length, b.rows())) {
        return false;
      }
    }
    for (Map.Entry<String, String[]> input : a.text().entrySet()) {
      if (!sameWidth(
          input.getValue().length, a.rows(), b.text().get(input.getKey()).length, b.rows())) {
        return false;
      }
    }
    return true;
  }

  private static boolean sameWidth(int lengthA, int rowsA, int lengthB, int rowsB) {
    // An input of shape [-1, n] contains n values per row.
    return (long) lengthA * rowsB == (long) lengthB * rowsA;
  }

  private static double[] joinNumeric(List<InputBatch> batches, String name) {
    int length = 0;
    for (InputBatch batch : batches) {
      double[] values = batch.numeric().get(name);
      if (values == null) {
        return null;
      }
      length += values.length;
    }
    double[] joined = new double[length];
    int at = 0;
    for (InputBatch batch : batches) {
      double[] values = batch.numeric().get(name);
      System.arraycopy(values, 0, joined, at, values.length);
      at += values.length;
    }
    return joined;
  }

  /**
   * Returns the exact integers of one input across the batches. A batch without them contributes
   * zeros, which count only where the double is zero too, as {@link InputBatch} defines.
   */
  private static long[] joinIntegers(List<InputBatch> batches, String name, int length) {
    long[] joined = new long[length];
    int at = 0;
    for (InputBatch batch : batches) {
      long[] values = batch.integers().get(name);
      if (values != null) {
        System.arraycopy(values, 0, joined, at, values.length);
      }
      at += batch.numeric().get(name).length;
    }
    return joined;
  }

  private static String[] joinText(List<InputBatch> batches, String name) {
    int length = 0;
    for (InputBatch batch : batches) {
      String[] values = batch.text().get(name);
      if (values == null) {
        return null;
      }
      length += values.length;
    }
    String[] joined = new String[length];
    int at = 0;
    for (InputBatch batch : batches) {
      String[] values = batch.text().get(name);
      System.arraycopy(values, 0, joined, at, values.length);
      at += values.length;
    }
    return joined;
  }
}
