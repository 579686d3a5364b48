package dev.evergreen.core.validation;

import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.api.validation.ValidationResult;

/**
 * Both forms of one validation.
 *
 * @param report the failed constraints and the drift, as a run stores them
 * @param result every constraint with its status, as {@code evergreen validate --json} writes it
 */
public record ValidationOutcome(ValidationReport report, ValidationResult result) {}
