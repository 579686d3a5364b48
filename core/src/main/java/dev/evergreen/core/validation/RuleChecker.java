package dev.evergreen.core.validation;

import static dev.evergreen.core.data.DuckDb.identifier;
import static dev.evergreen.core.data.DuckDb.literal;
import static dev.evergreen.core.validation.Validator.format;
import static dev.evergreen.core.validation.Validator.formatShare;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Column;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.Schema;
import dev.evergreen.api.pipeline.RuleSpec;
import dev.evergreen.api.validation.ConstraintResult;
import dev.evergreen.api.validation.ConstraintStatus;
import dev.evergreen.api.validation.ExampleRow;
import dev.evergreen.core.data.ColumnTypes;
import dev.evergreen.core.data.DuckDb;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Checks the rules of {@code validation.rules} on one table with DuckDB SQL, and returns one {@link
 * ConstraintResult} per constraint, passed or not. The table's {@code rowid + 1} is the 1-based row
 * number in the batch file's order, because snapshots store rows in file order and DuckDB keeps
 * insertion order when it loads them.
 */
final class RuleChecker {
  static final int EXAMPLE_ROWS = 5;
  static final String BATCH = "*";

  private static final int LISTED_VALUES = 10;

  /** Double-quoted identifiers, single-quoted strings (skipped) and bare words of SQL text. */
  private static final Pattern SQL_TOKEN =
      Pattern.compile("\"((?:[^\"]|\"\")*)\"|'(?:[^']|'')*'|([A-Za-z_][A-Za-z0-9_]*)");

  private final Connection connection;
  private final String table;
  private final Schema schema;
  private final ValidationContext context;
  private final long rows;

  /** Results of {@link #single} queries computed ahead by {@link #prefetch}, keyed by SQL text. */
  private final Map<String, String> prefetched = new HashMap<>();

  RuleChecker(Connection connection, String table, Schema schema, ValidationContext context)
      throws SQLException {
    this.connection = connection;
    this.table = table;
    this.schema = schema;
    this.context = context;
    this.rows = Long.parseLong(single("SELECT count(*) FROM " + table));
  }

  long rows() {
    return rows;
  }

  /** Checks every constraint of {@code rule}, in the order of {@link #constraintNames}. */
  List<ConstraintResult> check(RuleSpec rule, Set<String> missingRequired) throws SQLException {
    if (rule.isBatchRule()) {
      return checkBatch(rule);
    }
    Optional<Column> found = schema.column(rule.column());
    if (found.isEmpty()) {
      // A missing required column is already one failed "type" constraint.
      boolean reported = missingRequired.contains(rule.column());
      return constraintNames(rule).stream()
          .map(
              name ->
                  result(
                      rule,
                      name,
                      reported ? ConstraintStatus.SKIPPED : ConstraintStatus.FAILED,
                      "column missing",
                      null))
          .toList();
    }

    Column column = found.get();
    List<ConstraintResult> results = new ArrayList<>();
    String name = identifier(column.name());
    String text = ColumnTypes.text(name, column.type());

    if (Boolean.TRUE.equals(rule.notNull())) {
      String condition = nullCondition(column);
      long failing = count(condition);
      results.add(
          rowResult(rule, "not_null", rule.tolerance(), failing, failing + " nulls", condition));
    }
    if (rule.min() != null) {
      results.add(checkBound(rule, column, "min", "<", rule.min()));
    }
    if (rule.max() != null) {
      results.add(checkBound(rule, column, "max", ">", rule.max()));
    }
    if (rule.allowedValues() != null) {
      results.add(checkAllowedValues(rule, column));
    }
    if (Boolean.TRUE.equals(rule.unique())) {
      results.add(checkUnique(rule, column));
    }
    if (rule.pattern() != null) {
      results.add(checkPattern(rule, column));
    }
    if (rule.minLength() != null) {
      String condition = name + " IS NOT NULL AND length(" + text + ") < " + rule.minLength();
      results.add(checkLength(rule, "min_length", "min", condition, text));
    }
    if (rule.maxLength() != null) {
      String condition = name + " IS NOT NULL AND length(" + text + ") > " + rule.maxLength();
      results.add(checkLength(rule, "max_length", "max", condition, text));
    }

    if (rule.completeness() != null) {
      results.add(checkCompleteness(rule, column));
    }
    if (rule.meanBetween() != null) {
      results.add(checkStatistic(rule, column, "mean_between", "avg", rule.meanBetween()));
    }
    if (rule.stddevBetween() != null) {
      results.add(
          checkStatistic(rule, column, "stddev_between", "stddev_samp", rule.stddevBetween()));
    }
    if (rule.distinctCountBetween() != null) {
      results.add(checkDistinctCount(rule, column));
    }
    if (rule.where() != null) {
      results.add(checkWhere(rule, column));
    }
    if (rule.maxAge() != null) {
      results.add(checkMaxAge(rule, column));
    }
    return results;
  }

  private List<ConstraintResult> checkBatch(RuleSpec rule) throws SQLException {
    List<ConstraintResult> results = new ArrayList<>();
    if (rule.rowCountBetween() != null) {
      List<Long> range = rule.rowCountBetween();
      boolean passed = rows >= range.get(0) && rows <= range.get(1);
      results.add(result(rule, "row_count", status(passed), rows + " rows", (double) rows));
    }
    if (rule.maxRowCountChange() != null) {
      results.add(checkRowCountChange(rule));
    }
    if (rule.condition() != null) {
      String unknown = checkExpression(rule, "condition", rule.condition());
      if (unknown != null) {
        results.add(result(rule, "condition", ConstraintStatus.FAILED, unknown, null));
        return results;
      }
      String condition = rule.condition();
      String failing = conditionFailing(condition);
      long count = count(failing);
      results.add(
          rowResult(
              rule,
              "condition",
              rule.tolerance(),
              count,
              count + " rows where it is false or null",
              failing,
              referencedColumns(condition)));
    }
    return results;
  }

  private ConstraintResult checkRowCountChange(RuleSpec rule) {
    Long previous = context.previousRowCount();
    if (previous == null) {
      return result(rule, "row_count_change", ConstraintStatus.SKIPPED, "no previous batch", null);
    }
    double change =
        previous == 0
            ? (rows == 0 ? 0 : Double.POSITIVE_INFINITY)
            : Math.abs(rows - previous) / (double) previous;
    String observed =
        rows + " rows against " + previous + " before, a change of " + formatShare(change);
    if (Double.isInfinite(change)) {
      observed = rows + " rows against 0 before";
    }
    return result(
        rule,
        "row_count_change",
        status(change <= rule.maxRowCountChange()),
        observed,
        Double.isInfinite(change) ? null : change);
  }

  private ConstraintResult checkBound(
      RuleSpec rule, Column column, String ruleName, String violates, double limit)
      throws SQLException {
    if (!column.type().isNumeric()) {
      return notNumeric(rule, column, ruleName);
    }
    String condition = boundCondition(column, violates, limit);
    long failing = count(condition);
    String observed = single(aggregateQuery(boundAggregate(column, ruleName)));
    ConstraintResult result =
        rowResult(rule, ruleName, rule.tolerance(), failing, ruleName + " " + observed, condition);
    return withValue(result, observed);
  }

  private ConstraintResult notNumeric(RuleSpec rule, Column column, String ruleName) {
    return result(
        rule,
        ruleName,
        ConstraintStatus.FAILED,
        "type " + ColumnTypes.specName(column.type()) + ", not a number",
        null);
  }

  private ConstraintResult checkAllowedValues(RuleSpec rule, Column column) throws SQLException {
    String name = identifier(column.name());
    String text = ColumnTypes.text(name, column.type());
    String condition = allowedValuesCondition(rule, column);
    long failing = count(condition);
    double share = rule.minInDomain() != null ? rule.minInDomain() : rule.tolerance();
    if (failing == 0) {
      return rowResult(rule, "allowed_values", share, 0, "no other values", condition);
    }

    // The most frequent values outside the list, for the observed text.
    List<String> values = new ArrayList<>();
    long distinct = 0;
    String sql =
        "SELECT "
            + text
            + " AS v, count(*) OVER () AS distinct_values FROM "
            + table
            + " WHERE "
            + condition
            + " GROUP BY "
            + name
            + " ORDER BY count(*) DESC, "
            + name
            + " LIMIT "
            + EXAMPLE_ROWS;
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
      while (result.next()) {
        values.add("'" + result.getString(1) + "'");
        distinct = result.getLong(2);
      }
    }

    String observed =
        (values.size() == 1 ? "value " : "values ")
            + String.join(", ", values)
            + (distinct > values.size() ? " and " + (distinct - values.size()) + " more" : "");
    return rowResult(rule, "allowed_values", share, failing, observed, condition);
  }

  /** Fails the rows whose non-null value occurs in another row too. */
  private ConstraintResult checkUnique(RuleSpec rule, Column column) throws SQLException {
    String name = identifier(column.name());
    String repeatedValues =
        "SELECT "
            + name
            + " FROM "
            + table
            + " WHERE "
            + name
            + " IS NOT NULL GROUP BY "
            + name
            + " HAVING count(*) > 1";
    String condition = name + " IN (" + repeatedValues + ")";
    long failing = count(condition);
    String repeated = single("SELECT count(*) FROM (" + repeatedValues + ")");
    return rowResult(
        rule,
        "unique",
        rule.tolerance(),
        failing,
        repeated + " values occur in more than one row",
        condition);
  }

  private ConstraintResult checkPattern(RuleSpec rule, Column column) throws SQLException {
    String name = identifier(column.name());
    String text = ColumnTypes.text(name, column.type());
    String condition = patternCondition(rule, column);
    long failing;
    try {
      failing = count(condition);
    } catch (SQLException e) {
      throw EvergreenException.invalid(
          "validation rule on column '"
              + rule.column()
              + "': pattern '"
              + rule.pattern()
              + "' is not a valid RE2 regular expression: "
              + Validator.firstLine(e.getMessage())
              + ". Correct the pattern.");
    }
    if (failing == 0) {
      return rowResult(rule, "pattern", rule.tolerance(), 0, "every value matches", condition);
    }
    String example =
        single(
            "SELECT "
                + text
                + " FROM "
                + table
                + " WHERE "
                + condition
                + " ORDER BY rowid LIMIT 1");
    return rowResult(
        rule,
        "pattern",
        rule.tolerance(),
        failing,
        "value '" + shorten(example) + "' and others that do not match",
        condition);
  }

  private ConstraintResult checkLength(
      RuleSpec rule, String ruleName, String aggregate, String condition, String text)
      throws SQLException {
    long failing = count(condition);
    String observed = single("SELECT " + aggregate + "(length(" + text + ")) FROM " + table);
    ConstraintResult result =
        rowResult(
            rule,
            ruleName,
            rule.tolerance(),
            failing,
            aggregate + " length " + observed,
            condition);
    return withValue(result, observed);
  }

  private ConstraintResult checkCompleteness(RuleSpec rule, Column column) throws SQLException {
    String condition = nullCondition(column);
    long nulls = count(condition);
    double completeness = rows == 0 ? 1 : (double) (rows - nulls) / rows;
    boolean passed = rows == 0 || completeness >= rule.completeness();
    String observed = "completeness " + formatShare(completeness) + " (" + nulls + " nulls)";
    ConstraintResult result = rowResult(rule, "completeness", 0, nulls, observed, condition);
    return withStatus(result, status(passed), completeness);
  }

  /** Checks that a column statistic, {@code avg} or {@code stddev_samp}, lies in {@code range}. */
  private ConstraintResult checkStatistic(
      RuleSpec rule, Column column, String ruleName, String aggregate, List<Double> range)
      throws SQLException {
    if (!column.type().isNumeric()) {
      return notNumeric(rule, column, ruleName);
    }
    String value = single(aggregateQuery(statisticAggregate(column, aggregate)));
    String statistic = ruleName.equals("mean_between") ? "mean" : "stddev";
    if (value == null) {
      return result(
          rule,
          ruleName,
          ConstraintStatus.FAILED,
          "no " + statistic + ": too few non-null values",
          null);
    }
    double observed = Double.parseDouble(value);
    boolean passed = observed >= range.get(0) && observed <= range.get(1);
    return result(rule, ruleName, status(passed), statistic + " " + format(observed), observed);
  }

  private ConstraintResult checkDistinctCount(RuleSpec rule, Column column) throws SQLException {
    long distinct = Long.parseLong(single(aggregateQuery(distinctAggregate(column))));
    List<Long> range = rule.distinctCountBetween();
    boolean passed = distinct >= range.get(0) && distinct <= range.get(1);
    return result(
        rule, "distinct_count", status(passed), distinct + " distinct values", (double) distinct);
  }

  private ConstraintResult checkWhere(RuleSpec rule, Column column) throws SQLException {
    String unknown = checkExpression(rule, "where", rule.where());
    if (unknown != null) {
      return result(rule, "where", ConstraintStatus.FAILED, unknown, null);
    }
    String expression = rule.where();
    String condition =
        identifier(column.name()) + " IS NOT NULL AND NOT coalesce((" + expression + "), false)";
    long failing = count(condition);
    Set<String> exampleColumns = new LinkedHashSet<>();
    exampleColumns.add(column.name());
    exampleColumns.addAll(referencedColumns(expression));
    return rowResult(
        rule,
        "where",
        rule.tolerance(),
        failing,
        failing + " rows where it is false or null",
        condition,
        List.copyOf(exampleColumns));
  }

  /** Checks the age of the newest value against the context's clock; a date is its midnight UTC. */
  private ConstraintResult checkMaxAge(RuleSpec rule, Column column) throws SQLException {
    if (column.type() != ColumnType.TIMESTAMP && column.type() != ColumnType.DATE) {
      return result(
          rule,
          "max_age",
          ConstraintStatus.FAILED,
          "type " + ColumnTypes.specName(column.type()) + ", not a timestamp or date",
          null);
    }
    String name = identifier(column.name());
    // epoch_ms reads a TIMESTAMP without time zone as UTC, independent of the JVM's time zone.
    String newest = single("SELECT epoch_ms(CAST(max(" + name + ") AS TIMESTAMP)) FROM " + table);
    if (newest == null) {
      return result(rule, "max_age", ConstraintStatus.FAILED, "no non-null values", null);
    }
    Instant newestInstant = Instant.ofEpochMilli(Long.parseLong(newest));
    Duration age = Duration.between(newestInstant, context.now());
    boolean passed = age.compareTo(rule.maxAgeDuration()) <= 0;
    String observed =
        "newest "
            + newestInstant
            + ", age "
            + age.truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    return result(rule, "max_age", status(passed), observed, age.toMillis() / 1000.0);
  }

  /**
   * Checks that {@code expression} is one boolean SQL expression over the table's columns: no
   * {@code ;}, parentheses that never close the surrounding one, and a prepared {@code SELECT
   * count(*) FROM table WHERE (expression)} whose expression has type BOOLEAN. Returns null when it
   * is, or DuckDB's message when it names a column the batch lacks, which fails the constraint.
   *
   * @throws EvergreenException for any other problem, which is an error in the rule
   */
  // NOTE: the expression may call any DuckDB function, including ones that read files, because
  // pipeline and constraints files are trusted. Nothing here limits it to the batch's columns.
  private String checkExpression(RuleSpec rule, String field, String expression) {
    String where =
        (rule.isBatchRule() ? "batch rule" : "validation rule on column '" + rule.column() + "'")
            + ": "
            + field
            + " '"
            + expression
            + "'";
    if (expression.contains(";") || !balanced(expression)) {
      throw EvergreenException.invalid(
          where + " is not a single SQL expression; remove ';' and unbalanced parentheses.");
    }
    try (PreparedStatement count =
            connection.prepareStatement(
                "SELECT count(*) FROM " + table + " WHERE (" + expression + ")");
        PreparedStatement value =
            connection.prepareStatement("SELECT (" + expression + ") FROM " + table)) {
      int type = value.getMetaData().getColumnType(1);
      if (type != Types.BOOLEAN) {
        throw EvergreenException.invalid(
            where
                + " has type "
                + value.getMetaData().getColumnTypeName(1)
                + ", not BOOLEAN. Write a comparison such as delay > -120.");
      }
      count.getMetaData();
      return null;
    } catch (SQLException e) {
      String message = Validator.firstLine(e.getMessage());
      if (message.contains("Referenced column") && message.contains("not found")) {
        return message.replaceFirst("^Binder Error: ", "");
      }
      throw EvergreenException.invalid(
          where
              + " is not a valid SQL expression over the batch's columns "
              + schema.names()
              + ": "
              + message);
    }
  }

  /**
   * Returns true when no parenthesis outside quotes closes one it did not open, so that the
   * expression cannot end the parentheses it is wrapped in.
   */
  static boolean balanced(String expression) {
    int depth = 0;
    char quote = 0;
    for (char c : expression.toCharArray()) {
      if (quote != 0) {
        quote = c == quote ? 0 : quote;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '(') {
        depth++;
      } else if (c == ')' && --depth < 0) {
        return false;
      }
    }
    return depth == 0 && quote == 0;
  }

  /** Returns the table's columns that {@code expression} names, in the order it names them. */
  List<String> referencedColumns(String expression) {
    return namesIn(expression, schema.names());
  }

  /**
   * Returns the {@code names} that {@code expression} uses as identifiers, in the order it uses
   * them. Bare words match without regard to case, as DuckDB matches unquoted identifiers, and text
   * in single quotes is skipped.
   */
  static List<String> namesIn(String expression, List<String> names) {
    Set<String> found = new LinkedHashSet<>();
    Matcher matcher = SQL_TOKEN.matcher(expression);
    while (matcher.find()) {
      if (matcher.group(1) != null) {
        String quoted = matcher.group(1).replace("\"\"", "\"");
        if (names.contains(quoted)) {
          found.add(quoted);
        }
      } else if (matcher.group(2) != null) {
        String word = matcher.group(2);
        names.stream()
            .filter(name -> name.equalsIgnoreCase(word))
            .findFirst()
            .ifPresent(found::add);
      }
    }
    return List.copyOf(found);
  }

  /** Returns the names of the constraints a rule sets, in the order {@link #check} runs them. */
  static List<String> constraintNames(RuleSpec rule) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("not_null", Boolean.TRUE.equals(rule.notNull()) ? true : null);
    fields.put("min", rule.min());
    fields.put("max", rule.max());
    fields.put("allowed_values", rule.allowedValues());
    fields.put("unique", Boolean.TRUE.equals(rule.unique()) ? true : null);
    fields.put("pattern", rule.pattern());
    fields.put("min_length", rule.minLength());
    fields.put("max_length", rule.maxLength());
    fields.put("completeness", rule.completeness());
    fields.put("mean_between", rule.meanBetween());
    fields.put("stddev_between", rule.stddevBetween());
    fields.put("distinct_count", rule.distinctCountBetween());
    fields.put("where", rule.where());
    fields.put("max_age", rule.maxAge());
    fields.put("row_count", rule.rowCountBetween());
    fields.put("row_count_change", rule.maxRowCountChange());
    fields.put("condition", rule.condition());
    return fields.entrySet().stream()
        .filter(e -> e.getValue() != null)
        .map(Map.Entry::getKey)
        .toList();
  }

  /** Returns the constraint's limit as text, with the share of rows when it tolerates failures. */
  static String expected(RuleSpec rule, String ruleName) {
    String limit =
        switch (ruleName) {
          case "not_null" -> "no nulls";
          case "min" -> ">= " + format(rule.min());
          case "max" -> "<= " + format(rule.max());
          case "allowed_values" -> allowedList(rule.allowedValues());
          case "unique" -> "distinct values";
          case "pattern" -> "matches '" + rule.pattern() + "'";
          case "min_length" -> "length >= " + rule.minLength();
          case "max_length" -> "length <= " + rule.maxLength();
          case "completeness" -> "completeness >= " + format(rule.completeness());
          case "mean_between" -> "mean in " + range(rule.meanBetween());
          case "stddev_between" -> "stddev in " + range(rule.stddevBetween());
          case "distinct_count" -> "distinct values in " + rule.distinctCountBetween();
          case "where" -> rule.where();
          case "max_age" -> "newest value at most " + rule.maxAge() + " old";
          case "row_count" -> "rows in " + rule.rowCountBetween();
          case "row_count_change" ->
              "row count within "
                  + formatShare(rule.maxRowCountChange())
                  + " of the previous batch";
          case "condition" -> rule.condition();
          default -> throw new IllegalArgumentException("unknown constraint " + ruleName);
        };
    double share =
        ruleName.equals("allowed_values") && rule.minInDomain() != null
            ? rule.minInDomain()
            : rule.tolerance();
    return isRowConstraint(ruleName) && share < 1
        ? limit + " in at least " + formatShare(share) + " of rows"
        : limit;
  }

  private static boolean isRowConstraint(String ruleName) {
    return Set.of(
            "not_null",
            "min",
            "max",
            "allowed_values",
            "unique",
            "pattern",
            "min_length",
            "max_length",
            "where",
            "condition")
        .contains(ruleName);
  }

  private ConstraintResult rowResult(
      RuleSpec rule, String ruleName, double share, long failing, String observed, String condition)
      throws SQLException {
    List<String> exampleColumns = rule.isBatchRule() ? List.of() : List.of(rule.column());
    return rowResult(rule, ruleName, share, failing, observed, condition, exampleColumns);
  }

  /**
   * Builds the result of a row constraint that {@code failing} rows break, with up to {@value
   * #EXAMPLE_ROWS} of them and the values of the {@code exampleColumns} columns.
   */
  private ConstraintResult rowResult(
      RuleSpec rule,
      String ruleName,
      double share,
      long failing,
      String observed,
      String condition,
      List<String> exampleColumns)
      throws SQLException {
    boolean passed = Validator.passes(failing, rows, share);
    List<ExampleRow> examples = failing == 0 ? List.of() : examples(condition, exampleColumns);
    return new ConstraintResult(
        ruleName,
        rule.isBatchRule() ? BATCH : rule.column(),
        rule.severity(),
        status(passed),
        expected(rule, ruleName),
        observed,
        null,
        failing,
        rows == 0 ? 0.0 : (double) failing / rows,
        examples);
  }

  private List<ExampleRow> examples(String condition, List<String> exampleColumns)
      throws SQLException {
    List<Column> columns =
        exampleColumns.stream().map(name -> schema.column(name).orElseThrow()).toList();
    StringBuilder sql = new StringBuilder("SELECT rowid + 1 AS row_number");
    for (Column column : columns) {
      sql.append(", ").append(ColumnTypes.text(identifier(column.name()), column.type()));
    }
    sql.append(" FROM ")
        .append(table)
        .append(" WHERE ")
        .append(condition)
        .append(" ORDER BY rowid LIMIT ")
        .append(EXAMPLE_ROWS);
    List<ExampleRow> examples = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql.toString())) {
      while (result.next()) {
        Map<String, Object> values = new LinkedHashMap<>();
        for (int i = 0; i < columns.size(); i++) {
          values.put(columns.get(i).name(), jsonValue(columns.get(i), result.getString(i + 2)));
        }
        examples.add(new ExampleRow(result.getLong(1), values));
      }
    }
    return examples;
  }

  /** Converts a value rendered as text back to the JSON type of its column. */
  private static Object jsonValue(Column column, String text) {
    if (text == null) {
      return null;
    }
    return switch (column.type()) {
      case INTEGER -> Long.parseLong(text);
      case DOUBLE -> parseDouble(text);
      case BOOLEAN -> Boolean.parseBoolean(text);
      default -> shorten(text);
    };
  }

  /** Returns a finite double, or the text DuckDB wrote for NaN and infinities, which JSON lacks. */
  private static Object parseDouble(String text) {
    try {
      double value = Double.parseDouble(text);
      return Double.isFinite(value) ? value : text;
    } catch (NumberFormatException e) {
      return text.toLowerCase(Locale.ROOT);
    }
  }

  private ConstraintResult result(
      RuleSpec rule, String ruleName, ConstraintStatus status, String observed, Double value) {
    return new ConstraintResult(
        ruleName,
        rule.isBatchRule() ? BATCH : rule.column(),
        rule.severity(),
        status,
        expected(rule, ruleName),
        observed,
        value,
        null,
        null,
        List.of());
  }

  private static ConstraintResult withValue(ConstraintResult result, String number) {
    Double value = null;
    if (number != null) {
      try {
        value = Double.parseDouble(number);
      } catch (NumberFormatException notNumber) {
        value = null;
      }
    }
    return withStatus(result, result.status(), value);
  }

  private static ConstraintResult withStatus(
      ConstraintResult result, ConstraintStatus status, Double value) {
    return new ConstraintResult(
        result.name(),
        result.column(),
        result.severity(),
        status,
        result.expected(),
        result.observed(),
        value != null && Double.isFinite(value) ? value : null,
        result.failingRows(),
        result.failingShare(),
        result.examples());
  }

  private static ConstraintStatus status(boolean passed) {
    return passed ? ConstraintStatus.PASSED : ConstraintStatus.FAILED;
  }

  private static String range(List<Double> range) {
    return "[" + format(range.get(0)) + ", " + format(range.get(1)) + "]";
  }

  private static String allowedList(List<String> values) {
    if (values.isEmpty()) {
      return "no values";
    }
    String listed =
        values.stream()
            .limit(LISTED_VALUES)
            .map(v -> "'" + v + "'")
            .collect(Collectors.joining(", ", "one of ", ""));
    return values.size() > LISTED_VALUES
        ? listed + " and " + (values.size() - LISTED_VALUES) + " more"
        : listed;
  }

  private static String shorten(String value) {
    return value != null && value.length() > 80 ? value.substring(0, 80) + "..." : value;
  }

  /**
   * Computes in one scan of the table the row counts and column aggregates that {@link #check}
   * queries for {@code rules}, so that those calls read them from memory instead of scanning the
   * table once each. Rules with {@code where}, length or {@code unique} constraints are still
   * checked with queries of their own. When the combined query fails, as with an invalid pattern,
   * nothing is kept, and each check runs its own query and reports its own error.
   */
  void prefetch(List<RuleSpec> rules) {
    Map<String, String> queries = new LinkedHashMap<>();
    for (RuleSpec rule : rules) {
      String condition = rule.condition();
      // Only an expression that checkExpression would accept joins the combined query, so that
      // the query stays one SELECT; a bad one fails in its own check with its own message.
      if (condition != null && !condition.contains(";") && balanced(condition)) {
        addCount(queries, conditionFailing(condition));
      }
      Optional<Column> found = rule.isBatchRule() ? Optional.empty() : schema.column(rule.column());
      if (found.isEmpty()) {
        continue;
      }
      Column column = found.get();
      boolean numeric = column.type().isNumeric();
      if (Boolean.TRUE.equals(rule.notNull()) || rule.completeness() != null) {
        addCount(queries, nullCondition(column));
      }
      if (rule.min() != null && numeric) {
        addCount(queries, boundCondition(column, "<", rule.min()));
        addAggregate(queries, boundAggregate(column, "min"));
      }
      if (rule.max() != null && numeric) {
        addCount(queries, boundCondition(column, ">", rule.max()));
        addAggregate(queries, boundAggregate(column, "max"));
      }
      if (rule.allowedValues() != null) {
        addCount(queries, allowedValuesCondition(rule, column));
      }
      if (rule.pattern() != null) {
        addCount(queries, patternCondition(rule, column));
      }
      if (rule.meanBetween() != null && numeric) {
        addAggregate(queries, statisticAggregate(column, "avg"));
      }
      if (rule.stddevBetween() != null && numeric) {
        addAggregate(queries, statisticAggregate(column, "stddev_samp"));
      }
      if (rule.distinctCountBetween() != null) {
        addAggregate(queries, distinctAggregate(column));
      }
    }
    if (queries.size() < 2) {
      return;
    }
    // Each expression has the type of the query it replaces, so getString returns the same text.
    String sql = "SELECT " + String.join(", ", queries.values()) + " FROM " + table;
    Map<String, String> values = new HashMap<>();
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
      result.next();
      int index = 1;
      for (String key : queries.keySet()) {
        values.put(key, result.getString(index++));
      }
    } catch (SQLException e) {
      // The checks run their own queries, which report the error with the rule that caused it.
      return;
    }
    prefetched.putAll(values);
  }

  /** Returns the SQL condition of the rows that fail a {@code condition} rule. */
  private static String conditionFailing(String condition) {
    return "NOT coalesce((" + condition + "), false)";
  }

  private void addCount(Map<String, String> queries, String condition) {
    queries.put(countQuery(condition), "count(*) FILTER (WHERE " + condition + ")");
  }

  private void addAggregate(Map<String, String> queries, String aggregate) {
    queries.put(aggregateQuery(aggregate), aggregate);
  }

  private String countQuery(String condition) {
    return "SELECT count(*) FROM " + table + " WHERE " + condition;
  }

  private String aggregateQuery(String aggregate) {
    return "SELECT " + aggregate + " FROM " + table;
  }

  private static String nullCondition(Column column) {
    return identifier(column.name()) + " IS NULL";
  }

  private static String boundCondition(Column column, String violates, double limit) {
    return identifier(column.name())
        + " "
        + violates
        + " CAST("
        + literal(Double.toString(limit))
        + " AS DOUBLE)";
  }

  /** Returns {@code min} or {@code max} of a numeric column as text. */
  private static String boundAggregate(Column column, String aggregate) {
    return "CAST(" + aggregate + "(" + identifier(column.name()) + ") AS VARCHAR)";
  }

  private static String allowedValuesCondition(RuleSpec rule, Column column) {
    String name = identifier(column.name());
    String text = ColumnTypes.text(name, column.type());
    return rule.allowedValues().isEmpty()
        ? name + " IS NOT NULL"
        : name
            + " IS NOT NULL AND "
            + text
            + " NOT IN ("
            + rule.allowedValues().stream().map(DuckDb::literal).collect(Collectors.joining(", "))
            + ")";
  }

  private static String patternCondition(RuleSpec rule, Column column) {
    String name = identifier(column.name());
    return name
        + " IS NOT NULL AND NOT regexp_full_match("
        + ColumnTypes.text(name, column.type())
        + ", "
        + literal(rule.pattern())
        + ")";
  }

  /** Returns {@code avg} or {@code stddev_samp} of a numeric column as a double. */
  private static String statisticAggregate(Column column, String aggregate) {
    return aggregate + "(CAST(" + identifier(column.name()) + " AS DOUBLE))";
  }

  private static String distinctAggregate(Column column) {
    return "count(DISTINCT " + identifier(column.name()) + ")";
  }

  private long count(String condition) throws SQLException {
    return Long.parseLong(single(countQuery(condition)));
  }

  private String single(String sql) throws SQLException {
    if (prefetched.containsKey(sql)) {
      return prefetched.get(sql);
    }
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
      result.next();
      return result.getString(1);
    }
  }
}
