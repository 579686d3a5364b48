package dev.evergreen.cli;

import dev.evergreen.core.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;

/** Writes small batches of the real flight data for tests. */
final class FlightBatches {
  private FlightBatches() {}

  /**
   * Writes the first {@code rows} flights of a month (1 to 6) as Parquet, with an optional SQL
   * expression replacing the {@code distance} column.
   */
  static Path month(Path folder, int month, int rows, String distanceExpression) throws Exception {
    Files.createDirectories(folder);
    String suffix = distanceExpression == null ? "" : "-corrupted";
    Path file = folder.resolve(String.format("2001-%02d%s-%d.parquet", month, suffix, rows));
    String distance = distanceExpression == null ? "distance" : distanceExpression + " AS distance";
    try (Connection duckdb = DriverManager.getConnection("jdbc:duckdb:");
        Statement statement = duckdb.createStatement()) {
      statement.execute("SET threads = 1");
      statement.execute(
          String.format(
              "COPY (SELECT date, delay, %s, origin, destination FROM read_parquet('%s')"
                  + " WHERE month(date) = %d ORDER BY date LIMIT %d) TO '%s' (FORMAT parquet)",
              distance, TestData.flights(), month, rows, file));
    }
    return file;
  }

  /** Writes a pipeline file for the flight data with a small, fast trainer. */
  static Path pipeline(Path folder, int rounds) throws Exception {
    Files.createDirectories(folder);
    Path file = folder.resolve("flights-delay.yaml");
    Files.writeString(
        file,
        """
        name: flights-delay
        source:
          landing: landing
          stableSeconds: 0
        data:
          columns:
            date: timestamp
            delay: integer
            distance: integer
            origin: string
            destination: string
        label:
          column: delay
          greaterThan: 15
        features:
          numeric: [distance]
          categorical: [origin, destination]
          derived:
            - {name: hour, from: date, function: hour_of_day}
            - {name: day_of_week, from: date, function: day_of_week}
        split:
          method: random
          holdoutFraction: 0.2
          seed: 42
        trainer:
          objective: binary:logistic
          rounds: %d
          seed: 7
          threads: 1
          params:
            max_depth: 5
            eta: 0.3
        validation:
          inferRules: true
          drift:
            warning: 0.1
        evaluation:
          metric: auc
          minImprovement: 0.0
          floors:
            auc: 0.55
        deployment:
          model: flights-delay
          checkRows: 50
        """
            .formatted(rounds));
    return file;
  }
}
