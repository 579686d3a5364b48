package dev.evergreen.api.pipeline;

import com.fasterxml.jackson.annotation.JsonCreator;
import dev.evergreen.api.validation.Severity;
import java.util.Map;

/**
 * Drift of each feature against the reference snapshot (the first accepted snapshot of the
 * pipeline), and of the whole batch.
 *
 * <p>PSI: the conventional reading is below 0.1 stable, 0.1 to 0.25 moderate shift, above 0.25
 * major shift. The other metrics mark a feature as drifted: in a small sample (at most {@code
 * smallSample} non-null reference values) when the p-value of its test is below the threshold, in a
 * larger one when any of its distances is at or above its threshold. The defaults follow
 * Evidently's drift detection (see docs/validation.md for the sources).
 *
 * @param warning PSI at or above which a warning is recorded, 0.1 by default
 * @param error PSI at or above which the batch is rejected; null (the default) never rejects
 * @param ksPValue Kolmogorov-Smirnov p-value below which a numeric feature drifts, 0.05
 * @param chiSquaredPValue chi-squared p-value below which a categorical feature drifts, 0.05
 * @param wasserstein normalised Wasserstein distance at which a numeric feature drifts, 0.1
 * @param jensenShannon Jensen-Shannon distance at which a feature drifts, 0.1
 * @param lInfinity L-infinity distance at which a categorical feature drifts, 0.1
 * @param smallSample largest reference sample, in non-null values, judged by p-values, 1000
 * @param features per-feature thresholds that replace the ones above
 * @param driftShare share of drifted features at which the batch drifts as a whole, 0.5
 * @param datasetSeverity severity of the batch-level drift anomaly, warning by default
 */
public record DriftSpec(
    Double warning,
    Double error,
    Double ksPValue,
    Double chiSquaredPValue,
    Double wasserstein,
    Double jensenShannon,
    Double lInfinity,
    Integer smallSample,
    Map<String, DriftThresholds> features,
    Double driftShare,
    Severity datasetSeverity) {
  public static final DriftSpec DEFAULT = new DriftSpec(null, null);

  @JsonCreator
  public DriftSpec {
    warning = warning == null ? 0.1 : warning;
    ksPValue = ksPValue == null ? 0.05 : ksPValue;
    chiSquaredPValue = chiSquaredPValue == null ? 0.05 : chiSquaredPValue;
    wasserstein = wasserstein == null ? 0.1 : wasserstein;
    jensenShannon = jensenShannon == null ? 0.1 : jensenShannon;
    lInfinity = lInfinity == null ? 0.1 : lInfinity;
    smallSample = smallSample == null ? 1000 : smallSample;
    features = features == null ? Map.of() : Map.copyOf(features);
    driftShare = driftShare == null ? 0.5 : driftShare;
    datasetSeverity = datasetSeverity == null ? Severity.WARNING : datasetSeverity;
  }

  /** Creates PSI thresholds with the default thresholds of the other metrics. */
  public DriftSpec(Double warning, Double error) {
    this(warning, error, null, null, null, null, null, null, null, null, null);
  }

  /** Returns the thresholds for {@code feature}: its own where set, the defaults otherwise. */
  public DriftThresholds thresholdsFor(String feature) {
    DriftThresholds own = features.get(feature);
    if (own == null) {
      return new DriftThresholds(ksPValue, chiSquaredPValue, wasserstein, jensenShannon, lInfinity);
    }
    return new DriftThresholds(
        own.ksPValue() == null ? ksPValue : own.ksPValue(),
        own.chiSquaredPValue() == null ? chiSquaredPValue : own.chiSquaredPValue(),
        own.wasserstein() == null ? wasserstein : own.wasserstein(),
        own.jensenShannon() == null ? jensenShannon : own.jensenShannon(),
        own.lInfinity() == null ? lInfinity : own.lInfinity());
  }
}
