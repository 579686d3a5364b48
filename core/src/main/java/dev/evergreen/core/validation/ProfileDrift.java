package dev.evergreen.core.validation;

import dev.evergreen.api.pipeline.DriftSpec;
import dev.evergreen.api.pipeline.FeaturesSpec;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.ValidationSpec;
import dev.evergreen.api.validation.DatasetDrift;
import dev.evergreen.core.profile.DatasetProfile;

/**
 * Drift between two {@link DatasetProfile}s for callers outside pipeline runs, such as the
 * comparison of a training snapshot with sampled serving inputs. Features, bins, metrics and
 * verdicts are those of pipeline runs (docs/profiles.md, Drift from profiles).
 */
public final class ProfileDrift {
  private ProfileDrift() {}

  /**
   * Measures every feature of {@code features} present in both profiles with the same type, and
   * judges the dataset by {@code drift}. A feature missing from either profile is left out.
   */
  public static DatasetDrift measure(
      FeaturesSpec features, DriftSpec drift, DatasetProfile reference, DatasetProfile current) {
    // Only the features and the drift thresholds of a pipeline spec are read by the measurement.
    PipelineSpec spec =
        new PipelineSpec(
            "profile-drift",
            null,
            null,
            null,
            features,
            null,
            null,
            new ValidationSpec(null, null, drift),
            null,
            null);
    return PopulationStability.datasetDrift(spec, reference, current);
  }
}
