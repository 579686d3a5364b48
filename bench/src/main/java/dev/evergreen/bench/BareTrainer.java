package dev.evergreen.bench;

import dev.evergreen.api.pipeline.DerivedFeature;
import dev.evergreen.api.pipeline.PipelineSpec;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import ml.dmlc.xgboost4j.java.XGBoost;
import ml.dmlc.xgboost4j.java.XGBoostError;

/**
 * The baseline of the overhead benchmark: XGBoost training on the flights data with nothing around
 * it. DuckDB reads the columns, plain Java builds the float matrix, and XGBoost4J trains with the
 * pipeline's parameters.
 *
 * <p>It trains on exactly the rows the platform trains on: rows with a null delay are dropped, and
 * the random split draws one {@link SplittableRandom#nextDouble()} per file row from a generator
 * seeded with the pipeline's split seed. Categories are coded by descending training frequency,
 * then by value, like the platform, so both trainings see the same matrix and, with the same
 * XGBoost build, produce the same model file; {@link Result#modelSha256} lets the caller check.
 */
final class BareTrainer {
  /** Features in the platform's encoding order: numeric, categorical, then derived. */
  static final List<String> FEATURES =
      List.of("distance", "origin", "destination", "hour", "day_of_week");

  private final PipelineSpec spec;
  private final int duckDbThreads;

  /**
   * Timings in seconds of one bare training.
   *
   * @param readSeconds DuckDB query and copying its result into Java arrays
   * @param encodeSeconds split, category codes and the row-major float matrix
   * @param trainSeconds DMatrix creation, {@code XGBoost.train} and serializing the model
   * @param totalSeconds all of the above
   * @param trainRows rows XGBoost trained on
   * @param modelSha256 SHA-256 of the model in XGBoost's JSON format
   */
  record Result(
      double readSeconds,
      double encodeSeconds,
      double trainSeconds,
      double totalSeconds,
      int trainRows,
      String modelSha256) {}

  BareTrainer(PipelineSpec spec, int duckDbThreads) {
    checkSpec(spec);
    this.spec = spec;
    this.duckDbThreads = duckDbThreads;
  }

  /** Rejects pipelines whose features this hand-written baseline does not reproduce. */
  private static void checkSpec(PipelineSpec spec) {
    List<String> names = new ArrayList<>();
    names.addAll(spec.features().numeric());
    names.addAll(spec.features().categorical());
    for (DerivedFeature derived : spec.features().derived()) {
      names.add(derived.name());
      String expected = derived.name().equals("hour") ? "hour_of_day" : "day_of_week";
      if (!derived.from().equals("date") || !derived.function().equals(expected)) {
        throw new IllegalArgumentException(
            "derived feature '" + derived.name() + "' must be " + expected + " of date");
      }
    }
    boolean labelMatches =
        spec.label().column().equals("delay")
            && Double.valueOf(15).equals(spec.label().greaterThan());
    if (!names.equals(FEATURES)
        || !labelMatches
        || !spec.trainer().objective().equals("binary:logistic")
        || !spec.split().method().equals("random")) {
      throw new IllegalArgumentException(
          "the bare trainer reproduces only the flights-delay pipeline (features "
              + FEATURES
              + ", label delay > 15, binary:logistic, random split); pipeline '"
              + spec.name()
              + "' has features "
              + names
              + ", so pass examples/flights-delay/pipeline.yaml");
    }
  }

  /** XGBoost parameters as the platform builds them: the spec's own, objective, seed, nthread. */
  Map<String, Object> params() {
    Map<String, Object> params = new TreeMap<>(spec.trainer().params());
    params.put("objective", spec.trainer().objective());
    params.put("seed", spec.trainer().seed());
    params.put("nthread", spec.trainer().threads());
    return new LinkedHashMap<>(params);
  }

  Result train(Path parquet) throws SQLException, XGBoostError {
    long start = System.nanoTime();
    Columns columns = read(parquet);
    long read = System.nanoTime();
    Matrix matrix = encode(columns);
    long encoded = System.nanoTime();
    String sha;
    DMatrix train = new DMatrix(matrix.features, matrix.rows, FEATURES.size(), Float.NaN);
    Booster booster = null;
    try {
      train.setLabel(matrix.labels);
      booster =
          XGBoost.train(train, params(), spec.trainer().rounds(), new HashMap<>(), null, null);
      sha = sha256(booster.toByteArray("json"));
    } finally {
      if (booster != null) {
        booster.dispose();
      }
      train.dispose();
    }
    long end = System.nanoTime();
    return new Result(
        (read - start) / 1e9,
        (encoded - read) / 1e9,
        (end - encoded) / 1e9,
        (end - start) / 1e9,
        matrix.rows,
        sha);
  }

  /** Labeled rows of the file, one array per column, in file order. */
  private static final class Columns {
    int rows;
    long[] rowNumbers;
    float[] labels;
    float[] distance;
    int[] origin;
    int[] destination;
    float[] hour;
    float[] dayOfWeek;
    final List<String> originValues = new ArrayList<>();
    final List<String> destinationValues = new ArrayList<>();
  }

  /** Training rows as XGBoost takes them. */
  private record Matrix(float[] features, float[] labels, int rows) {}

  private Columns read(Path parquet) throws SQLException {
    String source = "read_parquet(" + FlightSubsets.literal(parquet) + ", file_row_number = true)";
    String labeled = "delay IS NOT NULL AND NOT isnan(CAST(delay AS DOUBLE))";
    Columns columns = new Columns();
    try (Connection connection = DriverManager.getConnection("jdbc:duckdb:");
        Statement statement = connection.createStatement()) {
      statement.execute("SET threads = " + duckDbThreads);
      try (ResultSet count =
          statement.executeQuery("SELECT count(*) FROM " + source + " WHERE " + labeled)) {
        count.next();
        columns.rows = Math.toIntExact(count.getLong(1));
      }
      int rows = columns.rows;
      columns.rowNumbers = new long[rows];
      columns.labels = new float[rows];
      columns.distance = new float[rows];
      columns.origin = new int[rows];
      columns.destination = new int[rows];
      columns.hour = new float[rows];
      columns.dayOfWeek = new float[rows];
      Map<String, Integer> originCodes = new HashMap<>();
      Map<String, Integer> destinationCodes = new HashMap<>();
      // hour() and isodow() of a TIMESTAMP without a zone read its wall clock, which the platform
      // defines as UTC; isodow is 1 for Monday to 7 for Sunday, as the platform's day_of_week.
      String sql =
          "SELECT file_row_number, CAST(delay AS DOUBLE) > 15, CAST(distance AS DOUBLE),"
              + " CAST(origin AS VARCHAR), CAST(destination AS VARCHAR), hour(date), isodow(date)"
              + " FROM "
              + source
              + " WHERE "
              + labeled
              + " ORDER BY file_row_number";
      try (ResultSet result = statement.executeQuery(sql)) {
        int row = 0;
        while (result.next()) {
          columns.rowNumbers[row] = result.getLong(1);
          columns.labels[row] = result.getBoolean(2) ? 1f : 0f;
          columns.distance[row] = floatOrNaN(result, 3);
          columns.origin[row] = code(result.getString(4), originCodes, columns.originValues);
          columns.destination[row] =
              code(result.getString(5), destinationCodes, columns.destinationValues);
          columns.hour[row] = floatOrNaN(result, 6);
          columns.dayOfWeek[row] = floatOrNaN(result, 7);
          row++;
        }
        if (row != rows) {
          throw new IllegalStateException(
              parquet + " returned " + row + " labeled rows but " + rows + " were counted");
        }
      }
    }
    return columns;
  }

  private Matrix encode(Columns columns) {
    int rows = columns.rows;
    boolean[] holdout = new boolean[rows];
    SplittableRandom random = new SplittableRandom(spec.split().seed());
    double fraction = spec.split().holdoutFraction();
    long drawn = 0;
    double draw = 0;
    int trainRows = 0;
    for (int i = 0; i < rows; i++) {
      while (drawn <= columns.rowNumbers[i]) {
        draw = random.nextDouble();
        drawn++;
      }
      holdout[i] = draw < fraction;
      trainRows += holdout[i] ? 0 : 1;
    }
    int[] originCodes = frequencyOrder(columns.origin, columns.originValues, holdout);
    int[] destinationCodes =
        frequencyOrder(columns.destination, columns.destinationValues, holdout);

    int width = FEATURES.size();
    float[] features = new float[trainRows * width];
    float[] labels = new float[trainRows];
    int t = 0;
    for (int i = 0; i < rows; i++) {
      if (holdout[i]) {
        continue;
      }
      int at = t * width;
      features[at] = columns.distance[i];
      features[at + 1] = categoryValue(columns.origin[i], originCodes);
      features[at + 2] = categoryValue(columns.destination[i], destinationCodes);
      features[at + 3] = columns.hour[i];
      features[at + 4] = columns.dayOfWeek[i];
      labels[t++] = columns.labels[i];
    }
    return new Matrix(features, labels, trainRows);
  }

  /**
   * Returns the final code of each first-seen code: values seen in training rows ordered by
   * descending count, then by value; -1 for values seen only in holdout rows.
   */
  private static int[] frequencyOrder(int[] codes, List<String> values, boolean[] holdout) {
    int[] counts = new int[values.size()];
    for (int i = 0; i < codes.length; i++) {
      if (!holdout[i] && codes[i] >= 0) {
        counts[codes[i]]++;
      }
    }
    List<Integer> seen = new ArrayList<>();
    for (int code = 0; code < counts.length; code++) {
      if (counts[code] > 0) {
        seen.add(code);
      }
    }
    seen.sort(Comparator.<Integer>comparingInt(code -> -counts[code]).thenComparing(values::get));
    int[] finalCodes = new int[counts.length];
    Arrays.fill(finalCodes, -1);
    for (int i = 0; i < seen.size(); i++) {
      finalCodes[seen.get(i)] = i;
    }
    return finalCodes;
  }

  private static float categoryValue(int code, int[] finalCodes) {
    int finalCode = code < 0 ? -1 : finalCodes[code];
    return finalCode < 0 ? Float.NaN : finalCode;
  }

  private static int code(String value, Map<String, Integer> codes, List<String> values) {
    if (value == null) {
      return -1;
    }
    Integer code = codes.get(value);
    if (code == null) {
      code = values.size();
      codes.put(value, code);
      values.add(value);
    }
    return code;
  }

  private static float floatOrNaN(ResultSet result, int column) throws SQLException {
    double value = result.getDouble(column);
    return result.wasNull() ? Float.NaN : (float) value;
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }
}
