package dev.evergreen.api.validation;

import java.util.List;

/**
 * One violated constraint.
 *
 * @param column column the rule applies to, or {@code *} for the whole batch
 * @param rule rule name, such as {@code not_null}, {@code min}, {@code type} or {@code psi}
 * @param expected the rule's limit as text
 * @param observed what the batch showed: a count, a value or a statistic
 * @param exampleRows up to five 1-based row numbers of failing rows, header not counted
 */
public record Anomaly(
    String column,
    String rule,
    Severity severity,
    String expected,
    String observed,
    long failingRows,
    List<Long> exampleRows) {
  public Anomaly {
    exampleRows = List.copyOf(exampleRows);
  }

  /** Returns one line for logs and terminal output. */
  public String describe() {
    String rows = exampleRows.isEmpty() ? "" : ", example rows " + exampleRows;
    return severity.text()
        + ": column '"
        + column
        + "' rule "
        + rule
        + " expected "
        + expected
        + ", observed "
        + observed
        + (failingRows > 0 ? " in " + failingRows + " rows" : "")
        + rows;
  }
}
