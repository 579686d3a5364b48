package dev.evergreen.core.validation;

import dev.evergreen.api.data.Profile;
import dev.evergreen.api.pipeline.ValidationSpec;
import dev.evergreen.core.profile.DatasetProfile;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Inputs of a validation besides the batch and the pipeline.
 *
 * @param environment environment whose {@code validation.environments} exclusions apply
 * @param now the instant {@code maxAge} constraints measure the age of the newest value against
 * @param previousRowCount rows of the previous accepted batch of the pipeline, null when there is
 *     none; {@code maxRowCountChange} is skipped without it
 * @param referenceProfile stored binary profile of the reference snapshot, null when it has none
 * @param currentProfile stored binary profile of the validated snapshot, null when it has none.
 *     Drift is measured from the two profiles when both are present, else from the rows.
 * @param history profiles of the pipeline's recent accepted batches, newest first, for the {@code
 *     validation.history} checks; empty when there are none
 */
public record ValidationContext(
    String environment,
    Instant now,
    Long previousRowCount,
    DatasetProfile referenceProfile,
    DatasetProfile currentProfile,
    List<Profile> history) {
  public ValidationContext {
    Objects.requireNonNull(environment, "environment");
    Objects.requireNonNull(now, "now");
    history = history == null ? List.of() : List.copyOf(history);
  }

  /** Creates a context without stored profiles and without history. */
  public ValidationContext(String environment, Instant now, Long previousRowCount) {
    this(environment, now, previousRowCount, null, null, List.of());
  }

  /** Returns the context of a training batch checked at {@code now} without a previous batch. */
  public static ValidationContext training(Instant now) {
    return new ValidationContext(ValidationSpec.TRAINING, now, null);
  }

  /** Returns a copy with the stored profiles of the reference and the validated snapshot. */
  public ValidationContext withProfiles(DatasetProfile reference, DatasetProfile current) {
    return new ValidationContext(environment, now, previousRowCount, reference, current, history);
  }

  /** Returns a copy with the profiles of recent accepted batches, newest first. */
  public ValidationContext withHistory(List<Profile> recent) {
    return new ValidationContext(
        environment, now, previousRowCount, referenceProfile, currentProfile, recent);
  }
}
