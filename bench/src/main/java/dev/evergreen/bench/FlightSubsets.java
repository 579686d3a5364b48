package dev.evergreen.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;

/**
 * Writes subsets of the flights Parquet file with DuckDB, outside any timed section.
 *
 * <p>As a program it writes one month: options {@code --data}, {@code --month} such as {@code
 * 2001-01}, {@code --out} Parquet file.
 */
public final class FlightSubsets {
  private FlightSubsets() {}

  public static void main(String[] args) throws SQLException {
    Options options = new Options(args);
    Path data = options.path("data", "data/flights/flights-3m.parquet");
    LocalDate month = LocalDate.parse(options.text("month", "2001-01") + "-01");
    Path out = options.path("out", "bench/target/" + options.text("month", "2001-01") + ".parquet");
    monthRows(data, month, Integer.MAX_VALUE, out);
    System.out.println("wrote " + out);
  }

  /** Writes the first {@code rows} rows of {@code source}, in file order, as Parquet. */
  static Path firstRows(Path source, long rows, Path target) throws SQLException {
    return copy(
        "SELECT * FROM read_parquet(" + literal(source) + ") LIMIT " + rows, target, source);
  }

  /**
   * Writes the first {@code rows} rows, in file order, whose {@code date} falls in the month that
   * starts at {@code monthStart}.
   */
  static Path monthRows(Path source, LocalDate monthStart, long rows, Path target)
      throws SQLException {
    String sql =
        "SELECT * FROM read_parquet("
            + literal(source)
            + ") WHERE date >= TIMESTAMP '"
            + monthStart
            + "' AND date < TIMESTAMP '"
            + monthStart.plusMonths(1)
            + "' LIMIT "
            + rows;
    return copy(sql, target, source);
  }

  private static Path copy(String select, Path target, Path source) throws SQLException {
    if (!Files.isRegularFile(source)) {
      throw new IllegalArgumentException(
          "flights data " + source + " not found; pass the path of flights-3m.parquet");
    }
    try (Connection connection = DriverManager.getConnection("jdbc:duckdb:");
        Statement statement = connection.createStatement()) {
      statement.execute("SET threads = 2");
      // Keeps file order, so the first rows of the subset are the first rows of the source.
      statement.execute("SET preserve_insertion_order = true");
      statement.execute("COPY (" + select + ") TO " + literal(target) + " (FORMAT parquet)");
    }
    return target;
  }

  static String literal(Path path) {
    return "'" + path.toAbsolutePath().toString().replace("'", "''") + "'";
  }
}
