package dev.evergreen.core.validation;

import dev.evergreen.api.pipeline.ValidationSpec;
import java.time.Instant;
import java.util.Objects;

/**
 * Inputs of a validation besides the batch and the pipeline.
 *
 * @param environment environment whose {@code validation.environments} exclusions apply
 * @param now the instant {@code maxAge} constraints measure the age of the newest value against
 * @param previousRowCount rows of the previous accepted batch of the pipeline, null when there is
 *     none; {@code maxRowCountChange} is skipped without it
 */
public record ValidationContext(String environment, Instant now, Long previousRowCount) {
  public ValidationContext {
    Objects.requireNonNull(environment, "environment");
    Objects.requireNonNull(now, "now");
  }

  /** Returns the context of a training batch checked at {@code now} without a previous batch. */
  public static ValidationContext training(Instant now) {
    return new ValidationContext(ValidationSpec.TRAINING, now, null);
  }
}
