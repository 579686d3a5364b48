package dev.evergreen.api.validation;

import java.util.List;

/**
 * Drift verdict of a whole batch: it drifts when the share of drifted features reaches {@code
 * threshold}.
 *
 * @param features drift per feature
 * @param drifted features marked as drifted, in the order of {@code features}
 * @param share drifted features divided by all features, 0 without features
 * @param threshold share at or above which the batch drifts ({@code validation.drift.driftShare})
 * @param datasetDrifted true when {@code share >= threshold} and at least one feature drifted
 */
public record DatasetDrift(
    List<FeatureDrift> features,
    List<String> drifted,
    double share,
    double threshold,
    boolean datasetDrifted) {
  public DatasetDrift {
    features = List.copyOf(features);
    drifted = List.copyOf(drifted);
  }

  /** Judges {@code features} against {@code threshold}. */
  public static DatasetDrift of(List<FeatureDrift> features, double threshold) {
    List<String> drifted =
        features.stream().filter(FeatureDrift::drifted).map(FeatureDrift::feature).toList();
    double share = features.isEmpty() ? 0.0 : (double) drifted.size() / features.size();
    return new DatasetDrift(
        features, drifted, share, threshold, !drifted.isEmpty() && share >= threshold);
  }
}
