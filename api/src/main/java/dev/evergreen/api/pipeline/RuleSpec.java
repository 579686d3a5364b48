package dev.evergreen.api.pipeline;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.evergreen.api.validation.Severity;
import java.time.Duration;
import java.util.List;

/**
 * Constraints on one column, or on the whole batch when {@code column} is null. Every set field is
 * one constraint, checked on its own.
 *
 * <p>Row constraints ({@code notNull}, {@code min}, {@code max}, {@code allowedValues}, {@code
 * pattern}, {@code minLength}, {@code maxLength}, {@code unique}, {@code where} and, on the batch,
 * {@code condition}) judge each row; a null column value fails only {@code notNull}. They pass when
 * the share of rows that satisfy them is at least {@code tolerance}. Column constraints ({@code
 * completeness}, {@code meanBetween}, {@code stddevBetween}, {@code distinctCountBetween}, {@code
 * maxAge}) and batch constraints ({@code rowCountBetween}, {@code maxRowCountChange}) judge one
 * statistic.
 *
 * @param column column name; null for a batch rule, which may set only {@code rowCountBetween},
 *     {@code maxRowCountChange} and {@code condition} besides {@code severity} and {@code
 *     tolerance}
 * @param notNull when true, no value may be null
 * @param min smallest allowed value (numbers)
 * @param max largest allowed value (numbers)
 * @param allowedValues the only allowed values (compared as text)
 * @param severity {@code error} stops the run, {@code warning} is recorded; error by default
 * @param unique when true, no non-null value may occur in more than one row
 * @param pattern regular expression (RE2 syntax, as DuckDB's {@code regexp_full_match}) that every
 *     non-null value, as text, must match in full
 * @param minLength smallest allowed length in characters of a non-null value as text
 * @param maxLength largest allowed length in characters of a non-null value as text
 * @param completeness smallest allowed share of non-null values, from 0 to 1
 * @param meanBetween {@code [lo, hi]}: the mean of the non-null values must lie in it, inclusive
 * @param stddevBetween {@code [lo, hi]}: the sample standard deviation of the non-null values must
 *     lie in it, inclusive
 * @param minInDomain smallest share of rows whose value is null or in {@code allowedValues}; it
 *     replaces {@code tolerance} for {@code allowedValues}
 * @param tolerance smallest share of rows that must satisfy each row constraint, from 0 to 1; 1
 *     (every row) by default
 * @param distinctCountBetween {@code [lo, hi]}: the number of distinct non-null values must lie in
 *     it, inclusive
 * @param where DuckDB SQL boolean expression over the row's columns that every row with a non-null
 *     value in {@code column} must satisfy; a row where it is false or null fails
 * @param maxAge ISO 8601 duration such as {@code PT48H}: the newest value of a timestamp or date
 *     column may be at most this old at the time of the check
 * @param rowCountBetween batch rule: {@code [lo, hi]}, the number of rows must lie in it, inclusive
 * @param maxRowCountChange batch rule: largest allowed relative change of the row count against the
 *     previous accepted batch of the pipeline, {@code |rows - previous| / previous}; 0.5 allows
 *     half to one and a half times the previous count
 * @param condition batch rule: DuckDB SQL boolean expression over the row's columns, such as {@code
 *     arrival >= departure}, that every row must satisfy; a row where it is false or null fails
 */
public record RuleSpec(
    String column,
    Boolean notNull,
    Double min,
    Double max,
    List<String> allowedValues,
    Severity severity,
    Boolean unique,
    String pattern,
    Integer minLength,
    Integer maxLength,
    Double completeness,
    List<Double> meanBetween,
    List<Double> stddevBetween,
    Double minInDomain,
    Double tolerance,
    List<Long> distinctCountBetween,
    String where,
    String maxAge,
    List<Long> rowCountBetween,
    Double maxRowCountChange,
    String condition) {
  @JsonCreator
  public RuleSpec {
    severity = severity == null ? Severity.ERROR : severity;
    allowedValues = allowedValues == null ? null : List.copyOf(allowedValues);
    meanBetween = meanBetween == null ? null : List.copyOf(meanBetween);
    stddevBetween = stddevBetween == null ? null : List.copyOf(stddevBetween);
    distinctCountBetween = distinctCountBetween == null ? null : List.copyOf(distinctCountBetween);
    rowCountBetween = rowCountBetween == null ? null : List.copyOf(rowCountBetween);
    tolerance = tolerance == null ? 1.0 : tolerance;
  }

  /** Creates a rule with only the constraints that existed before the others were added. */
  public RuleSpec(
      String column,
      Boolean notNull,
      Double min,
      Double max,
      List<String> allowedValues,
      Severity severity) {
    this(
        column,
        notNull,
        min,
        max,
        allowedValues,
        severity,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null);
  }

  /** Returns true for a rule on the whole batch rather than on one column. */
  @JsonIgnore
  public boolean isBatchRule() {
    return column == null;
  }

  /**
   * Returns {@code maxAge} as a duration, or null when it is not set.
   *
   * @throws java.time.format.DateTimeParseException when it is not an ISO 8601 duration
   */
  public Duration maxAgeDuration() {
    return maxAge == null ? null : Duration.parse(maxAge);
  }
}
