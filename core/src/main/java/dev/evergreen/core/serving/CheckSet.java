package dev.evergreen.core.serving;

/**
 * Holdout rows with the scores the trainer computed for them. A newly loaded version must reproduce
 * these scores before it takes traffic.
 *
 * @param expected row-major scores, {@code inputs.rows() * outputWidth} values
 */
public record CheckSet(InputBatch inputs, double[] expected) {
  /** Returns a copy, so that no caller can change the scores another caller checks against. */
  public CheckSet copy() {
    return new CheckSet(inputs.copy(), expected.clone());
  }
}
