package dev.evergreen.api.validation;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;

/**
 * One violated constraint.
 *
 * @param column column the rule applies to, or {@code *} for the whole batch
 * @param rule rule name, such as {@code not_null}, {@code min}, {@code type} or {@code psi}
 * @param expected the rule's limit as text
 * @param observed what the batch showed: a count, a value or a statistic
 * @param failingRows rows that break a row constraint; 0 for other constraints
 * @param exampleRows up to five 1-based row numbers of failing rows, header not counted
 * @param failingShare {@code failingRows} divided by the batch's rows, from 0 to 1. It is null for
 *     other constraints and in reports stored before it was recorded.
 */
public record Anomaly(
    String column,
    String rule,
    Severity severity,
    String expected,
    String observed,
    long failingRows,
    List<Long> exampleRows,
    Double failingShare) {
  @JsonCreator
  public Anomaly {
    exampleRows = List.copyOf(exampleRows);
  }

  /** Creates an anomaly without the share of failing rows. */
  public Anomaly(
      String column,
      String rule,
      Severity severity,
      String expected,
      String observed,
      long failingRows,
      List<Long> exampleRows) {
    this(column, rule, severity, expected, observed, failingRows, exampleRows, null);
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
        + (failingRows > 0 ? " (" + failingRowsText(failingRows, failingShare) + ")" : "")
        + rows;
  }

  /**
   * Formats a count of failing rows and their share of the batch, such as {@code 286 failing rows,
   * 14.3%}, the wording that run reports and {@code evergreen validate} share. The share has at
   * most four decimals and is left out when {@code failingShare} is null.
   */
  public static String failingRowsText(long failingRows, Double failingShare) {
    String count = failingRows + (failingRows == 1 ? " failing row" : " failing rows");
    if (failingShare == null || failingShare.isNaN()) {
      return count;
    }
    BigDecimal percent =
        BigDecimal.valueOf(failingShare * 100)
            .setScale(4, RoundingMode.HALF_UP)
            .stripTrailingZeros();
    if (failingRows > 0 && percent.signum() == 0) {
      return count + ", < 0.0001%";
    }
    return count + ", " + percent.toPlainString() + "%";
  }
}
