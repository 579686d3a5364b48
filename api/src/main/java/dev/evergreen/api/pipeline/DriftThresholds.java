package dev.evergreen.api.pipeline;

/**
 * Drift thresholds of one feature; a null field takes the value of {@code validation.drift}.
 *
 * @param ksPValue numeric features in small samples drift when the Kolmogorov-Smirnov p-value is
 *     below this
 * @param chiSquaredPValue categorical features in small samples drift when the chi-squared p-value
 *     is below this
 * @param wasserstein numeric features in large samples drift when the normalised Wasserstein
 *     distance is at least this
 * @param jensenShannon features in large samples drift when the Jensen-Shannon distance is at least
 *     this
 * @param lInfinity categorical features in large samples drift when the L-infinity distance is at
 *     least this
 */
public record DriftThresholds(
    Double ksPValue,
    Double chiSquaredPValue,
    Double wasserstein,
    Double jensenShannon,
    Double lInfinity) {}
