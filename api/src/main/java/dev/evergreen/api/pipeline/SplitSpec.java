package dev.evergreen.api.pipeline;

/**
 * How rows are divided into training and holdout rows.
 *
 * @param method {@code random} (each row drawn with the seed) or {@code time} (the newest rows by
 *     {@code timeColumn} are the holdout)
 * @param holdoutFraction share of rows held out, between 0 and 1 exclusive
 * @param seed seed of the random split
 * @param timeColumn timestamp column of the time split
 */
public record SplitSpec(String method, Double holdoutFraction, Long seed, String timeColumn) {
  public static final SplitSpec DEFAULT = new SplitSpec(null, null, null, null);

  public SplitSpec {
    method = method == null ? "random" : method;
    holdoutFraction = holdoutFraction == null ? 0.2 : holdoutFraction;
    seed = seed == null ? 42L : seed;
  }
}
