package dev.evergreen.core.validation;

import static dev.evergreen.core.data.DuckDb.identifier;

import dev.evergreen.api.data.Column;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.Schema;
import dev.evergreen.api.pipeline.DerivedFeature;
import dev.evergreen.api.pipeline.DriftSpec;
import dev.evergreen.api.pipeline.DriftThresholds;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.validation.DatasetDrift;
import dev.evergreen.api.validation.FeatureDrift;
import dev.evergreen.core.data.ColumnTypes;
import dev.evergreen.core.profile.ColumnSketch;
import dev.evergreen.core.profile.DatasetProfile;
import dev.evergreen.core.profile.FrequentItems;
import dev.evergreen.core.profile.KllSketch;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;

/**
 * Population stability index (PSI) and the other drift metrics of {@link DriftMetrics} of each
 * feature between a reference and a current table.
 *
 * <p>Binning:
 *
 * <ul>
 *   <li>Numeric features: the edges are the distinct deciles (10th to 90th percentile, {@code
 *       quantile_disc}) of the reference. A value falls into bin {@code k}, the number of edges
 *       that are less than or equal to it, so values below the first edge go into the first bin and
 *       values at or above the last edge into the last; at most ten bins.
 *   <li>Categorical features, and the derived features {@code hour_of_day} (0 to 23) and {@code
 *       day_of_week} (ISO, 1 = Monday to 7 = Sunday), computed from the timestamp's UTC wall-clock
 *       time: one bin per value among the reference's 20 most frequent values (ties broken by the
 *       smaller value), and one bin for every other value.
 *   <li>Nulls form one more bin in both cases.
 * </ul>
 *
 * <p>PSI is the sum over bins of {@code (cur - ref) * ln(cur / ref)}, where {@code ref} and {@code
 * cur} are the shares of rows in the bin, each floored at {@value #FLOOR} so that an empty bin
 * gives a finite value.
 *
 * <p>The static {@code measure} and {@code datasetDrift} compute the same metrics from the stored
 * profiles of two snapshots ({@link DatasetProfile}) instead of their rows.
 */
final class PopulationStability {
  static final double FLOOR = 1e-4;
  static final int CATEGORIES = 20;
  static final String NUMERIC = "numeric";
  static final String CATEGORICAL = "categorical";

  private static final String DECILES = "[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]";

  private final Connection connection;
  private final String referenceTable;
  private final String currentTable;

  PopulationStability(Connection connection, String referenceTable, String currentTable) {
    this.connection = connection;
    this.referenceTable = referenceTable;
    this.currentTable = currentTable;
  }

  /**
   * Returns the drift of every numeric, categorical and derived feature, in that order, judged by
   * {@code validation.drift}. A feature whose column is missing from either table, or has a type
   * the binning cannot use, is skipped because the schema checks report it.
   */
  List<FeatureDrift> measure(PipelineSpec spec, Schema reference, Schema current)
      throws SQLException {
    DriftSpec limits = spec.validation().drift();
    List<FeatureDrift> drift = new ArrayList<>();
    for (String feature : spec.features().numeric()) {
      Optional<ColumnType> type = commonType(feature, reference, current);
      if (type.isPresent() && type.get().isNumeric()) {
        drift.add(numericDrift(feature, identifier(feature), limits));
      }
    }
    for (String feature : spec.features().categorical()) {
      Optional<ColumnType> type = commonType(feature, reference, current);
      if (type.isPresent()) {
        drift.add(categoricalDrift(feature, categoryBins(identifier(feature), type.get()), limits));
      }
    }
    for (DerivedFeature derived : spec.features().derived()) {
      Optional<ColumnType> type = commonType(derived.from(), reference, current);
      if (type.isEmpty() || (type.get() != ColumnType.TIMESTAMP && type.get() != ColumnType.DATE)) {
        continue;
      }
      String source = "CAST(" + identifier(derived.from()) + " AS TIMESTAMP)";
      String expression =
          switch (derived.function()) {
            case "hour_of_day" -> "hour(" + source + ")";
            case "day_of_week" -> "isodow(" + source + ")";
            default -> null;
          };
      if (expression != null) {
        drift.add(
            categoricalDrift(derived.name(), categoryBins(expression, ColumnType.INTEGER), limits));
      }
    }
    return drift;
  }

  /**
   * Measures a numeric feature: PSI and Jensen-Shannon over the decile bins, Kolmogorov-Smirnov and
   * normalised Wasserstein over the non-null values.
   */
  private FeatureDrift numericDrift(String feature, String column, DriftSpec limits)
      throws SQLException {
    List<long[]> bins = numericBins(column);
    double[] before = sortedValues(referenceTable, column);
    double[] after = sortedValues(currentTable, column);
    double ks = DriftMetrics.ks(before, after);
    double wasserstein = DriftMetrics.normalisedWasserstein(before, after);
    double jensenShannon = DriftMetrics.jensenShannon(bins);
    return numericVerdict(
        feature, bins, before.length, after.length, ks, wasserstein, jensenShannon, limits);
  }

  /**
   * Judges a numeric feature: a small reference sample drifts when the Kolmogorov-Smirnov p-value
   * is below its threshold, a larger one when a distance reaches its threshold.
   *
   * @param referenceValues non-null, non-NaN reference values
   * @param currentValues non-null, non-NaN current values
   */
  private static FeatureDrift numericVerdict(
      String feature,
      List<long[]> bins,
      long referenceValues,
      long currentValues,
      double ks,
      double wasserstein,
      double jensenShannon,
      DriftSpec limits) {
    double ksPValue =
        DriftMetrics.ksPValue(
            ks,
            (int) Math.min(referenceValues, Integer.MAX_VALUE),
            (int) Math.min(currentValues, Integer.MAX_VALUE));
    DriftThresholds thresholds = limits.thresholdsFor(feature);
    boolean drifted;
    if (referenceValues == 0 || currentValues == 0) {
      drifted = false;
    } else if (referenceValues <= limits.smallSample()) {
      drifted = ksPValue < thresholds.ksPValue();
    } else {
      drifted =
          wasserstein >= thresholds.wasserstein() || jensenShannon >= thresholds.jensenShannon();
    }
    return new FeatureDrift(
        feature, psi(bins), NUMERIC, ks, ksPValue, wasserstein, jensenShannon, null, null, drifted);
  }

  /**
   * Measures a categorical feature over its bins: PSI, Jensen-Shannon, L-infinity and the
   * chi-squared p-value. A small reference sample drifts when the p-value is below its threshold, a
   * larger one when a distance reaches its threshold.
   */
  private static FeatureDrift categoricalDrift(
      String feature, List<long[]> bins, DriftSpec limits) {
    long referenceRows = bins.stream().mapToLong(bin -> bin[0]).sum();
    long currentRows = bins.stream().mapToLong(bin -> bin[1]).sum();
    double jensenShannon = DriftMetrics.jensenShannon(bins);
    double lInfinity = DriftMetrics.lInfinity(bins);
    double chiSquaredPValue = DriftMetrics.chiSquaredPValue(bins);
    DriftThresholds thresholds = limits.thresholdsFor(feature);
    boolean drifted;
    if (referenceRows == 0 || currentRows == 0) {
      drifted = false;
    } else if (referenceRows <= limits.smallSample()) {
      drifted = chiSquaredPValue < thresholds.chiSquaredPValue();
    } else {
      drifted = lInfinity >= thresholds.lInfinity() || jensenShannon >= thresholds.jensenShannon();
    }
    return new FeatureDrift(
        feature,
        psi(bins),
        CATEGORICAL,
        null,
        null,
        null,
        jensenShannon,
        lInfinity,
        chiSquaredPValue,
        drifted);
  }

  /** Returns the non-null, non-NaN values of a numeric column as doubles, sorted ascending. */
  private double[] sortedValues(String table, String column) throws SQLException {
    String value = "CAST(" + column + " AS DOUBLE)";
    String sql =
        "SELECT "
            + value
            + " AS v FROM "
            + table
            + " WHERE "
            + column
            + " IS NOT NULL AND NOT isnan("
            + value
            + ") ORDER BY v";
    double[] values = new double[16];
    int size = 0;
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
      while (result.next()) {
        if (size == values.length) {
          values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = result.getDouble(1);
      }
    }
    return Arrays.copyOf(values, size);
  }

  /** Returns the column's type when both schemas have the column with the same type. */
  private static Optional<ColumnType> commonType(String name, Schema reference, Schema current) {
    Optional<ColumnType> before = reference.column(name).map(Column::type);
    Optional<ColumnType> now = current.column(name).map(Column::type);
    return before.isPresent() && before.equals(now) ? before : Optional.empty();
  }

  /** Returns per bin the reference and current row counts, as {@code long[2]} each. */
  private List<long[]> numericBins(String column) throws SQLException {
    String value = "CAST(" + column + " AS DOUBLE)";
    String bin =
        "CASE WHEN "
            + column
            + " IS NULL THEN -1 ELSE len(list_filter(edges.e, lambda x: x <= "
            + value
            + ")) END";
    String edges =
        "SELECT coalesce(list_distinct(quantile_disc("
            + value
            + ", "
            + DECILES
            + ")), []::DOUBLE[]) AS e FROM "
            + referenceTable;
    return counts("edges AS (" + edges + ")", bin, ", edges");
  }

  private List<long[]> categoryBins(String expression, ColumnType type) throws SQLException {
    String text = ColumnTypes.text(expression, type);
    String top =
        "SELECT "
            + text
            + " AS v FROM "
            + referenceTable
            + " WHERE "
            + expression
            + " IS NOT NULL GROUP BY "
            + expression
            + " ORDER BY count(*) DESC, "
            + expression
            + " LIMIT "
            + CATEGORIES;
    String bin =
        "CASE WHEN "
            + expression
            + " IS NULL THEN 'null' WHEN "
            + text
            + " IN (SELECT v FROM top) THEN 'value:' || "
            + text
            + " ELSE 'other' END";
    return counts("top AS (" + top + ")", bin, "");
  }

  /**
   * Returns the reference and current row counts per bin. {@code with} defines one common table
   * expression that {@code bin} may use; {@code join} adds it to the FROM clause when {@code bin}
   * reads its columns.
   */
  private List<long[]> counts(String with, String bin, String join) throws SQLException {
    String sql =
        "WITH "
            + with
            + ", reference_bins AS (SELECT "
            + bin
            + " AS bin, count(*) AS n FROM "
            + referenceTable
            + join
            + " GROUP BY bin), current_bins AS (SELECT "
            + bin
            + " AS bin, count(*) AS n FROM "
            + currentTable
            + join
            + " GROUP BY bin) "
            + JOIN_BINS;
    return query(sql);
  }

  private static final String JOIN_BINS =
      "SELECT coalesce(r.n, 0), coalesce(c.n, 0) FROM reference_bins r"
          + " FULL OUTER JOIN current_bins c ON r.bin = c.bin";

  private List<long[]> query(String sql) throws SQLException {
    List<long[]> bins = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
      while (result.next()) {
        bins.add(new long[] {result.getLong(1), result.getLong(2)});
      }
    }
    return bins;
  }

  /** Computes PSI from per-bin {@code {reference count, current count}} pairs. */
  static double psi(List<long[]> bins) {
    long referenceTotal = 0;
    long currentTotal = 0;
    for (long[] bin : bins) {
      referenceTotal += bin[0];
      currentTotal += bin[1];
    }
    if (referenceTotal == 0 || currentTotal == 0) {
      return 0.0;
    }
    double psi = 0.0;
    for (long[] bin : bins) {
      double reference = Math.max((double) bin[0] / referenceTotal, FLOOR);
      double current = Math.max((double) bin[1] / currentTotal, FLOOR);
      psi += (current - reference) * Math.log(current / reference);
    }
    return psi;
  }

  /**
   * Returns the drift of every numeric, categorical and derived feature, in that order, measured
   * from the stored profiles of the two snapshots instead of their rows. Features, binning and
   * verdicts are those of {@link #measure(PipelineSpec, Schema, Schema)}, with these differences:
   *
   * <ul>
   *   <li>Numeric features: decile edges, Kolmogorov-Smirnov and Wasserstein come from the quantile
   *       sketches, so they carry the sketches' rank error; NaN values count in the null bin.
   *   <li>Categorical features: bin counts come from the frequent-value counters; they are exact
   *       while a column has at most as many distinct values as counters, and otherwise each count
   *       may be low by the sketch's {@code maxError()}.
   *   <li>Derived features: exact, from the hour-of-day and day-of-week counts.
   * </ul>
   *
   * <p>docs/profiles.md gives the error bounds and the differences measured on the flight data.
   */
  static List<FeatureDrift> measure(
      PipelineSpec spec, DatasetProfile reference, DatasetProfile current) {
    DriftSpec limits = spec.validation().drift();
    List<FeatureDrift> drift = new ArrayList<>();
    for (String feature : spec.features().numeric()) {
      Optional<ColumnSketch[]> pair = commonColumn(feature, reference, current);
      if (pair.isPresent() && pair.get()[0].type().isNumeric()) {
        drift.add(numericDrift(feature, pair.get()[0], pair.get()[1], limits));
      }
    }
    for (String feature : spec.features().categorical()) {
      Optional<ColumnSketch[]> pair = commonColumn(feature, reference, current);
      if (pair.isPresent()) {
        drift.add(categoricalDrift(feature, frequentBins(pair.get()[0], pair.get()[1]), limits));
      }
    }
    for (DerivedFeature derived : spec.features().derived()) {
      Optional<ColumnSketch[]> pair = commonColumn(derived.from(), reference, current);
      if (pair.isEmpty() || pair.get()[0].hours() == null) {
        continue;
      }
      ColumnSketch before = pair.get()[0];
      ColumnSketch after = pair.get()[1];
      List<long[]> bins =
          switch (derived.function()) {
            case "hour_of_day" -> calendarBins(before.hours(), after.hours(), 0, before, after);
            case "day_of_week" -> calendarBins(before.days(), after.days(), 1, before, after);
            default -> null;
          };
      if (bins != null) {
        drift.add(categoricalDrift(derived.name(), bins, limits));
      }
    }
    return drift;
  }

  /** Returns the dataset verdict for drift measured from profiles. */
  static DatasetDrift datasetDrift(
      PipelineSpec spec, DatasetProfile reference, DatasetProfile current) {
    return DatasetDrift.of(
        measure(spec, reference, current), spec.validation().drift().driftShare());
  }

  private static FeatureDrift numericDrift(
      String feature, ColumnSketch reference, ColumnSketch current, DriftSpec limits) {
    KllSketch.Cdf before = reference.quantiles().cdf();
    KllSketch.Cdf after = current.quantiles().cdf();
    List<long[]> bins = sketchBins(before, after, reference, current);
    double ks = DriftMetrics.ks(before, after);
    double scale =
        Math.max(Math.sqrt(reference.moments().populationVariance()), DriftMetrics.MIN_SCALE);
    double wasserstein =
        before.total() == 0 ? 0.0 : DriftMetrics.wasserstein(before, after) / scale;
    double jensenShannon = DriftMetrics.jensenShannon(bins);
    return numericVerdict(
        feature, bins, before.total(), after.total(), ks, wasserstein, jensenShannon, limits);
  }

  /**
   * Returns the decile bins of a numeric feature from the sketches. The edges are the distinct
   * sketched deciles of the reference. A value falls into the bin of the number of edges at or
   * below it. Nulls and NaN form one more bin.
   */
  private static List<long[]> sketchBins(
      KllSketch.Cdf before, KllSketch.Cdf after, ColumnSketch reference, ColumnSketch current) {
    double[] edges =
        IntStream.rangeClosed(1, 9)
            .mapToDouble(i -> before.quantile(i / 10.0))
            .filter(x -> !Double.isNaN(x))
            .distinct()
            .sorted()
            .toArray();
    List<long[]> bins = new ArrayList<>();
    long[] previous = {0, 0};
    for (double edge : edges) {
      long[] below = {before.rankBelow(edge), after.rankBelow(edge)};
      bins.add(new long[] {below[0] - previous[0], below[1] - previous[1]});
      previous = below;
    }
    bins.add(new long[] {before.total() - previous[0], after.total() - previous[1]});
    bins.add(new long[] {reference.nulls() + reference.nans(), current.nulls() + current.nans()});
    return bins;
  }

  /**
   * Returns the bins of a categorical feature from the frequent-value counters: the reference's
   * {@value #CATEGORIES} most frequent values (ties broken by the smaller value), every other
   * value, and nulls.
   */
  private static List<long[]> frequentBins(ColumnSketch reference, ColumnSketch current) {
    List<long[]> bins = new ArrayList<>();
    long[] listed = {0, 0};
    for (FrequentItems.Item item :
        reference.frequent().items().stream().limit(CATEGORIES).toList()) {
      long[] bin = {item.count(), current.frequent().count(item.value())};
      bins.add(bin);
      listed[0] += bin[0];
      listed[1] += bin[1];
    }
    long referenceValues = reference.rows() - reference.nulls();
    long currentValues = current.rows() - current.nulls();
    bins.add(
        new long[] {
          Math.max(0, referenceValues - listed[0]), Math.max(0, currentValues - listed[1])
        });
    bins.add(new long[] {reference.nulls(), current.nulls()});
    return bins;
  }

  /**
   * Returns the bins of a derived feature from exact per-value counts, binned as {@link
   * #frequentBins}: {@code counts[i]} counts the value {@code i + firstValue}.
   */
  private static List<long[]> calendarBins(
      long[] before, long[] after, int firstValue, ColumnSketch reference, ColumnSketch current) {
    List<Integer> top =
        IntStream.range(0, before.length)
            .filter(i -> before[i] > 0)
            .boxed()
            .sorted(
                Comparator.<Integer>comparingLong(i -> before[i])
                    .reversed()
                    .thenComparingInt(i -> i + firstValue))
            .limit(CATEGORIES)
            .toList();
    List<long[]> bins = new ArrayList<>();
    long[] other = {Arrays.stream(before).sum(), Arrays.stream(after).sum()};
    for (int i : top) {
      bins.add(new long[] {before[i], after[i]});
      other[0] -= before[i];
      other[1] -= after[i];
    }
    bins.add(other);
    bins.add(new long[] {reference.nulls(), current.nulls()});
    return bins;
  }

  /** Returns the reference and current sketches of a column when both have it with one type. */
  private static Optional<ColumnSketch[]> commonColumn(
      String name, DatasetProfile reference, DatasetProfile current) {
    Optional<ColumnSketch> before = reference.column(name);
    Optional<ColumnSketch> after = current.column(name);
    if (before.isEmpty() || after.isEmpty() || before.get().type() != after.get().type()) {
      return Optional.empty();
    }
    return Optional.of(new ColumnSketch[] {before.get(), after.get()});
  }
}
