package dev.evergreen.core.snapshot;

import static dev.evergreen.core.data.DuckDb.identifier;

import dev.evergreen.api.data.Column;
import dev.evergreen.api.data.ColumnProfile;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.Profile;
import dev.evergreen.api.data.Schema;
import dev.evergreen.api.data.ValueCount;
import dev.evergreen.core.data.ColumnTypes;
import dev.evergreen.core.profile.SnapshotProfiles;
import dev.evergreen.core.store.ArtifactStore;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Computes a snapshot's profile: the row count and, per column, nulls, min, max, mean and sample
 * standard deviation (numeric columns only), approximate distinct count (HyperLogLog) and the ten
 * most frequent values. Counts, extremes and moments come from one aggregate query; the frequent
 * values need one grouped query per column. Double columns with values beyond {@value
 * #LARGE_MAGNITUDE} in magnitude get their moments from the values scaled by a power of two, so
 * that sums and squares do not overflow. A standard deviation that still exceeds the largest
 * double, as for values near ±1.7976931348623157E308, is stored as null. The mergeable binary
 * profile that drift is measured from ({@link dev.evergreen.core.profile.DatasetProfile}) is built
 * in one further pass over the stored Parquet file and referenced by {@link Profile#sketchKey()}.
 */
final class Profiler {
  static final int TOP_VALUES = 10;

  private static final int STATS_PER_COLUMN = 6;

  /**
   * Magnitude above which a double column's moments are computed from scaled values. Squares of
   * values up to 1e100 and their sums over any realistic row count stay far below the largest
   * double, about 1.8e308, and DuckDB 1.5.6 fails the whole query when {@code stddev_samp}
   * overflows.
   */
  static final double LARGE_MAGNITUDE = 1e100;

  private Profiler() {}

  /**
   * Computes the profile of {@code table} and stores the binary profile of the snapshot's Parquet
   * file, already stored under {@code parquetKey}.
   *
   * @param threads DuckDB threads of the pass over the Parquet file
   */
  static Profile of(
      Connection connection,
      String table,
      Schema schema,
      ArtifactStore artifacts,
      String parquetKey,
      int threads)
      throws SQLException, IOException {
    Profile profile = of(connection, table, schema);
    Path parquet = artifacts.localPath(parquetKey);
    return profile.withSketchKey(SnapshotProfiles.store(artifacts, parquet, schema, threads));
  }

  static Profile of(Connection connection, String table, Schema schema) throws SQLException {
    List<Column> columns = schema.columns();
    Map<String, Integer> exponents = scaleExponents(connection, table, columns);
    StringBuilder sql = new StringBuilder("SELECT count(*)");
    for (Column column : columns) {
      String name = identifier(column.name());
      boolean numeric = column.type().isNumeric();
      Integer exponent = exponents.get(column.name());
      // Multiplying by a power of two is exact except for values that underflow, which lie far
      // below the rounding error of the sum.
      String scaled =
          exponent == null ? name : name + " * " + doubleLiteral(Math.scalb(1.0, -exponent));
      sql.append(", count(*) - count(").append(name).append(")");
      sql.append(", ").append(ColumnTypes.text("min(" + name + ")", column.type()));
      sql.append(", ").append(ColumnTypes.text("max(" + name + ")", column.type()));
      sql.append(", ").append(numeric ? "avg(" + scaled + ")" : "NULL");
      sql.append(", ").append(numeric ? "stddev_samp(" + scaled + ")" : "NULL");
      sql.append(", approx_count_distinct(").append(name).append(")");
    }
    sql.append(" FROM ").append(table);

    long rowCount;
    List<ColumnProfile> profiles = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql.toString())) {
      result.next();
      rowCount = result.getLong(1);
      for (int i = 0; i < columns.size(); i++) {
        int base = 2 + i * STATS_PER_COLUMN;
        Column column = columns.get(i);
        int exponent = exponents.getOrDefault(column.name(), 0);
        profiles.add(
            new ColumnProfile(
                column.name(),
                column.type(),
                result.getLong(base),
                result.getString(base + 1),
                result.getString(base + 2),
                unscaled(doubleOrNull(result, base + 3), exponent),
                unscaled(doubleOrNull(result, base + 4), exponent),
                result.getLong(base + 5),
                topValues(connection, table, column)));
      }
    }
    return new Profile(rowCount, profiles);
  }

  /**
   * Computes the row count and each column's null count in one aggregate query, for checks that
   * need no other statistic. The other fields of each column profile are null, 0 or empty.
   */
  static Profile counts(Connection connection, String table, Schema schema) throws SQLException {
    List<Column> columns = schema.columns();
    StringBuilder sql = new StringBuilder("SELECT count(*)");
    for (Column column : columns) {
      sql.append(", count(*) - count(").append(identifier(column.name())).append(")");
    }
    sql.append(" FROM ").append(table);

    long rowCount;
    List<ColumnProfile> profiles = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql.toString())) {
      result.next();
      rowCount = result.getLong(1);
      for (int i = 0; i < columns.size(); i++) {
        Column column = columns.get(i);
        profiles.add(
            new ColumnProfile(
                column.name(),
                column.type(),
                result.getLong(2 + i),
                null,
                null,
                null,
                null,
                0,
                List.of()));
      }
    }
    return new Profile(rowCount, profiles);
  }

  /** Returns the most frequent non-null values, ties broken by the smaller value. */
  private static List<ValueCount> topValues(Connection connection, String table, Column column)
      throws SQLException {
    String name = identifier(column.name());
    String sql =
        "SELECT "
            + ColumnTypes.text(name, column.type())
            + ", count(*) AS n FROM "
            + table
            + " WHERE "
            + name
            + " IS NOT NULL GROUP BY "
            + name
            + " ORDER BY n DESC, "
            + name
            + " LIMIT "
            + TOP_VALUES;
    List<ValueCount> values = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
      while (result.next()) {
        values.add(new ValueCount(result.getString(1), result.getLong(2)));
      }
    }
    return values;
  }

  /**
   * Returns, for each double column with a value beyond {@link #LARGE_MAGNITUDE} in magnitude, the
   * exponent {@code e} such that its values divided by {@code 2^e} lie within (-1, 1).
   */
  private static Map<String, Integer> scaleExponents(
      Connection connection, String table, List<Column> columns) throws SQLException {
    List<Column> doubles =
        columns.stream().filter(column -> column.type() == ColumnType.DOUBLE).toList();
    Map<String, Integer> exponents = new HashMap<>();
    if (doubles.isEmpty()) {
      return exponents;
    }
    String select =
        doubles.stream()
            .map(column -> "max(abs(" + identifier(column.name()) + "))")
            .collect(Collectors.joining(", "));
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery("SELECT " + select + " FROM " + table)) {
      result.next();
      for (int i = 0; i < doubles.size(); i++) {
        double largest = result.getDouble(i + 1);
        if (!result.wasNull() && largest > LARGE_MAGNITUDE && Double.isFinite(largest)) {
          exponents.put(doubles.get(i).name(), Math.getExponent(largest) + 1);
        }
      }
    }
    return exponents;
  }

  /**
   * Multiplies a moment of scaled values by {@code 2^exponent}, and returns null when the result
   * exceeds the largest double.
   */
  private static Double unscaled(Double value, int exponent) {
    if (value == null || exponent == 0) {
      return value;
    }
    double result = Math.scalb(value, exponent);
    return Double.isFinite(result) ? result : null;
  }

  /** Renders a double as a SQL expression of exactly that value. */
  private static String doubleLiteral(double value) {
    // Double.toString gives the shortest text that reads back as the same double.
    return "CAST('" + value + "' AS DOUBLE)";
  }

  private static Double doubleOrNull(ResultSet result, int index) throws SQLException {
    double value = result.getDouble(index);
    return result.wasNull() ? null : value;
  }
}
