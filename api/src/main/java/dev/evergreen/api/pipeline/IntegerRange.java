package dev.evergreen.api.pipeline;

/**
 * Inclusive bounds of an integer setting, shared by the checks of pipeline files and of HTTP
 * requests so that both name the same range.
 */
public record IntegerRange(int min, int max) {
  public IntegerRange {
    if (min > max) {
      throw new IllegalArgumentException("min " + min + " is greater than max " + max);
    }
  }

  /** Returns the range from {@code min} to the largest {@code int}. */
  public static IntegerRange atLeast(int min) {
    return new IntegerRange(min, Integer.MAX_VALUE);
  }

  public boolean contains(int value) {
    return value >= min && value <= max;
  }

  /**
   * Describes the range as "between 1 and 3600", or as "at least 1" or "0 or more" when it has no
   * upper bound.
   */
  public String describe() {
    if (max != Integer.MAX_VALUE) {
      return "between " + min + " and " + max;
    }
    return min == 0 ? "0 or more" : "at least " + min;
  }
}
