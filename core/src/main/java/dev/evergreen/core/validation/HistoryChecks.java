package dev.evergreen.core.validation;

import dev.evergreen.api.data.Column;
import dev.evergreen.api.data.ColumnProfile;
import dev.evergreen.api.data.Profile;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.HistorySpec;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.validation.ConstraintResult;
import dev.evergreen.api.validation.ConstraintStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Checks a batch's row count and each column's null fraction against the pipeline's recent accepted
 * batches ({@code validation.history}). A value is an anomaly when it lies more than {@code k}
 * population standard deviations from the mean of the last {@code window} batches. When those
 * batches all have the same value, the standard deviation is 0 and any other value is an anomaly.
 *
 * <p>Results are named {@value #ROW_COUNT} (column {@code *}) and {@value #NULL_FRACTION} (one per
 * column of the batch). Without any earlier batch (the first batch, and {@code evergreen validate})
 * there is no result; with fewer than {@code minBatches}, one skipped {@value #ROW_COUNT} result. A
 * column that fewer than {@code minBatches} earlier batches have is not checked.
 */
final class HistoryChecks {
  static final String ROW_COUNT = "history_row_count";
  static final String NULL_FRACTION = "history_null_fraction";

  private HistoryChecks() {}

  /** Returns the history results of {@code current}; none when the checks are turned off. */
  static List<ConstraintResult> check(
      Snapshot current, PipelineSpec spec, ValidationContext context, Set<String> excluded) {
    HistorySpec limits = spec.validation().history();
    if (!limits.enabled() || context.history().isEmpty()) {
      return List.of();
    }
    List<Profile> recent = context.history().stream().limit(limits.window()).toList();
    List<ConstraintResult> results = new ArrayList<>();
    if (recent.size() < limits.minBatches()) {
      results.add(
          new ConstraintResult(
              ROW_COUNT,
              "*",
              limits.severity(),
              ConstraintStatus.SKIPPED,
              "at least " + limits.minBatches() + " earlier accepted batches",
              recent.size() + " earlier accepted batches",
              null,
              null,
              null,
              List.of()));
      return results;
    }
    double[] rowCounts = recent.stream().mapToDouble(Profile::rowCount).toArray();
    results.add(
        judge(ROW_COUNT, "*", current.profile().rowCount(), rowCounts, limits, "%.0f", " rows"));
    long rows = current.profile().rowCount();
    for (Column column : current.schema().columns()) {
      if (excluded.contains(column.name())) {
        continue;
      }
      double[] fractions =
          recent.stream()
              .map(p -> nullFraction(p, column.name()))
              .flatMap(Optional::stream)
              .mapToDouble(Double::doubleValue)
              .toArray();
      Optional<Double> now = nullFraction(current.profile(), column.name());
      if (fractions.length < limits.minBatches() || now.isEmpty() || rows == 0) {
        continue;
      }
      results.add(judge(NULL_FRACTION, column.name(), now.get(), fractions, limits, "%.6f", ""));
    }
    return results;
  }

  private static ConstraintResult judge(
      String name,
      String column,
      double value,
      double[] earlier,
      HistorySpec limits,
      String valueFormat,
      String unit) {
    double mean = 0;
    for (double x : earlier) {
      mean += x;
    }
    mean /= earlier.length;
    double squares = 0;
    for (double x : earlier) {
      squares += (x - mean) * (x - mean);
    }
    double stddev = Math.sqrt(squares / earlier.length);
    double deviation = Math.abs(value - mean);
    boolean passed = stddev == 0 ? deviation == 0 : deviation <= limits.k() * stddev;
    String expected =
        "within "
            + Validator.format(limits.k())
            + " standard deviations of the mean "
            + String.format(Locale.ROOT, "%.6g", mean)
            + " (standard deviation "
            + String.format(Locale.ROOT, "%.6g", stddev)
            + ") of "
            + earlier.length
            + " earlier batches";
    String deviations =
        stddev == 0
            ? (deviation == 0 ? "0" : "infinite")
            : String.format(Locale.ROOT, "%.2f", deviation / stddev);
    String observed =
        String.format(Locale.ROOT, valueFormat, value)
            + unit
            + ", "
            + deviations
            + " standard deviations from the mean";
    return new ConstraintResult(
        name,
        column,
        limits.severity(),
        passed ? ConstraintStatus.PASSED : ConstraintStatus.FAILED,
        expected,
        observed,
        value,
        null,
        null,
        List.of());
  }

  /**
   * Returns a column's nulls divided by the batch's rows; empty when the batch lacks the column.
   */
  private static Optional<Double> nullFraction(Profile profile, String column) {
    Optional<ColumnProfile> stats = profile.column(column);
    if (stats.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(
        profile.rowCount() == 0 ? 0.0 : (double) stats.get().nullCount() / profile.rowCount());
  }
}
