package dev.evergreen.core.training;

import dev.evergreen.api.pipeline.DeploymentSpec;
import dev.evergreen.api.pipeline.DerivedFeature;
import dev.evergreen.api.pipeline.EvaluationSpec;
import dev.evergreen.api.pipeline.FeaturesSpec;
import dev.evergreen.api.pipeline.LabelSpec;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.SourceSpec;
import dev.evergreen.api.pipeline.SplitSpec;
import dev.evergreen.api.pipeline.TrainerSpec;
import dev.evergreen.core.TestData;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes small Parquet samples of the flight data and builds pipelines over them.
 *
 * <p>A sample contains January 2001 rows in hash order (not time order), with the columns of the
 * flight file plus {@code delay_class} ({@code early} below 0 minutes, {@code on_time} below 15,
 * {@code late} otherwise). One row in 40 has a null {@code delay} and {@code delay_class}.
 */
public final class FlightSamples {
  private FlightSamples() {}

  /** Writes a sample of {@code rows} rows to {@code dir/flights-<rows>.parquet}. */
  public static Path write(Path dir, int rows) throws SQLException {
    Path file = dir.resolve("flights-" + rows + ".parquet");
    String sql =
        """
        COPY (
          WITH sample AS (
            SELECT date, distance, origin, destination,
                   CASE WHEN hash(date, origin, destination, distance) %% 40 = 0 THEN NULL
                        ELSE delay END AS delay
            FROM read_parquet('%s')
            WHERE date < TIMESTAMP '2001-02-01'
            ORDER BY hash(date, origin, destination, distance, delay), date, origin, destination
            LIMIT %d)
          SELECT date, delay, distance, origin, destination,
                 CASE WHEN delay IS NULL THEN NULL
                      WHEN delay < 0 THEN 'early'
                      WHEN delay < 15 THEN 'on_time'
                      ELSE 'late' END AS delay_class
          FROM sample
          ORDER BY hash(date, origin, destination, distance, delay), date, origin, destination)
        TO '%s' (FORMAT parquet)
        """
            .formatted(TestData.flights(), rows, file);
    try (Connection connection = DriverManager.getConnection("jdbc:duckdb:");
        Statement statement = connection.createStatement()) {
      statement.execute("SET threads = 1");
      statement.execute(sql);
    }
    return file;
  }

  /** Flight features: distance, origin, destination, and hour and day of week of {@code date}. */
  public static FeaturesSpec features() {
    return new FeaturesSpec(
        List.of("distance"),
        List.of("origin", "destination"),
        List.of(
            new DerivedFeature("hour", "date", "hour_of_day"),
            new DerivedFeature("day_of_week", "date", "day_of_week")),
        null);
  }

  /** Predicts whether a flight arrives more than 15 minutes late. */
  public static PipelineSpec binary(SplitSpec split) {
    return pipeline(new LabelSpec("delay", 15.0), features(), split, trainer("binary:logistic"));
  }

  /** Predicts {@code delay_class}. */
  public static PipelineSpec multiClass(SplitSpec split) {
    return pipeline(
        new LabelSpec("delay_class", null), features(), split, trainer("multi:softprob"));
  }

  /** Predicts the delay in minutes. */
  public static PipelineSpec regression(SplitSpec split) {
    return pipeline(new LabelSpec("delay", null), features(), split, trainer("reg:squarederror"));
  }

  public static TrainerSpec trainer(String objective) {
    return new TrainerSpec(
        "xgboost", objective, 30, 7L, 2, Map.of("max_depth", 4, "eta", 0.3, "subsample", 0.8));
  }

  public static PipelineSpec pipeline(
      LabelSpec label, FeaturesSpec features, SplitSpec split, TrainerSpec trainer) {
    return new PipelineSpec(
        "flights",
        new SourceSpec(null, "flights.parquet", null, null, null),
        null,
        label,
        features,
        split,
        trainer,
        null,
        new EvaluationSpec("auc", 0.001, null),
        new DeploymentSpec("flights", null, null, null));
  }

  /** Raw columns of a sample file, in file order, read independently of {@link DatasetLoader}. */
  public record Rows(
      long[] micros, double[] delay, double[] distance, String[] origin, String[] destination) {
    public int size() {
      return micros.length;
    }
  }

  /** Reads every row of a sample in file order. {@code delay} is NaN where null. */
  public static Rows read(Path file) throws SQLException {
    List<long[]> micros = new ArrayList<>();
    List<Double> delay = new ArrayList<>();
    List<Double> distance = new ArrayList<>();
    List<String> origin = new ArrayList<>();
    List<String> destination = new ArrayList<>();
    String sql =
        "SELECT epoch_us(date), delay, distance, origin, destination FROM read_parquet('"
            + file
            + "', file_row_number = true) ORDER BY file_row_number";
    try (Connection connection = DriverManager.getConnection("jdbc:duckdb:");
        Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
      while (result.next()) {
        micros.add(new long[] {result.getLong(1)});
        long value = result.getLong(2);
        delay.add(result.wasNull() ? Double.NaN : value);
        distance.add((double) result.getLong(3));
        origin.add(result.getString(4));
        destination.add(result.getString(5));
      }
    }
    return new Rows(
        micros.stream().mapToLong(m -> m[0]).toArray(),
        delay.stream().mapToDouble(Double::doubleValue).toArray(),
        distance.stream().mapToDouble(Double::doubleValue).toArray(),
        origin.toArray(new String[0]),
        destination.toArray(new String[0]));
  }
}
