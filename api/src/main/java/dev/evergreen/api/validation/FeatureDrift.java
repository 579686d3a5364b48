package dev.evergreen.api.validation;

import com.fasterxml.jackson.annotation.JsonCreator;

/**
 * Drift of one feature between the reference and the current snapshot. Metrics that do not apply to
 * the feature's kind are null, and so are all but {@code psi} in reports stored before they were
 * added.
 *
 * @param psi population stability index
 * @param kind {@code numeric} or {@code categorical}
 * @param ks Kolmogorov-Smirnov statistic, the largest distance between the two empirical CDFs
 *     (numeric)
 * @param ksPValue asymptotic p-value of the two-sample Kolmogorov-Smirnov test (numeric)
 * @param wasserstein Wasserstein-1 distance divided by the reference's standard deviation (numeric)
 * @param jensenShannon Jensen-Shannon distance (natural logarithm) over the PSI bins
 * @param lInfinity largest difference of a bin's share between the two snapshots (categorical)
 * @param chiSquaredPValue p-value of the chi-squared test of homogeneity over the bins
 *     (categorical)
 * @param drifted true when the thresholds of {@code validation.drift} mark the feature as drifted
 */
public record FeatureDrift(
    String feature,
    double psi,
    String kind,
    Double ks,
    Double ksPValue,
    Double wasserstein,
    Double jensenShannon,
    Double lInfinity,
    Double chiSquaredPValue,
    boolean drifted) {
  @JsonCreator
  public FeatureDrift {}

  /** Creates a record with only the PSI. */
  public FeatureDrift(String feature, double psi) {
    this(feature, psi, null, null, null, null, null, null, null, false);
  }
}
