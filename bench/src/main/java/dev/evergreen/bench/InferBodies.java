package dev.evergreen.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Writes Open Inference Protocol V2 request bodies for the flights-delay model from real flights,
 * taken from March 2001 so that they are not rows the January model trained on.
 *
 * <p>Options: {@code --data} flights Parquet, {@code --rows} comma-separated row counts (one body
 * per count), {@code --out} folder; body {@code n} is written to {@code body-<n>.json}.
 */
public final class InferBodies {
  private InferBodies() {}

  /** One flight as the model's inputs take it. */
  private record Flight(String date, double distance, String origin, String destination) {}

  public static void main(String[] args) throws Exception {
    Options options = new Options(args);
    Path data = options.path("data", "data/flights/flights-3m.parquet");
    Path out = options.path("out", "bench/target/infer");
    List<Integer> counts = options.integers("rows", "1,100");
    Files.createDirectories(out);
    int largest = counts.stream().mapToInt(Integer::intValue).max().orElse(1);
    List<Flight> flights = read(data, largest);
    for (int count : counts) {
      Path file = out.resolve("body-" + count + ".json");
      Files.writeString(file, body(flights.subList(0, count)), StandardCharsets.UTF_8);
      System.out.println("wrote " + file);
    }
  }

  private static List<Flight> read(Path data, int rows) throws SQLException {
    String sql =
        "SELECT strftime(date, '%Y-%m-%dT%H:%M:%S'), CAST(distance AS DOUBLE), origin, destination"
            + " FROM read_parquet("
            + FlightSubsets.literal(data)
            + ") WHERE date >= TIMESTAMP '2001-03-01' AND date < TIMESTAMP '2001-04-01'"
            + " AND distance IS NOT NULL AND origin IS NOT NULL AND destination IS NOT NULL"
            + " LIMIT "
            + rows;
    List<Flight> flights = new ArrayList<>();
    try (Connection connection = DriverManager.getConnection("jdbc:duckdb:");
        Statement statement = connection.createStatement()) {
      statement.execute("SET threads = 2");
      try (ResultSet result = statement.executeQuery(sql)) {
        while (result.next()) {
          flights.add(
              new Flight(
                  result.getString(1),
                  result.getDouble(2),
                  result.getString(3),
                  result.getString(4)));
        }
      }
    }
    if (flights.size() < rows) {
      throw new IllegalStateException(
          data + " has only " + flights.size() + " usable March 2001 rows; " + rows + " needed");
    }
    return flights;
  }

  /** Builds the request JSON; the values are dates, numbers and airport codes, never quotes. */
  static String body(List<Flight> flights) {
    int rows = flights.size();
    StringBuilder json = new StringBuilder();
    json.append("{\"inputs\":[");
    appendTexts(json, "date", rows, flights.stream().map(Flight::date).toList());
    json.append(',');
    json.append("{\"name\":\"distance\",\"shape\":[").append(rows);
    json.append("],\"datatype\":\"FP64\",\"data\":[");
    for (int i = 0; i < rows; i++) {
      json.append(i == 0 ? "" : ",");
      json.append(String.format(Locale.ROOT, "%.1f", flights.get(i).distance()));
    }
    json.append("]},");
    appendTexts(json, "origin", rows, flights.stream().map(Flight::origin).toList());
    json.append(',');
    appendTexts(json, "destination", rows, flights.stream().map(Flight::destination).toList());
    json.append("]}");
    return json.toString();
  }

  private static void appendTexts(StringBuilder json, String name, int rows, List<String> values) {
    json.append("{\"name\":\"").append(name).append("\",\"shape\":[").append(rows);
    json.append("],\"datatype\":\"BYTES\",\"data\":[");
    for (int i = 0; i < rows; i++) {
      String value = values.get(i);
      if (value.indexOf('"') >= 0 || value.indexOf('\\') >= 0) {
        throw new IllegalArgumentException("value '" + value + "' needs JSON escaping");
      }
      json.append(i == 0 ? "\"" : ",\"").append(value).append('"');
    }
    json.append("]}");
  }
}
