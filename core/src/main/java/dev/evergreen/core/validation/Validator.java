package dev.evergreen.core.validation;

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
import dev.evergreen.api.validation.ConstraintResult;
import dev.evergreen.api.validation.ConstraintStatus;
import dev.evergreen.api.validation.DatasetDrift;
import dev.evergreen.api.validation.FeatureDrift;
import dev.evergreen.api.validation.Severity;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.api.validation.ValidationResult;
import dev.evergreen.core.data.ColumnTypes;
import dev.evergreen.core.data.DuckDb;
import dev.evergreen.core.data.PipelineColumns;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
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
 * <p>Rules: the constraints of {@code validation.rules}, checked by {@link RuleChecker}; each has a
 * result, and each failed one is an anomaly with the rule's severity. Row constraints also give the
 * number of failing rows and up to five example rows, numbered from 1 in the snapshot's row order,
 * which is the batch file's order.
 *
 * <p>Label: with {@code binary:logistic} and no {@code label.greaterThan}, a label other than 0 or
 * 1 is an error with rule {@value LabelClasses#RULE} (see {@link LabelClasses}).
 *
 * <p>Drift: the PSI of every feature (see {@link PopulationStability}); at or above {@code
 * validation.drift.warning} it is a warning, at or above {@code validation.drift.error} an error. A
 * feature that the other metrics mark as drifted is a warning with rule {@code drift}, and a share
 * of drifted features at or above {@code validation.drift.driftShare} is one anomaly with rule
 * {@code dataset_drift} on column {@code *}. Drift is measured from the stored profiles of both
 * snapshots when the context carries them (see {@link PopulationStability#measure(PipelineSpec,
 * dev.evergreen.core.profile.DatasetProfile, dev.evergreen.core.profile.DatasetProfile)}), else
 * from their rows; the report names which in {@link ValidationReport#driftSource()}.
 *
 * <p>History: see {@link HistoryChecks}.
 */
public final class Validator {
  static final int EXAMPLE_ROWS = RuleChecker.EXAMPLE_ROWS;

  private static final Logger log = LoggerFactory.getLogger(Validator.class);
  private static final String CURRENT = "current_rows";
  private static final String REFERENCE = "reference_rows";

  private final int threads;

  /** Creates a validator whose DuckDB queries use at most {@code threads} threads. */
  public Validator(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    this.threads = threads;
  }

  /**
   * Validates {@code current} as a training batch checked now, without a previous batch. Without a
   * reference (the first batch), types are checked only against declarations and no drift is
   * measured.
   *
   * @param currentParquet local Parquet file of {@code current}
   * @param reference the pipeline's reference snapshot, null for the first batch
   * @param referenceParquet local Parquet file of {@code reference}, null when it is null
   * @param inferredRules rules inferred from the reference. They are checked after the declared
   *     ones unless {@code validation.inferRules} is false, and not where the pipeline declares a
   *     rule of the same column and kind. Their expected text names the reference snapshot.
   */
  public ValidationReport validate(
      Snapshot current,
      Path currentParquet,
      Snapshot reference,
      Path referenceParquet,
      PipelineSpec spec,
      List<RuleSpec> inferredRules) {
    return check(
            current,
            currentParquet,
            reference,
            referenceParquet,
            spec,
            inferredRules,
            ValidationContext.training(Instant.now()))
        .report();
  }

  /**
   * Validates {@code current} in {@code context} and returns the run's report and the result of
   * every constraint. Columns that the context's environment excludes are neither required nor
   * checked, and neither are batch conditions that name them.
   *
   * @param currentParquet local Parquet file of {@code current}
   * @param reference the pipeline's reference snapshot, null for the first batch
   * @param referenceParquet local Parquet file of {@code reference}, null when it is null
   * @param inferredRules rules inferred from the reference. They are checked after the declared
   *     ones unless {@code validation.inferRules} is false, and not where the pipeline declares a
   *     rule of the same column and kind. Their expected text names the reference snapshot.
   * @throws EvergreenException {@link ErrorKind#INVALID_INPUT} when a pattern, {@code where} or
   *     {@code condition} is not valid for the batch
   */
  public ValidationOutcome check(
      Snapshot current,
      Path currentParquet,
      Snapshot reference,
      Path referenceParquet,
      PipelineSpec spec,
      List<RuleSpec> inferredRules,
      ValidationContext context) {
    try (Connection connection = DuckDb.open(threads)) {
      load(connection, CURRENT, currentParquet);
      return check(
          connection, CURRENT, current, reference, referenceParquet, spec, inferredRules, context);
    } catch (SQLException e) {
      throw duckDbFailed(current, e);
    }
  }

  /**
   * Validates {@code current} in {@code context} as {@link #check(Snapshot, Path, Snapshot, Path,
   * PipelineSpec, List, ValidationContext)} does without a reference batch or inferred rules, but
   * reads its rows from {@code table} on {@code connection} instead of a Parquet file. Drift is not
   * measured. The connection's thread setting applies, not this validator's.
   *
   * @param table DuckDB table or view of {@code current}'s rows, whose {@code rowid + 1} is the
   *     1-based row number in the batch file's order, as {@link
   *     dev.evergreen.core.snapshot.BatchFiles#check} provides it
   * @throws EvergreenException {@link ErrorKind#INVALID_INPUT} when a pattern, {@code where} or
   *     {@code condition} is not valid for the batch
   */
  public ValidationOutcome check(
      Snapshot current,
      Connection connection,
      String table,
      PipelineSpec spec,
      ValidationContext context) {
    try {
      return check(connection, table, current, null, null, spec, List.of(), context);
    } catch (SQLException e) {
      throw duckDbFailed(current, e);
    }
  }

  private static EvergreenException duckDbFailed(Snapshot current, SQLException e) {
    return new EvergreenException(
        ErrorKind.INTERNAL,
        "DuckDB failed while validating snapshot " + current.shortId() + ": " + e.getMessage(),
        e);
  }

  /** Validates {@code current}, whose rows are in {@code table}, on an open connection. */
  private ValidationOutcome check(
      Connection connection,
      String table,
      Snapshot current,
      Snapshot reference,
      Path referenceParquet,
      PipelineSpec spec,
      List<RuleSpec> inferredRules,
      ValidationContext context)
      throws SQLException {
    Set<String> excluded = new HashSet<>(spec.validation().excludedIn(context.environment()));
    List<ConstraintResult> results = new ArrayList<>();
    Set<String> missing = checkSchema(current, reference, spec, excluded, results);
    List<FeatureDrift> drift = List.of();
    String driftSource = null;
    DatasetDrift datasetDrift = null;
    RuleChecker checker = new RuleChecker(connection, table, current.schema(), context);
    long rows = checker.rows();
    List<RuleSpec> declared = new ArrayList<>(spec.validation().rules());
    declared.removeIf(rule -> isExcluded(rule, excluded));
    // With inferRules false, rules stored by an earlier run stay stored but are not checked.
    boolean checkInferred = inferredRules != null && spec.validation().inferRules();
    List<RuleSpec> inferred =
        new ArrayList<>(InferredRules.notDeclared(checkInferred ? inferredRules : List.of(), spec));
    inferred.removeIf(rule -> isExcluded(rule, excluded));
    List<RuleSpec> rules = new ArrayList<>(declared);
    rules.addAll(inferred);
    checker.prefetch(rules);
    for (RuleSpec rule : declared) {
      results.addAll(checker.check(rule, missing));
    }
    for (RuleSpec rule : inferred) {
      for (ConstraintResult result : checker.check(rule, missing)) {
        results.add(InferredRules.markInferred(result, reference));
      }
    }
    LabelClasses.check(connection, table, current, spec, excluded).ifPresent(results::add);
    if (reference != null
        && context.referenceProfile() != null
        && context.currentProfile() != null) {
      driftSource = ValidationReport.FROM_PROFILES;
      drift =
          PopulationStability.measure(spec, context.referenceProfile(), context.currentProfile());
    } else if (reference != null && referenceParquet != null) {
      driftSource = ValidationReport.FROM_ROWS;
      load(connection, REFERENCE, referenceParquet);
      drift =
          new PopulationStability(connection, REFERENCE, table)
              .measure(spec, reference.schema(), current.schema());
    }
    if (driftSource != null) {
      drift = drift.stream().filter(d -> !excluded.contains(d.feature())).toList();
      List<Anomaly> driftAnomalies = new ArrayList<>();
      DriftSpec limits = spec.validation().drift();
      drift.forEach(d -> checkDrift(d, limits, driftAnomalies));
      drift.forEach(d -> checkFeatureDrift(d, limits, driftAnomalies));
      checkDatasetDrift(drift, limits, driftAnomalies);
      driftAnomalies.forEach(a -> results.add(failed(a)));
      datasetDrift = DatasetDrift.of(drift, limits.driftShare());
    }
    results.addAll(HistoryChecks.check(current, spec, context, excluded));
    List<Anomaly> anomalies =
        results.stream().filter(ConstraintResult::failed).map(ConstraintResult::toAnomaly).toList();
    ValidationReport report =
        new ValidationReport(
            current.id(),
            reference == null ? null : reference.id(),
            anomalies,
            drift,
            driftSource,
            datasetDrift);
    log.info(
        "validated snapshot {}: {} errors, {} warnings, drift from {}, largest PSI {}",
        current.shortId(),
        report.errors().size(),
        report.warnings().size(),
        driftSource == null ? "none" : driftSource,
        report.largestDrift().map(d -> d.feature() + " " + formatPsi(d.psi())).orElse("none"));
    ValidationResult result =
        ValidationResult.of(current.source(), context.environment(), rows, context.now(), results);
    return new ValidationOutcome(report, result);
  }

  /** Returns true for a rule on an excluded column, or a batch condition that names one. */
  private static boolean isExcluded(RuleSpec rule, Set<String> excluded) {
    if (!rule.isBatchRule()) {
      return excluded.contains(rule.column());
    }
    return rule.condition() != null
        && !RuleChecker.namesIn(rule.condition(), List.copyOf(excluded)).isEmpty();
  }

  private static ConstraintResult failed(Anomaly anomaly) {
    return new ConstraintResult(
        anomaly.rule(),
        anomaly.column(),
        anomaly.severity(),
        ConstraintStatus.FAILED,
        anomaly.expected(),
        anomaly.observed(),
        null,
        null,
        null,
        List.of());
  }

  /** Loads a Parquet file into a table whose {@code rowid + 1} is the 1-based row number. */
  private static void load(Connection connection, String table, Path parquet) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "CREATE TABLE " + table + " AS SELECT * FROM read_parquet(" + DuckDb.path(parquet) + ")");
    }
  }

  /** Adds one {@code type} result per required column and returns the ones that are missing. */
  private static Set<String> checkSchema(
      Snapshot current,
      Snapshot reference,
      PipelineSpec spec,
      Set<String> excluded,
      List<ConstraintResult> results) {
    Set<String> missing = new HashSet<>();
    List<String> required =
        PipelineColumns.required(spec).stream().filter(c -> !excluded.contains(c)).toList();
    for (String name : required) {
      Optional<ColumnType> expected =
          PipelineColumns.storedType(spec, name).or(() -> referenceType(reference, name));
      Optional<Column> column = current.schema().column(name);
      String expectedText = expected.map(ColumnTypes::specName).orElse("column present");
      if (column.isEmpty()) {
        missing.add(name);
        results.add(typeResult(name, Severity.ERROR, false, expectedText, "column missing"));
      } else {
        boolean passed = expected.isEmpty() || column.get().type() == expected.get();
        results.add(
            typeResult(
                name,
                Severity.ERROR,
                passed,
                expectedText,
                ColumnTypes.specName(column.get().type())));
      }
    }
    for (Column column : current.schema().columns()) {
      Optional<ColumnType> before = referenceType(reference, column.name());
      if (!required.contains(column.name())
          && !excluded.contains(column.name())
          && before.isPresent()
          && before.get() != column.type()) {
        results.add(
            typeResult(
                column.name(),
                Severity.WARNING,
                false,
                ColumnTypes.specName(before.get()),
                ColumnTypes.specName(column.type())));
      }
    }
    return missing;
  }

  private static ConstraintResult typeResult(
      String column, Severity severity, boolean passed, String expected, String observed) {
    return new ConstraintResult(
        "type",
        column,
        severity,
        passed ? ConstraintStatus.PASSED : ConstraintStatus.FAILED,
        expected,
        observed,
        null,
        null,
        null,
        List.of());
  }

  private static Optional<ColumnType> referenceType(Snapshot reference, String name) {
    return reference == null ? Optional.empty() : reference.schema().column(name).map(Column::type);
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

  static String firstLine(String message) {
    return message == null ? "unknown error" : message.lines().findFirst().orElse("").strip();
  }

  /** Formats a share between 0 and 1 as a percentage: 0.995 as 99.5%. */
  static String formatShare(double share) {
    return format(BigDecimal.valueOf(share * 100).setScale(4, RoundingMode.HALF_UP).doubleValue())
        + "%";
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
