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
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Struct;
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

  /** Example rows computed ahead by {@link #prefetch}, keyed by the text of their own query. */
  private final Map<String, List<ExampleRow>> prefetchedExamples = new HashMap<>();

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
      String condition = lengthCondition(column, "<", rule.minLength());
      results.add(checkLength(rule, "min_length", "min", condition, text));
    }
    if (rule.maxLength() != null) {
      String condition = lengthCondition(column, ">", rule.maxLength());
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
    String example = single(firstValueQuery(text, condition));
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
    String observed = single(aggregateQuery(lengthAggregate(aggregate, text)));
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
    String condition = whereFailing(column, expression);
    long failing = count(condition);
    return rowResult(
        rule,
        "where",
        rule.tolerance(),
        failing,
        failing + " rows where it is false or null",
        condition,
        whereExampleColumns(column, expression));
  }

  /** Returns the SQL condition of the rows that fail a {@code where} rule on {@code column}. */
  private static String whereFailing(Column column, String expression) {
    return identifier(column.name()) + " IS NOT NULL AND NOT coalesce((" + expression + "), false)";
  }

  /** Returns the columns shown in example rows of a {@code where} rule. */
  private List<String> whereExampleColumns(Column column, String expression) {
    Set<String> exampleColumns = new LinkedHashSet<>();
    exampleColumns.add(column.name());
    exampleColumns.addAll(referencedColumns(expression));
    return List.copyOf(exampleColumns);
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
    String newest = single(aggregateQuery(newestAggregate(column)));
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
    List<Column> columns = columns(exampleColumns);
    String sql = exampleQuery(condition, columns);
    if (prefetchedExamples.containsKey(sql)) {
      return prefetchedExamples.get(sql);
    }
    List<ExampleRow> examples = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
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

  private List<Column> columns(List<String> names) {
    return names.stream().map(name -> schema.column(name).orElseThrow()).toList();
  }

  /** Returns the query of the first {@value #EXAMPLE_ROWS} rows that meet {@code condition}. */
  private String exampleQuery(String condition, List<Column> columns) {
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
    return sql.toString();
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
   * Computes ahead what {@link #check} queries for {@code rules}, so that those calls read it from
   * memory instead of scanning the table once per query. One scan computes the failing-row counts
   * and column aggregates of every constraint except {@code unique}. When some of those counts are
   * not 0, a second query reads only the rows that fail and takes the example rows of every failing
   * constraint and the first value that breaks a {@code pattern}. {@code unique} and the values
   * listed for a failing {@code allowedValues} still take queries of their own. When a combined
   * query fails, as with an invalid pattern, nothing of it is kept, and each check runs its own
   * query and reports its own error.
   */
  void prefetch(List<RuleSpec> rules) {
    Map<String, String> queries = new LinkedHashMap<>();
    Map<String, RowConstraint> rowConstraints = new LinkedHashMap<>();
    Map<String, RowConstraint> firstValues = new LinkedHashMap<>();
    for (RuleSpec rule : rules) {
      String condition = rule.condition();
      // Only an expression that checkExpression would accept joins the combined query, so that
      // the query stays one SELECT; a bad one fails in its own check with its own message.
      if (condition != null && isBooleanExpression(condition)) {
        String failing = conditionFailing(condition);
        addCount(queries, failing);
        addRowConstraint(rowConstraints, failing, referencedColumns(condition));
      }
      Optional<Column> found = rule.isBatchRule() ? Optional.empty() : schema.column(rule.column());
      if (found.isEmpty()) {
        continue;
      }
      Column column = found.get();
      List<String> own = List.of(column.name());
      boolean numeric = column.type().isNumeric();
      String text = ColumnTypes.text(identifier(column.name()), column.type());
      if (Boolean.TRUE.equals(rule.notNull()) || rule.completeness() != null) {
        addCount(queries, nullCondition(column));
        addRowConstraint(rowConstraints, nullCondition(column), own);
      }
      if (rule.min() != null && numeric) {
        addCount(queries, boundCondition(column, "<", rule.min()));
        addAggregate(queries, boundAggregate(column, "min"));
        addRowConstraint(rowConstraints, boundCondition(column, "<", rule.min()), own);
      }
      if (rule.max() != null && numeric) {
        addCount(queries, boundCondition(column, ">", rule.max()));
        addAggregate(queries, boundAggregate(column, "max"));
        addRowConstraint(rowConstraints, boundCondition(column, ">", rule.max()), own);
      }
      if (rule.allowedValues() != null) {
        addCount(queries, allowedValuesCondition(rule, column));
        addRowConstraint(rowConstraints, allowedValuesCondition(rule, column), own);
      }
      if (rule.pattern() != null) {
        String failing = patternCondition(rule, column);
        addCount(queries, failing);
        addRowConstraint(rowConstraints, failing, own);
        firstValues.put(firstValueQuery(text, failing), new RowConstraint(failing, columns(own)));
      }
      if (rule.minLength() != null) {
        addCount(queries, lengthCondition(column, "<", rule.minLength()));
        addAggregate(queries, lengthAggregate("min", text));
        addRowConstraint(rowConstraints, lengthCondition(column, "<", rule.minLength()), own);
      }
      if (rule.maxLength() != null) {
        addCount(queries, lengthCondition(column, ">", rule.maxLength()));
        addAggregate(queries, lengthAggregate("max", text));
        addRowConstraint(rowConstraints, lengthCondition(column, ">", rule.maxLength()), own);
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
      if (rule.where() != null && isBooleanExpression(rule.where())) {
        String failing = whereFailing(column, rule.where());
        addCount(queries, failing);
        addRowConstraint(rowConstraints, failing, whereExampleColumns(column, rule.where()));
      }
      if (rule.maxAge() != null
          && (column.type() == ColumnType.TIMESTAMP || column.type() == ColumnType.DATE)) {
        addAggregate(queries, newestAggregate(column));
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
    prefetchFailingRows(rowConstraints, firstValues);
  }

  /** Returns how many single values {@link #prefetch} stored. */
  int prefetchedValues() {
    return prefetched.size();
  }

  /** Returns how many lists of example rows {@link #prefetch} stored. */
  int prefetchedExampleLists() {
    return prefetchedExamples.size();
  }

  /** A row constraint's SQL condition of failing rows and the columns its example rows show. */
  private record RowConstraint(String condition, List<Column> columns) {}

  private void addRowConstraint(
      Map<String, RowConstraint> constraints, String condition, List<String> exampleColumns) {
    List<Column> columns = columns(exampleColumns);
    constraints.put(exampleQuery(condition, columns), new RowConstraint(condition, columns));
  }

  /**
   * Fetches, in one query over the rows that fail any of them, the example rows of the {@code
   * rowConstraints} and the first values of the {@code firstValues} whose prefetched count is not
   * 0. Both maps are keyed by the query that each result replaces.
   */
  private void prefetchFailingRows(
      Map<String, RowConstraint> rowConstraints, Map<String, RowConstraint> firstValues) {
    Map<String, RowConstraint> failingExamples = failing(rowConstraints);
    Map<String, RowConstraint> failingFirstValues = failing(firstValues);
    if (failingExamples.isEmpty()) {
      return;
    }
    List<String> aggregates = new ArrayList<>();
    Set<String> conditions = new LinkedHashSet<>();
    for (RowConstraint constraint : failingExamples.values()) {
      StringBuilder fields = new StringBuilder("rowid + 1");
      for (Column column : constraint.columns()) {
        fields.append(", ").append(ColumnTypes.text(identifier(column.name()), column.type()));
      }
      // arg_min with a count returns the values of the rows with the smallest rowid, in rowid
      // order. A struct keeps rows whose example values are null, which arg_min would skip.
      aggregates.add(
          "arg_min(row("
              + fields
              + "), rowid, "
              + EXAMPLE_ROWS
              + ") FILTER (WHERE "
              + constraint.condition()
              + ")");
      conditions.add("(" + constraint.condition() + ")");
    }
    for (RowConstraint constraint : failingFirstValues.values()) {
      Column column = constraint.columns().get(0);
      String text = ColumnTypes.text(identifier(column.name()), column.type());
      aggregates.add("arg_min(" + text + ", rowid) FILTER (WHERE " + constraint.condition() + ")");
      conditions.add("(" + constraint.condition() + ")");
    }
    String sql =
        "SELECT "
            + String.join(", ", aggregates)
            + " FROM "
            + table
            + " WHERE "
            + String.join(" OR ", conditions);
    Map<String, List<ExampleRow>> examples = new HashMap<>();
    Map<String, String> values = new HashMap<>();
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
      result.next();
      int index = 1;
      for (Map.Entry<String, RowConstraint> entry : failingExamples.entrySet()) {
        examples.put(entry.getKey(), exampleRows(result.getArray(index++), entry.getValue()));
      }
      for (String key : failingFirstValues.keySet()) {
        values.put(key, result.getString(index++));
      }
    } catch (SQLException e) {
      // The checks fetch their example rows with queries of their own.
      return;
    }
    prefetchedExamples.putAll(examples);
    prefetched.putAll(values);
  }

  /** Returns the entries whose condition's prefetched failing-row count is more than 0. */
  private Map<String, RowConstraint> failing(Map<String, RowConstraint> constraints) {
    Map<String, RowConstraint> failing = new LinkedHashMap<>();
    constraints.forEach(
        (key, constraint) -> {
          String count = prefetched.get(countQuery(constraint.condition()));
          if (count != null && Long.parseLong(count) > 0) {
            failing.put(key, constraint);
          }
        });
    return failing;
  }

  /** Converts the list of structs that an example aggregate returns into example rows. */
  private static List<ExampleRow> exampleRows(Array array, RowConstraint constraint)
      throws SQLException {
    List<ExampleRow> examples = new ArrayList<>();
    if (array == null) {
      return examples;
    }
    for (Object item : (Object[]) array.getArray()) {
      Object[] fields = ((Struct) item).getAttributes();
      Map<String, Object> values = new LinkedHashMap<>();
      List<Column> columns = constraint.columns();
      for (int i = 0; i < columns.size(); i++) {
        Object text = fields[i + 1];
        values.put(
            columns.get(i).name(),
            jsonValue(columns.get(i), text == null ? null : text.toString()));
      }
      examples.add(new ExampleRow(((Number) fields[0]).longValue(), values));
    }
    return examples;
  }

  /**
   * Returns true when {@code expression} is one SQL expression of type BOOLEAN over the table, as
   * {@link #checkExpression} requires, without raising an error when it is not.
   */
  private boolean isBooleanExpression(String expression) {
    if (expression.contains(";") || !balanced(expression)) {
      return false;
    }
    try (PreparedStatement value =
        connection.prepareStatement("SELECT (" + expression + ") FROM " + table)) {
      return value.getMetaData().getColumnType(1) == Types.BOOLEAN;
    } catch (SQLException e) {
      return false;
    }
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

  /**
   * Returns the SQL condition of the rows whose value, as text, is not one of the allowed values.
   *
   * <p>It uses {@code list_contains} instead of {@code NOT IN} because that was faster with DuckDB
   * 1.5.6 on the 10,000,000 rows of bench/run-validate.sh: 0.04 to 0.06 s against 0.23 to 0.55 s
   * with 12 allowed values, and 0.12 s against 24 s with 500. An integer column is compared as
   * numbers, which avoids casting every row to text. The text of an integer is its canonical
   * decimal form, so an allowed value that is not canonical, such as {@code 07}, matches no row and
   * is left out.
   */
  private static String allowedValuesCondition(RuleSpec rule, Column column) {
    String name = identifier(column.name());
    String notNull = name + " IS NOT NULL";
    if (rule.allowedValues().isEmpty()) {
      return notNull;
    }
    if (column.type() == ColumnType.INTEGER) {
      List<String> numbers =
          rule.allowedValues().stream().filter(RuleChecker::isCanonicalInteger).toList();
      if (numbers.isEmpty()) {
        return notNull;
      }
      return notNull
          + " AND NOT list_contains(CAST(["
          + String.join(", ", numbers)
          + "] AS BIGINT[]), "
          + name
          + ")";
    }
    return notNull
        + " AND NOT list_contains(["
        + rule.allowedValues().stream().map(DuckDb::literal).collect(Collectors.joining(", "))
        + "], "
        + ColumnTypes.text(name, column.type())
        + ")";
  }

  /** Returns true for the text that DuckDB writes for some BIGINT, such as {@code -7}. */
  static boolean isCanonicalInteger(String value) {
    try {
      return Long.toString(Long.parseLong(value)).equals(value);
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static String lengthCondition(Column column, String violates, int limit) {
    String name = identifier(column.name());
    return name
        + " IS NOT NULL AND length("
        + ColumnTypes.text(name, column.type())
        + ") "
        + violates
        + " "
        + limit;
  }

  /** Returns {@code min} or {@code max} of the text length of a column. */
  private static String lengthAggregate(String aggregate, String text) {
    return aggregate + "(length(" + text + "))";
  }

  /** Returns the newest value of a timestamp or date column in milliseconds since the epoch. */
  private static String newestAggregate(Column column) {
    // epoch_ms reads a TIMESTAMP without time zone as UTC, independent of the JVM's time zone.
    return "epoch_ms(CAST(max(" + identifier(column.name()) + ") AS TIMESTAMP))";
  }

  /** Returns the query of the value {@code text} in the first row that meets {@code condition}. */
  private String firstValueQuery(String text, String condition) {
    return "SELECT " + text + " FROM " + table + " WHERE " + condition + " ORDER BY rowid LIMIT 1";
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
