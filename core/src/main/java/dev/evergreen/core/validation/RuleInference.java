package dev.evergreen.core.validation;

import static dev.evergreen.core.data.DuckDb.identifier;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.ColumnProfile;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.data.ValueCount;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.RuleSpec;
import dev.evergreen.api.validation.Severity;
import dev.evergreen.core.data.DuckDb;
import dev.evergreen.core.data.PipelineColumns;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Infers rules from the reference snapshot (the first accepted batch), the constraints a TFDV or
 * Deequ user expects a baseline to suggest. They are conservative, so that later batches of the
 * same source pass them:
 *
 * <ul>
 *   <li>{@code not_null}, error: a required column that has no null in the reference.
 *   <li>{@code min: 0}, error: a numeric feature whose reference minimum is 0 or more. The bound is
 *       0 and not the observed minimum, because a later batch may well hold a smaller positive
 *       value but a negative one means a sign or unit error.
 *   <li>{@code allowed_values}, warning: a string categorical feature with at most {@value
 *       #MAX_ALLOWED_VALUES} distinct values in the reference, listing them all. A new category is
 *       worth a look but should not stop a run, because the model maps unseen values to missing.
 * </ul>
 *
 * No rule is inferred for a column and kind that the pipeline already declares, nor an {@code
 * allowed_values} rule for a column tagged {@code direct_identifier}, whose values are pseudonyms.
 */
public final class RuleInference {
  static final int MAX_ALLOWED_VALUES = 50;

  /** Most distinct values for which {@link #suggest} lists the allowed values. */
  static final int SUGGESTED_VALUES = 20;

  private RuleInference() {}

  /**
   * Infers rules from the reference's profile alone. The profile keeps only the ten most frequent
   * values, so {@code allowed_values} is inferred only for columns whose top values account for
   * every non-null row, that is, at most ten distinct values; {@link #infer(Snapshot, Path,
   * PipelineSpec, int)} reads the Parquet file and applies the limit of {@value
   * #MAX_ALLOWED_VALUES}.
   */
  public static List<RuleSpec> infer(Snapshot reference, PipelineSpec spec) {
    List<RuleSpec> rules = inferFromProfile(reference, spec);
    for (String column : allowedValueCandidates(reference, spec)) {
      ColumnProfile profile = reference.profile().column(column).orElseThrow();
      long covered = profile.topValues().stream().mapToLong(ValueCount::count).sum();
      if (covered == reference.profile().rowCount() - profile.nullCount()) {
        List<String> values = profile.topValues().stream().map(ValueCount::value).sorted().toList();
        rules.add(allowedValues(column, values));
      }
    }
    return rules;
  }

  /**
   * Infers rules from the reference's profile and its Parquet file, which gives the exact distinct
   * values for {@code allowed_values}.
   */
  public static List<RuleSpec> infer(
      Snapshot reference, Path referenceParquet, PipelineSpec spec, int threads) {
    List<RuleSpec> rules = inferFromProfile(reference, spec);
    List<String> candidates = allowedValueCandidates(reference, spec);
    if (candidates.isEmpty()) {
      return rules;
    }
    try (Connection connection = DuckDb.open(threads);
        Statement statement = connection.createStatement()) {
      for (String column : candidates) {
        String name = identifier(column);
        // Reading one value past the limit detects a column with too many values.
        String sql =
            "SELECT DISTINCT "
                + name
                + " FROM read_parquet("
                + DuckDb.path(referenceParquet)
                + ") WHERE "
                + name
                + " IS NOT NULL ORDER BY "
                + name
                + " LIMIT "
                + (MAX_ALLOWED_VALUES + 1);
        List<String> values = new ArrayList<>();
        try (ResultSet result = statement.executeQuery(sql)) {
          while (result.next()) {
            values.add(result.getString(1));
          }
        }
        if (!values.isEmpty() && values.size() <= MAX_ALLOWED_VALUES) {
          rules.add(allowedValues(column, values));
        }
      }
    } catch (SQLException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "DuckDB failed while inferring rules from snapshot "
              + reference.shortId()
              + ": "
              + e.getMessage(),
          e);
    }
    return rules;
  }

  private static List<RuleSpec> inferFromProfile(Snapshot reference, PipelineSpec spec) {
    List<RuleSpec> rules = new ArrayList<>();
    for (String column : PipelineColumns.required(spec)) {
      Optional<ColumnProfile> profile = reference.profile().column(column);
      if (profile.isPresent()
          && profile.get().nullCount() == 0
          && reference.profile().rowCount() > 0
          && !declares(spec, column, "not_null")) {
        rules.add(new RuleSpec(column, true, null, null, null, Severity.ERROR));
      }
    }
    for (String column : spec.features().numeric()) {
      Optional<ColumnProfile> profile = reference.profile().column(column);
      if (profile.isPresent()
          && profile.get().type().isNumeric()
          && isNonNegative(profile.get().min())
          && !declares(spec, column, "min")) {
        rules.add(new RuleSpec(column, null, 0.0, null, null, Severity.ERROR));
      }
    }
    return rules;
  }

  /** Returns true for a number of 0 or more; false for null, NaN and text DuckDB wrote as inf. */
  private static boolean isNonNegative(String min) {
    if (min == null) {
      return false;
    }
    try {
      return Double.parseDouble(min) >= 0;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  /** Returns the string categorical features that may get an {@code allowed_values} rule. */
  private static List<String> allowedValueCandidates(Snapshot reference, PipelineSpec spec) {
    List<String> columns = new ArrayList<>();
    for (String column : spec.features().categorical()) {
      Optional<ColumnProfile> profile = reference.profile().column(column);
      // The HyperLogLog estimate only screens out columns with far too many values; the exact
      // count comes from the top values or the Parquet file.
      if (profile.isPresent()
          && profile.get().type() == ColumnType.STRING
          && profile.get().approxDistinct() <= 2L * MAX_ALLOWED_VALUES
          && !PipelineColumns.isDirectIdentifier(spec, column)
          && !declares(spec, column, "allowed_values")) {
        columns.add(column);
      }
    }
    return columns;
  }

  private static RuleSpec allowedValues(String column, List<String> values) {
    return new RuleSpec(column, null, null, null, values, Severity.WARNING);
  }

  /**
   * Returns true when the pipeline declares a rule of this kind ({@code not_null}, {@code min},
   * {@code max} or {@code allowed_values}) on the column.
   */
  static boolean declares(PipelineSpec spec, String column, String kind) {
    return spec.validation().rules().stream()
        .filter(rule -> column.equals(rule.column()))
        .anyMatch(
            rule ->
                switch (kind) {
                  case "not_null" -> Boolean.TRUE.equals(rule.notNull());
                  case "min" -> rule.min() != null;
                  case "max" -> rule.max() != null;
                  case "allowed_values" -> rule.allowedValues() != null;
                  default -> false;
                });
  }

  /**
   * One suggested constraint field for a constraints file.
   *
   * @param field the {@link RuleSpec} field, such as {@code notNull} or {@code allowedValues}
   * @param value its value: a Boolean, Number or list of strings
   * @param reason the statistic it came from, such as {@code completeness 1.0 over 512,117 rows}
   */
  public record Suggestion(
      String column, Severity severity, String field, Object value, String reason) {}

  /**
   * Suggests constraints for every column of a batch from exact statistics of its Parquet file,
   * chosen so that the batch they came from passes them:
   *
   * <ul>
   *   <li>{@code notNull}, error: no null value.
   *   <li>{@code completeness}, error: some nulls; the observed share rounded down to two decimals.
   *   <li>{@code min: 0}, error: a numeric column whose minimum is 0 or more.
   *   <li>{@code unique}, error: an integer or string column whose values are all distinct and
   *       non-null, in more than one row.
   *   <li>{@code allowedValues}, warning: a string column with at most {@value #SUGGESTED_VALUES}
   *       distinct values.
   * </ul>
   */
  public static List<Suggestion> suggest(Snapshot batch, Path parquet, int threads) {
    long rows = batch.profile().rowCount();
    List<Suggestion> suggestions = new ArrayList<>();
    try (Connection connection = DuckDb.open(threads);
        Statement statement = connection.createStatement()) {
      for (dev.evergreen.api.data.Column column : batch.schema().columns()) {
        String name = identifier(column.name());
        String sql =
            "SELECT count("
                + name
                + "), count(DISTINCT "
                + name
                + "), "
                + (column.type().isNumeric() ? "CAST(min(" + name + ") AS DOUBLE)" : "NULL")
                + " FROM read_parquet("
                + DuckDb.path(parquet)
                + ")";
        long nonNull;
        long distinct;
        Double min;
        try (ResultSet result = statement.executeQuery(sql)) {
          result.next();
          nonNull = result.getLong(1);
          distinct = result.getLong(2);
          min = result.getObject(3) == null ? null : result.getDouble(3);
        }
        suggestColumn(column, rows, nonNull, distinct, min, suggestions);
        if (column.type() == ColumnType.STRING && distinct > 0 && distinct <= SUGGESTED_VALUES) {
          List<String> values = new ArrayList<>();
          try (ResultSet result =
              statement.executeQuery(
                  "SELECT DISTINCT "
                      + name
                      + " FROM read_parquet("
                      + DuckDb.path(parquet)
                      + ") WHERE "
                      + name
                      + " IS NOT NULL ORDER BY "
                      + name)) {
            while (result.next()) {
              values.add(result.getString(1));
            }
          }
          suggestions.add(
              new Suggestion(
                  column.name(),
                  Severity.WARNING,
                  "allowedValues",
                  values,
                  distinct + " distinct values over " + count(nonNull) + " non-null rows"));
        }
      }
    } catch (SQLException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "DuckDB failed while profiling " + batch.source() + ": " + e.getMessage(),
          e);
    }
    return suggestions;
  }

  private static void suggestColumn(
      dev.evergreen.api.data.Column column,
      long rows,
      long nonNull,
      long distinct,
      Double min,
      List<Suggestion> suggestions) {
    String name = column.name();
    if (rows > 0 && nonNull == rows) {
      suggestions.add(
          new Suggestion(
              name,
              Severity.ERROR,
              "notNull",
              true,
              "completeness 1.0 over " + count(rows) + " rows"));
    } else if (rows > 0 && nonNull > 0) {
      double completeness = (double) nonNull / rows;
      double floor = Math.floor(completeness * 100) / 100;
      if (floor > 0) {
        suggestions.add(
            new Suggestion(
                name,
                Severity.ERROR,
                "completeness",
                floor,
                "completeness "
                    + String.format(Locale.ROOT, "%.4f", completeness)
                    + " over "
                    + count(rows)
                    + " rows"));
      }
    }
    if (min != null && min >= 0) {
      suggestions.add(
          new Suggestion(
              name,
              Severity.ERROR,
              "min",
              0,
              "minimum " + Validator.format(min) + " over " + count(nonNull) + " non-null rows"));
    }
    boolean keyType = column.type() == ColumnType.INTEGER || column.type() == ColumnType.STRING;
    if (keyType && rows > 1 && nonNull == rows && distinct == rows) {
      suggestions.add(
          new Suggestion(
              name,
              Severity.ERROR,
              "unique",
              true,
              count(distinct) + " distinct values in " + count(rows) + " rows"));
    }
  }

  /** Formats a count with thousands separators: 512,117. */
  static String count(long value) {
    return String.format(Locale.ROOT, "%,d", value);
  }
}
