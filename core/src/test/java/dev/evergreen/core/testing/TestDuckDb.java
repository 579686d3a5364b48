package dev.evergreen.core.testing;

import dev.evergreen.core.data.DuckDb;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs SQL on a fresh in-memory DuckDB database with one thread, for preparing and checking files.
 */
public final class TestDuckDb {
  private TestDuckDb() {}

  /** Runs statements in order on one connection. */
  public static void execute(String... statements) {
    try (Connection connection = DuckDb.open(1, "1GB");
        Statement statement = connection.createStatement()) {
      for (String sql : statements) {
        statement.execute(sql);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("DuckDB failed: " + e.getMessage(), e);
    }
  }

  /** Returns the rows of a query, every value as text (null stays null). */
  public static List<List<String>> rows(String sql) {
    try (Connection connection = DuckDb.open(1, "1GB");
        Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
      int columns = result.getMetaData().getColumnCount();
      List<List<String>> rows = new ArrayList<>();
      while (result.next()) {
        List<String> row = new ArrayList<>();
        for (int i = 1; i <= columns; i++) {
          row.add(result.getString(i));
        }
        rows.add(row);
      }
      return rows;
    } catch (SQLException e) {
      throw new IllegalStateException("DuckDB failed: " + e.getMessage(), e);
    }
  }

  /** Returns the single value of a query as text. */
  public static String value(String sql) {
    return rows(sql).get(0).get(0);
  }

  /** Quotes a path for SQL. */
  public static String path(Path file) {
    return DuckDb.path(file);
  }

  /**
   * Writes {@code rows} flights of {@code month} (1 to 6) of 2001 to a Parquet file: every k-th
   * flight of the month in file order, so that the rows cover the whole month.
   */
  public static Path flightsMonth(Path target, int month, int rows) {
    String flights = path(dev.evergreen.core.TestData.flights());
    String inMonth =
        String.format(
            "date >= TIMESTAMP '2001-%02d-01' AND date < TIMESTAMP '2001-%02d-01'",
            month, month + 1);
    long total = Long.parseLong(value("SELECT count(*) FROM " + flights + " WHERE " + inMonth));
    long step = Math.max(1, total / rows);
    execute(
        "COPY (SELECT date, delay, distance, origin, destination FROM (SELECT *,"
            + " row_number() OVER (ORDER BY file_row_number) AS n FROM read_parquet("
            + flights
            + ", file_row_number = true) WHERE "
            + inMonth
            + ") WHERE n % "
            + step
            + " = 0 ORDER BY n LIMIT "
            + rows
            + ") TO "
            + path(target)
            + " (FORMAT parquet)");
    return target;
  }
}
