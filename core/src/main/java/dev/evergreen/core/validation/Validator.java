package dev.evergreen.core.validation;

import static dev.evergreen.core.data.DuckDb.identifier;
import static dev.evergreen.core.data.DuckDb.literal;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Column;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.DriftSpec;
import dev.evergreen.api.pipeline.DriftThresholds;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.RuleSpec;
import dev.evergreen.api.validation.Anomaly;
import dev.evergreen.api.validation.FeatureDrift;
import dev.evergreen.api.validation.Severity;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.core.data.ColumnTypes;
import dev.evergreen.core.data.DuckDb;
import dev.evergreen.core.data.PipelineColumns;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks a snapshot before training: its schema, the per-column rules of the pipeline and the
 * inferred rules, and the drift of every feature against the reference snapshot.
 *
 * <p>Schema: each required column (declared columns, label, features and sources of derived
 * features) must be present, with its declared type, or without a declaration the type it has in
 * the reference snapshot; a violation is an error with rule {@code type}. A column that is not
 * required and changed its type since the reference is a warning.
 *
 * <p>Rules: {@code not_null}, {@code min}, {@code max}, {@code allowed_values}, {@code unique},
 * {@code pattern}, {@code min_length}, {@code max_length}, {@code completeness}, {@code
 * mean_between} and {@code stddev_between}; each violated rule is one anomaly with the rule's
 * severity. Row rules also give the number of failing rows and up to five example rows, numbered
 * from 1 in the snapshot's row order.
 *
 * <p>Drift: the PSI of every feature (see {@link PopulationStability}); at or above {@code
 * validation.drift.warning} it is a warning, at or above {@code validation.drift.error} an error. A
 * feature that the other metrics mark as drifted is a warning with rule {@code drift}, and a share
 * of drifted features at or above {@code validation.drift.driftShare} is one anomaly with rule
 * {@code dataset_drift} on column {@code *}.
 */
public final class Validator {
  static final int EXAMPLE_ROWS = 5;

  private static final Logger log = LoggerFactory.getLogger(Validator.class);
  private static final String CURRENT = "current_rows";
  private static final String REFERENCE = "reference_rows";
  private static final int LISTED_VALUES = 10;

  private final int threads;

  /** Creates a validator whose DuckDB queries use at most {@code threads} threads. */
  public Validator(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    this.threads = threads;
  }

  /**
   * Validates {@code current}. Without a reference (the first batch), types are checked only
   * against declarations and no drift is measured.
   *
   * @param currentParquet local Parquet file of {@code current}
   * @param reference the pipeline's reference snapshot, null for the first batch
   * @param referenceParquet local Parquet file of {@code reference}, null when it is null
   * @param inferredRules rules inferred from the reference, checked after the declared ones
   */
  public ValidationReport validate(
      Snapshot current,
      Path currentParquet,
      Snapshot reference,
      Path referenceParquet,
      PipelineSpec spec,
      List<RuleSpec> inferredRules) {
    List<Anomaly> anomalies = new ArrayList<>();
    Set<String> missing = checkSchema(current, reference, spec, anomalies);
    List<FeatureDrift> drift = List.of();
    try (Connection connection = DuckDb.open(threads)) {
      load(connection, CURRENT, currentParquet);
      List<RuleSpec> rules = new ArrayList<>(spec.validation().rules());
      rules.addAll(inferredRules == null ? List.of() : inferredRules);
      for (RuleSpec rule : rules) {
        checkRule(connection, current, rule, missing, anomalies);
      }
      if (reference != null && referenceParquet != null) {
        load(connection, REFERENCE, referenceParquet);
        drift =
            new PopulationStability(connection, REFERENCE, CURRENT)
                .measure(spec, reference.schema(), current.schema());
        DriftSpec limits = spec.validation().drift();
        drift.forEach(d -> checkDrift(d, limits, anomalies));
        drift.forEach(d -> checkFeatureDrift(d, limits, anomalies));
        checkDatasetDrift(drift, limits, anomalies);
      }
    } catch (SQLException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "DuckDB failed while validating snapshot " + current.shortId() + ": " + e.getMessage(),
          e);
    }
    ValidationReport report =
        new ValidationReport(
            current.id(), reference == null ? null : reference.id(), anomalies, drift);
    log.info(
        "validated snapshot {}: {} errors, {} warnings, largest PSI {}",
        current.shortId(),
        report.errors().size(),
        report.warnings().size(),
        report.largestDrift().map(d -> d.feature() + " " + formatPsi(d.psi())).orElse("none"));
    return report;
  }

  /** Loads a Parquet file into a table whose {@code rowid + 1} is the 1-based row number. */
  private static void load(Connection connection, String table, Path parquet) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "CREATE TABLE " + table + " AS SELECT * FROM read_parquet(" + DuckDb.path(parquet) + ")");
    }
  }

  /** Adds schema anomalies and returns the required columns that are missing. */
  private static Set<String> checkSchema(
      Snapshot current, Snapshot reference, PipelineSpec spec, List<Anomaly> anomalies) {
    Set<String> missing = new HashSet<>();
    List<String> required = PipelineColumns.required(spec);
    for (String name : required) {
      Optional<ColumnType> expected =
          PipelineColumns.storedType(spec, name).or(() -> referenceType(reference, name));
      Optional<Column> column = current.schema().column(name);
      if (column.isEmpty()) {
        missing.add(name);
        anomalies.add(
            new Anomaly(
                name,
                "type",
                Severity.ERROR,
                expected.map(ColumnTypes::specName).orElse("column present"),
                "column missing",
                0,
                List.of()));
      } else if (expected.isPresent() && column.get().type() != expected.get()) {
        anomalies.add(typeAnomaly(name, Severity.ERROR, expected.get(), column.get().type()));
      }
    }
    for (Column column : current.schema().columns()) {
      Optional<ColumnType> before = referenceType(reference, column.name());
      if (!required.contains(column.name())
          && before.isPresent()
          && before.get() != column.type()) {
        anomalies.add(typeAnomaly(column.name(), Severity.WARNING, before.get(), column.type()));
      }
    }
    return missing;
  }

  private static Optional<ColumnType> referenceType(Snapshot reference, String name) {
    return reference == null ? Optional.empty() : reference.schema().column(name).map(Column::type);
  }

  private static Anomaly typeAnomaly(
      String column, Severity severity, ColumnType expected, ColumnType observed) {
    return new Anomaly(
        column,
        "type",
        severity,
        ColumnTypes.specName(expected),
        ColumnTypes.specName(observed),
        0,
        List.of());
  }

  private static void checkRule(
      Connection connection,
      Snapshot current,
      RuleSpec rule,
      Set<String> missing,
      List<Anomaly> anomalies)
      throws SQLException {
    Optional<Column> found = current.schema().column(rule.column());
    if (found.isEmpty()) {
      if (!missing.contains(rule.column())) {
        for (String name : ruleNames(rule)) {
          anomalies.add(
              new Anomaly(
                  rule.column(),
                  name,
                  rule.severity(),
                  expected(rule, name),
                  "column missing",
                  0,
                  List.of()));
        }
      }
      return;
    }
    Column column = found.get();
    String name = identifier(column.name());
    String text = ColumnTypes.text(name, column.type());
    long rows = count(connection, "true");
    if (Boolean.TRUE.equals(rule.notNull())) {
      String condition = name + " IS NULL";
      long failing = count(connection, condition);
      if (!passes(failing, rows, rule.tolerance())) {
        anomalies.add(
            violation(connection, rule, "not_null", failing + " nulls", failing, condition));
      }
    }
    if (rule.min() != null) {
      checkBound(connection, rule, column, "min", "<", rule.min(), rows, anomalies);
    }
    if (rule.max() != null) {
      checkBound(connection, rule, column, "max", ">", rule.max(), rows, anomalies);
    }
    if (rule.allowedValues() != null) {
      checkAllowedValues(connection, rule, column, rows, anomalies);
    }
    if (Boolean.TRUE.equals(rule.unique())) {
      checkUnique(connection, rule, column, rows, anomalies);
    }
    if (rule.pattern() != null) {
      checkPattern(connection, rule, column, rows, anomalies);
    }
    if (rule.minLength() != null) {
      String condition = name + " IS NOT NULL AND length(" + text + ") < " + rule.minLength();
      checkLength(connection, rule, "min_length", "min", condition, text, rows, anomalies);
    }
    if (rule.maxLength() != null) {
      String condition = name + " IS NOT NULL AND length(" + text + ") > " + rule.maxLength();
      checkLength(connection, rule, "max_length", "max", condition, text, rows, anomalies);
    }
    if (rule.completeness() != null) {
      checkCompleteness(connection, rule, column, rows, anomalies);
    }
    if (rule.meanBetween() != null) {
      checkStatistic(
          connection, rule, column, "mean_between", "avg", rule.meanBetween(), anomalies);
    }
    if (rule.stddevBetween() != null) {
      checkStatistic(
          connection,
          rule,
          column,
          "stddev_between",
          "stddev_samp",
          rule.stddevBetween(),
          anomalies);
    }
  }

  /**
   * Returns true when at least {@code share} of {@code rows} satisfy a row rule that {@code
   * failing} rows break. A batch without rows passes.
   */
  static boolean passes(long failing, long rows, double share) {
    if (failing == 0 || rows == 0) {
      return true;
    }
    return rows - failing >= share * rows;
  }

  private static void checkBound(
      Connection connection,
      RuleSpec rule,
      Column column,
      String ruleName,
      String violates,
      double limit,
      long rows,
      List<Anomaly> anomalies)
      throws SQLException {
    if (!column.type().isNumeric()) {
      anomalies.add(notNumeric(rule, column, ruleName));
      return;
    }
    String name = identifier(column.name());
    String condition =
        name + " " + violates + " CAST(" + literal(Double.toString(limit)) + " AS DOUBLE)";
    long failing = count(connection, condition);
    if (passes(failing, rows, rule.tolerance())) {
      return;
    }
    String observed =
        single(
            connection, "SELECT CAST(" + ruleName + "(" + name + ") AS VARCHAR) FROM " + CURRENT);
    anomalies.add(
        violation(connection, rule, ruleName, ruleName + " " + observed, failing, condition));
  }

  private static Anomaly notNumeric(RuleSpec rule, Column column, String ruleName) {
    return new Anomaly(
        column.name(),
        ruleName,
        rule.severity(),
        expected(rule, ruleName),
        "type " + ColumnTypes.specName(column.type()) + ", not a number",
        0,
        List.of());
  }

  private static void checkAllowedValues(
      Connection connection, RuleSpec rule, Column column, long rows, List<Anomaly> anomalies)
      throws SQLException {
    String name = identifier(column.name());
    String text = ColumnTypes.text(name, column.type());
    String condition =
        rule.allowedValues().isEmpty()
            ? name + " IS NOT NULL"
            : name
                + " IS NOT NULL AND "
                + text
                + " NOT IN ("
                + rule.allowedValues().stream()
                    .map(DuckDb::literal)
                    .collect(Collectors.joining(", "))
                + ")";
    long failing = count(connection, condition);
    double share = rule.minInDomain() != null ? rule.minInDomain() : rule.tolerance();
    if (passes(failing, rows, share)) {
      return;
    }
    List<String> values = new ArrayList<>();
    long distinct = 0;
    String sql =
        "SELECT "
            + text
            + " AS v, count(*) OVER () AS distinct_values FROM "
            + CURRENT
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
    anomalies.add(violation(connection, rule, "allowed_values", observed, failing, condition));
  }

  /** Fails the rows whose non-null value occurs in another row too. */
  private static void checkUnique(
      Connection connection, RuleSpec rule, Column column, long rows, List<Anomaly> anomalies)
      throws SQLException {
    String name = identifier(column.name());
    String condition =
        name
            + " IN (SELECT "
            + name
            + " FROM "
            + CURRENT
            + " WHERE "
            + name
            + " IS NOT NULL GROUP BY "
            + name
            + " HAVING count(*) > 1)";
    long failing = count(connection, condition);
    if (passes(failing, rows, rule.tolerance())) {
      return;
    }
    String repeated =
        single(
            connection,
            "SELECT count(*) FROM (SELECT "
                + name
                + " FROM "
                + CURRENT
                + " WHERE "
                + name
                + " IS NOT NULL GROUP BY "
                + name
                + " HAVING count(*) > 1)");
    anomalies.add(
        violation(
            connection,
            rule,
            "unique",
            repeated + " values occur in more than one row",
            failing,
            condition));
  }

  private static void checkPattern(
      Connection connection, RuleSpec rule, Column column, long rows, List<Anomaly> anomalies)
      throws SQLException {
    String name = identifier(column.name());
    String text = ColumnTypes.text(name, column.type());
    String condition =
        name
            + " IS NOT NULL AND NOT regexp_full_match("
            + text
            + ", "
            + literal(rule.pattern())
            + ")";
    long failing;
    try {
      failing = count(connection, condition);
    } catch (SQLException e) {
      throw EvergreenException.invalid(
          "validation rule on column '"
              + rule.column()
              + "': pattern '"
              + rule.pattern()
              + "' is not a valid RE2 regular expression: "
              + firstLine(e.getMessage())
              + ". Correct the pattern.");
    }
    if (passes(failing, rows, rule.tolerance())) {
      return;
    }
    String example =
        single(
            connection,
            "SELECT "
                + text
                + " FROM "
                + CURRENT
                + " WHERE "
                + condition
                + " ORDER BY rowid LIMIT 1");
    anomalies.add(
        violation(
            connection,
            rule,
            "pattern",
            "value '" + shorten(example) + "' and others that do not match",
            failing,
            condition));
  }

  private static void checkLength(
      Connection connection,
      RuleSpec rule,
      String ruleName,
      String aggregate,
      String condition,
      String text,
      long rows,
      List<Anomaly> anomalies)
      throws SQLException {
    long failing = count(connection, condition);
    if (passes(failing, rows, rule.tolerance())) {
      return;
    }
    String observed =
        single(connection, "SELECT " + aggregate + "(length(" + text + ")) FROM " + CURRENT);
    anomalies.add(
        violation(
            connection, rule, ruleName, aggregate + " length " + observed, failing, condition));
  }

  private static void checkCompleteness(
      Connection connection, RuleSpec rule, Column column, long rows, List<Anomaly> anomalies)
      throws SQLException {
    String condition = identifier(column.name()) + " IS NULL";
    long nulls = count(connection, condition);
    if (rows == 0 || (double) (rows - nulls) / rows >= rule.completeness()) {
      return;
    }
    String observed =
        "completeness " + formatShare((double) (rows - nulls) / rows) + " (" + nulls + " nulls)";
    anomalies.add(violation(connection, rule, "completeness", observed, nulls, condition));
  }

  /** Checks that a column statistic, {@code avg} or {@code stddev_samp}, lies in {@code range}. */
  private static void checkStatistic(
      Connection connection,
      RuleSpec rule,
      Column column,
      String ruleName,
      String aggregate,
      List<Double> range,
      List<Anomaly> anomalies)
      throws SQLException {
    if (!column.type().isNumeric()) {
      anomalies.add(notNumeric(rule, column, ruleName));
      return;
    }
    String value =
        single(
            connection,
            "SELECT "
                + aggregate
                + "(CAST("
                + identifier(column.name())
                + " AS DOUBLE)) FROM "
                + CURRENT);
    String statistic = ruleName.equals("mean_between") ? "mean" : "stddev";
    if (value == null) {
      anomalies.add(
          new Anomaly(
              rule.column(),
              ruleName,
              rule.severity(),
              expected(rule, ruleName),
              "no " + statistic + ": too few non-null values",
              0,
              List.of()));
      return;
    }
    double observed = Double.parseDouble(value);
    if (observed >= range.get(0) && observed <= range.get(1)) {
      return;
    }
    anomalies.add(
        new Anomaly(
            rule.column(),
            ruleName,
            rule.severity(),
            expected(rule, ruleName),
            statistic + " " + format(observed),
            0,
            List.of()));
  }

  private static Anomaly violation(
      Connection connection,
      RuleSpec rule,
      String ruleName,
      String observed,
      long failing,
      String condition)
      throws SQLException {
    List<Long> examples = new ArrayList<>();
    String sql =
        "SELECT rowid + 1 FROM "
            + CURRENT
            + " WHERE "
            + condition
            + " ORDER BY rowid LIMIT "
            + EXAMPLE_ROWS;
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
      while (result.next()) {
        examples.add(result.getLong(1));
      }
    }
    return new Anomaly(
        rule.column(),
        ruleName,
        rule.severity(),
        expected(rule, ruleName),
        observed,
        failing,
        examples);
  }

  private static void checkDrift(FeatureDrift drift, DriftSpec limits, List<Anomaly> anomalies) {
    Severity severity = null;
    double limit = 0;
    if (limits.error() != null && drift.psi() >= limits.error()) {
      severity = Severity.ERROR;
      limit = limits.error();
    } else if (drift.psi() >= limits.warning()) {
      severity = Severity.WARNING;
      limit = limits.warning();
    }
    if (severity != null) {
      anomalies.add(
          new Anomaly(
              drift.feature(),
              "psi",
              severity,
              "psi < " + format(limit),
              "psi " + formatPsi(drift.psi()),
              0,
              List.of()));
    }
  }

  /** Adds a warning for a feature that the metrics other than PSI mark as drifted. */
  private static void checkFeatureDrift(
      FeatureDrift drift, DriftSpec limits, List<Anomaly> anomalies) {
    if (!drift.drifted()) {
      return;
    }
    DriftThresholds thresholds = limits.thresholdsFor(drift.feature());
    boolean numeric = "numeric".equals(drift.kind());
    String small = " for at most " + limits.smallSample() + " reference values, else ";
    String expected =
        numeric
            ? "ks p-value >= "
                + format(thresholds.ksPValue())
                + small
                + "wasserstein < "
                + format(thresholds.wasserstein())
                + " and jensen_shannon < "
                + format(thresholds.jensenShannon())
            : "chi-squared p-value >= "
                + format(thresholds.chiSquaredPValue())
                + small
                + "l_infinity < "
                + format(thresholds.lInfinity())
                + " and jensen_shannon < "
                + format(thresholds.jensenShannon());
    String observed =
        numeric
            ? "ks "
                + formatPsi(drift.ks())
                + " (p-value "
                + formatPValue(drift.ksPValue())
                + "), wasserstein "
                + formatPsi(drift.wasserstein())
                + ", jensen_shannon "
                + formatPsi(drift.jensenShannon())
            : "chi-squared p-value "
                + formatPValue(drift.chiSquaredPValue())
                + ", l_infinity "
                + formatPsi(drift.lInfinity())
                + ", jensen_shannon "
                + formatPsi(drift.jensenShannon());
    anomalies.add(
        new Anomaly(drift.feature(), "drift", Severity.WARNING, expected, observed, 0, List.of()));
  }

  /** Adds one anomaly on column {@code *} when the share of drifted features reaches the limit. */
  private static void checkDatasetDrift(
      List<FeatureDrift> drift, DriftSpec limits, List<Anomaly> anomalies) {
    if (drift.isEmpty()) {
      return;
    }
    List<String> drifted =
        drift.stream().filter(FeatureDrift::drifted).map(FeatureDrift::feature).toList();
    double share = (double) drifted.size() / drift.size();
    if (drifted.isEmpty() || share < limits.driftShare()) {
      return;
    }
    anomalies.add(
        new Anomaly(
            "*",
            "dataset_drift",
            limits.datasetSeverity(),
            "drifted share < " + formatShare(limits.driftShare()),
            drifted.size()
                + " of "
                + drift.size()
                + " features drifted ("
                + formatShare(share)
                + "): "
                + String.join(", ", drifted),
            0,
            List.of()));
  }

  /** Formats a p-value with three significant digits, such as 0.0421 or 1.23e-08. */
  static String formatPValue(double pValue) {
    return pValue >= 0.001
        ? String.format(Locale.ROOT, "%.4f", pValue)
        : String.format(Locale.ROOT, "%.2e", pValue);
  }

  private static String firstLine(String message) {
    return message == null ? "unknown error" : message.lines().findFirst().orElse("").strip();
  }

  private static String shorten(String value) {
    return value != null && value.length() > 80 ? value.substring(0, 80) + "..." : value;
  }

  private static List<String> ruleNames(RuleSpec rule) {
    List<String> names = new ArrayList<>();
    if (Boolean.TRUE.equals(rule.notNull())) {
      names.add("not_null");
    }
    if (rule.min() != null) {
      names.add("min");
    }
    if (rule.max() != null) {
      names.add("max");
    }
    if (rule.allowedValues() != null) {
      names.add("allowed_values");
    }
    if (Boolean.TRUE.equals(rule.unique())) {
      names.add("unique");
    }
    if (rule.pattern() != null) {
      names.add("pattern");
    }
    if (rule.minLength() != null) {
      names.add("min_length");
    }
    if (rule.maxLength() != null) {
      names.add("max_length");
    }
    if (rule.completeness() != null) {
      names.add("completeness");
    }
    if (rule.meanBetween() != null) {
      names.add("mean_between");
    }
    if (rule.stddevBetween() != null) {
      names.add("stddev_between");
    }
    return names;
  }

  /** Returns the rule's limit as text, with the share of rows when the rule tolerates failures. */
  private static String expected(RuleSpec rule, String ruleName) {
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
          default -> throw new IllegalArgumentException("unknown rule " + ruleName);
        };
    double share =
        ruleName.equals("allowed_values") && rule.minInDomain() != null
            ? rule.minInDomain()
            : rule.tolerance();
    boolean rowRule = !Set.of("completeness", "mean_between", "stddev_between").contains(ruleName);
    return rowRule && share < 1 ? limit + " in at least " + formatShare(share) + " of rows" : limit;
  }

  private static String range(List<Double> range) {
    return "[" + format(range.get(0)) + ", " + format(range.get(1)) + "]";
  }

  /** Formats a share between 0 and 1 as a percentage: 0.995 as 99.5%. */
  static String formatShare(double share) {
    return format(BigDecimal.valueOf(share * 100).setScale(4, RoundingMode.HALF_UP).doubleValue())
        + "%";
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

  private static long count(Connection connection, String condition) throws SQLException {
    return Long.parseLong(
        single(connection, "SELECT count(*) FROM " + CURRENT + " WHERE " + condition));
  }

  private static String single(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
      result.next();
      return result.getString(1);
    }
  }

  /** Formats a rule limit as written, without a trailing {@code .0}: 1, 0.5, 6000. */
  static String format(double value) {
    if (Double.isNaN(value) || Double.isInfinite(value)) {
      return Double.toString(value);
    }
    return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
  }

  /** Formats a PSI with four decimals. */
  static String formatPsi(double psi) {
    return String.format(Locale.ROOT, "%.4f", psi);
  }
}
