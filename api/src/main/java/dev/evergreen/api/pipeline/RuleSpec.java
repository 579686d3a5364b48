package dev.evergreen.api.pipeline;

import com.fasterxml.jackson.annotation.JsonCreator;
import dev.evergreen.api.validation.Severity;
import java.util.List;

/**
 * Constraints on one column. Every set field is one constraint, checked on its own.
 *
 * <p>Row constraints ({@code notNull}, {@code min}, {@code max}, {@code allowedValues}, {@code
 * pattern}, {@code minLength}, {@code maxLength}, {@code unique}) judge each row; a null value
 * fails only {@code notNull}. They pass when the share of rows that satisfy them is at least {@code
 * tolerance}. Column constraints ({@code completeness}, {@code meanBetween}, {@code stddevBetween})
 * judge one statistic of the column.
 *
 * @param column column name
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
    Double tolerance) {
  @JsonCreator
  public RuleSpec {
    severity = severity == null ? Severity.ERROR : severity;
    allowedValues = allowedValues == null ? null : List.copyOf(allowedValues);
    meanBetween = meanBetween == null ? null : List.copyOf(meanBetween);
    stddevBetween = stddevBetween == null ? null : List.copyOf(stddevBetween);
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
        null);
  }
}
