package dev.evergreen.api.pipeline;

/**
 * A shadow: a share of the requests is also scored by the new version in the background, and the
 * two scores are compared. Callers only ever receive the serving version's scores.
 *
 * @param percent share of requests copied to the shadow, from 0.01 to 100 in steps of 0.01
 * @param tolerance largest absolute difference between two scores that still counts as agreement
 */
public record ShadowSpec(Double percent, Double tolerance) {
  public static final ShadowSpec DEFAULT = new ShadowSpec(null, null);

  public ShadowSpec {
    percent = percent == null ? 100.0 : percent;
    tolerance = tolerance == null ? 1e-6 : tolerance;
  }
}
