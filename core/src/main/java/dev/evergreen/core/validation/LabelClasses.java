package dev.evergreen.core.validation;

import static dev.evergreen.core.data.DuckDb.identifier;

import dev.evergreen.api.data.Column;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.validation.ConstraintResult;
import dev.evergreen.api.validation.ConstraintStatus;
import dev.evergreen.api.validation.ExampleRow;
import dev.evergreen.api.validation.Severity;
import dev.evergreen.core.data.ColumnTypes;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The label values that the pipeline's objective can train on, checked during validation so that a
 * batch with other labels is rejected before training. Only {@code binary:logistic} without {@code
 * label.greaterThan} restricts them, to 0 and 1. {@code multi:softprob} takes its classes from the
 * batch's distinct labels, and {@code reg:squarederror} and {@code label.greaterThan} take any
 * number. Null and NaN labels are never checked, because training drops those rows.
 */
public final class LabelClasses {
  /** Constraint name of the label check in reports. */
  public static final String RULE = "label_classes";

  private static final List<Double> BINARY = List.of(0.0, 1.0);

  private LabelClasses() {}

  /** Returns the allowed label values of {@code spec}, empty when its objective takes any value. */
  public static Optional<List<Double>> of(PipelineSpec spec) {
    if (spec.label() == null || spec.trainer() == null || spec.label().greaterThan() != null) {
      return Optional.empty();
    }
    String objective = spec.trainer().objective();
    return objective != null && objective.startsWith("binary:")
        ? Optional.of(BINARY)
        : Optional.empty();
  }

  /** Returns true when {@code value}, a label read as a number, is one of {@code classes}. */
  public static boolean allows(List<Double> classes, double value) {
    return classes.contains(value);
  }

  /** Returns the expected text of the check, such as {@code one of 0, 1 (the classes of ...)}. */
  public static String expected(String objective, List<Double> classes) {
    List<String> values = classes.stream().map(LabelClasses::format).toList();
    return "one of " + String.join(", ", values) + " (the classes of " + objective + ")";
  }

  /** Formats a label read as a number as it is usually written: 2, not 2.0. */
  public static String format(double value) {
    return Validator.format(value);
  }

  /**
   * Returns the result of the label check on {@code table}, whose {@code rowid + 1} is the 1-based
   * row number, or empty when the objective takes any label or the label column is missing or
   * excluded. The observed text names the batch file, the first failing row and the failing values
   * as the file wrote them, so an integer 2 reads {@code 2} and a double 2.0 reads {@code 2} too.
   */
  static Optional<ConstraintResult> check(
      Connection connection,
      String table,
      Snapshot current,
      PipelineSpec spec,
      Set<String> excluded)
      throws SQLException {
    Optional<List<Double>> classes = of(spec);
    if (classes.isEmpty() || excluded.contains(spec.label().column())) {
      return Optional.empty();
    }
    Optional<Column> found = current.schema().column(spec.label().column());
    if (found.isEmpty()) {
      // The schema check already fails the missing label column.
      return Optional.empty();
    }
    Column column = found.get();
    String expected = expected(spec.trainer().objective(), classes.get());
    String number = number(column);
    if (number == null) {
      return Optional.of(
          result(
              column,
              ConstraintStatus.FAILED,
              expected,
              "type " + ColumnTypes.specName(column.type()) + ", not a number",
              null,
              null,
              List.of()));
    }
    String name = identifier(column.name());
    String allowed =
        String.join(", ", classes.get().stream().map(c -> "CAST(" + c + " AS DOUBLE)").toList());
    // A text label that is not a number fails too, because training reads labels as numbers.
    String failing =
        name
            + " IS NOT NULL AND NOT coalesce(isnan("
            + number
            + "), false) AND coalesce("
            + number
            + " NOT IN ("
            + allowed
            + "), true)";
    long rows;
    long failingRows;
    long distinct;
    try (Statement statement = connection.createStatement();
        ResultSet result =
            statement.executeQuery(
                "SELECT count(*), count(*) FILTER (WHERE "
                    + failing
                    + "), count(DISTINCT "
                    + name
                    + ") FILTER (WHERE "
                    + failing
                    + ") FROM "
                    + table)) {
      result.next();
      rows = result.getLong(1);
      failingRows = result.getLong(2);
      distinct = result.getLong(3);
    }
    if (failingRows == 0) {
      return Optional.of(
          result(column, ConstraintStatus.PASSED, expected, "no other values", 0L, 0.0, List.of()));
    }
    List<ExampleRow> examples = examples(connection, table, column, failing);
    List<String> values = failingValues(connection, table, column, failing);
    String observed =
        (values.size() == 1 ? "value " : "values ")
            + String.join(", ", values)
            + (distinct > values.size() ? " and " + (distinct - values.size()) + " more" : "")
            + ", first in row "
            + examples.get(0).row()
            + " of "
            + current.source();
    return Optional.of(
        result(
            column,
            ConstraintStatus.FAILED,
            expected,
            observed,
            failingRows,
            (double) failingRows / rows,
            examples));
  }

  /** Returns the label as a DOUBLE expression, or null for a type that is not a number. */
  private static String number(Column column) {
    String name = identifier(column.name());
    return switch (column.type()) {
      case INTEGER, DOUBLE, BOOLEAN -> "CAST(" + name + " AS DOUBLE)";
      case STRING -> "TRY_CAST(" + name + " AS DOUBLE)";
      default -> null;
    };
  }

  /** Returns up to {@value RuleChecker#EXAMPLE_ROWS} failing rows, first in file order. */
  private static List<ExampleRow> examples(
      Connection connection, String table, Column column, String failing) throws SQLException {
    String sql =
        "SELECT rowid + 1, "
            + ColumnTypes.text(identifier(column.name()), column.type())
            + " FROM "
            + table
            + " WHERE "
            + failing
            + " ORDER BY rowid LIMIT "
            + RuleChecker.EXAMPLE_ROWS;
    List<ExampleRow> examples = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
      while (result.next()) {
        examples.add(
            new ExampleRow(
                result.getLong(1), Map.of(column.name(), jsonValue(column, result.getString(2)))));
      }
    }
    return examples;
  }

  /**
   * Returns up to {@value RuleChecker#EXAMPLE_ROWS} distinct failing values, most frequent first.
   */
  private static List<String> failingValues(
      Connection connection, String table, Column column, String failing) throws SQLException {
    String name = identifier(column.name());
    String sql =
        "SELECT "
            + ColumnTypes.text(name, column.type())
            + " FROM "
            + table
            + " WHERE "
            + failing
            + " GROUP BY "
            + name
            + " ORDER BY count(*) DESC, min(rowid) LIMIT "
            + RuleChecker.EXAMPLE_ROWS;
    List<String> values = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
      while (result.next()) {
        values.add(written(column, result.getString(1)));
      }
    }
    return values;
  }

  /**
   * Returns a label as the file wrote it: an integer as its digits, a double without a trailing
   * {@code .0}, and text in single quotes.
   */
  private static String written(Column column, String text) {
    return switch (column.type()) {
      case DOUBLE -> isFinite(text) ? Validator.format(Double.parseDouble(text)) : text;
      case STRING -> "'" + text + "'";
      default -> text;
    };
  }

  /** Returns a label as the JSON value of an example row. */
  private static Object jsonValue(Column column, String text) {
    return switch (column.type()) {
      case INTEGER -> Long.parseLong(text);
      case DOUBLE -> isFinite(text) ? Double.parseDouble(text) : text;
      default -> text;
    };
  }

  /**
   * Returns true for DuckDB's text of a finite double, and false for {@code inf} and {@code -inf}.
   */
  private static boolean isFinite(String text) {
    try {
      return Double.isFinite(Double.parseDouble(text));
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static ConstraintResult result(
      Column column,
      ConstraintStatus status,
      String expected,
      String observed,
      Long failingRows,
      Double failingShare,
      List<ExampleRow> examples) {
    return new ConstraintResult(
        RULE,
        column.name(),
        Severity.ERROR,
        status,
        expected,
        observed,
        null,
        failingRows,
        failingShare,
        examples);
  }
}
