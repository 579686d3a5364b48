package dev.evergreen.api.validation;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;

/**
 * Every constraint's result on one batch: the JSON document of {@code evergreen validate --json}.
 * The fields are documented in docs/pipeline.md; new fields may be added, but none is renamed or
 * removed while {@code format} stays 1.
 *
 * @param format version of this document's layout, 1
 * @param verdict {@code accepted} unless a constraint of severity error failed, then {@code
 *     rejected}
 * @param data the validated file
 * @param environment the environment whose exclusions applied
 * @param rows rows in the batch
 * @param checkedAt the instant, in ISO 8601 UTC, that age constraints were measured against
 * @param errors failed constraints of severity error
 * @param warnings failed constraints of severity warning
 * @param constraints every constraint, failed ones first, then in the order they are declared
 */
@JsonPropertyOrder({
  "format",
  "verdict",
  "data",
  "environment",
  "rows",
  "checkedAt",
  "errors",
  "warnings",
  "constraints"
})
public record ValidationResult(
    int format,
    String verdict,
    String data,
    String environment,
    long rows,
    String checkedAt,
    int errors,
    int warnings,
    List<ConstraintResult> constraints) {
  public static final int FORMAT = 1;
  public static final String ACCEPTED = "accepted";
  public static final String REJECTED = "rejected";

  public ValidationResult {
    constraints = List.copyOf(constraints);
  }

  /** Builds a result from constraints in declaration order; failed ones are moved first. */
  public static ValidationResult of(
      String data, String environment, long rows, Instant checkedAt, List<ConstraintResult> all) {
    List<ConstraintResult> ordered =
        all.stream().sorted(Comparator.comparing(r -> r.failed() ? 0 : 1)).toList();
    int errors = count(all, Severity.ERROR);
    int warnings = count(all, Severity.WARNING);
    return new ValidationResult(
        FORMAT,
        errors == 0 ? ACCEPTED : REJECTED,
        data,
        environment,
        rows,
        checkedAt.toString(),
        errors,
        warnings,
        ordered);
  }

  @JsonIgnore
  public boolean accepted() {
    return errors == 0;
  }

  private static int count(List<ConstraintResult> results, Severity severity) {
    return (int) results.stream().filter(r -> r.failed() && r.severity() == severity).count();
  }
}
