package dev.evergreen.api.validation;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * The result of one constraint on one batch, passed or not.
 *
 * @param name constraint name, such as {@code not_null}, {@code where} or {@code row_count}
 * @param column checked column, or {@code *} for a constraint on the whole batch
 * @param expected the constraint's limit as text
 * @param observed what the batch showed, as text
 * @param value the observed statistic as a number where there is one (minimum, mean, row count, age
 *     in seconds, relative change), else null
 * @param failingRows rows that break a row constraint; null for other constraints
 * @param failingShare {@code failingRows} divided by the batch's rows, from 0 to 1; null for other
 *     constraints
 * @param examples up to five failing rows, first in file order; empty when none or not a row
 *     constraint
 */
@JsonPropertyOrder({
  "name",
  "column",
  "severity",
  "status",
  "expected",
  "observed",
  "value",
  "failingRows",
  "failingShare",
  "examples"
})
public record ConstraintResult(
    String name,
    String column,
    Severity severity,
    ConstraintStatus status,
    String expected,
    String observed,
    Double value,
    Long failingRows,
    Double failingShare,
    List<ExampleRow> examples) {
  public ConstraintResult {
    examples = examples == null ? List.of() : List.copyOf(examples);
  }

  public boolean failed() {
    return status == ConstraintStatus.FAILED;
  }

  /** Returns this result as an anomaly, the form the run's validation report stores. */
  public Anomaly toAnomaly() {
    return new Anomaly(
        column,
        name,
        severity,
        expected,
        observed,
        failingRows == null ? 0 : failingRows,
        examples.stream().map(ExampleRow::row).toList(),
        failingShare);
  }
}
