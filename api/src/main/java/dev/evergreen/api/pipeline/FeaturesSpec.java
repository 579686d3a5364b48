package dev.evergreen.api.pipeline;

import java.util.List;

/**
 * Inputs of the model, in the order the model sees them.
 *
 * @param numeric columns used as numbers
 * @param categorical columns whose values are mapped to integer codes learned from the training
 *     rows; values unseen in training become missing
 * @param derived features computed from other columns
 * @param allowPersonalData tagged columns that may still be features; a tagged column not listed
 *     here is rejected when the pipeline is loaded
 */
public record FeaturesSpec(
    List<String> numeric,
    List<String> categorical,
    List<DerivedFeature> derived,
    List<String> allowPersonalData) {
  public FeaturesSpec {
    numeric = numeric == null ? List.of() : List.copyOf(numeric);
    categorical = categorical == null ? List.of() : List.copyOf(categorical);
    derived = derived == null ? List.of() : List.copyOf(derived);
    allowPersonalData = allowPersonalData == null ? List.of() : List.copyOf(allowPersonalData);
  }
}
