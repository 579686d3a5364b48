package dev.evergreen.core.training;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.DerivedFeature;
import dev.evergreen.api.pipeline.FeaturesSpec;
import dev.evergreen.api.pipeline.LabelSpec;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.SplitSpec;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.validation.LabelClasses;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a snapshot Parquet file with DuckDB, prepares labels, splits the rows into training and
 * holdout rows, learns the categorical dictionaries from the training rows and encodes them.
 *
 * <p>Values live in one primitive array per column, so memory grows by a few dozen bytes per row
 * and 500,000 rows take tens of megabytes. Holdout timestamps are the exception: they are kept as
 * text, one string per holdout row, because the holdout stores raw inputs.
 */
public final class DatasetLoader {
  private static final Logger LOG = LoggerFactory.getLogger(DatasetLoader.class);

  /** Marks a null timestamp in a column of epoch microseconds. */
  private static final long NULL_TIME = Long.MIN_VALUE;

  private DatasetLoader() {}

  /**
   * Loads a snapshot for training.
   *
   * <p>Rows whose label is null (or NaN) are dropped and counted. The split follows {@code
   * spec.split()}: {@code random} draws one {@link SplittableRandom#nextDouble()} per file row, in
   * file order and dropped rows included, from a generator seeded with the split seed, and holds
   * out the row when the draw is below {@code holdoutFraction}; {@code time} holds out the {@code
   * round(rows * holdoutFraction)} newest labeled rows by {@code timeColumn}, nulls counting as
   * oldest and ties broken by file order.
   *
   * @param threads DuckDB threads
   * @throws EvergreenException of kind INVALID_INPUT when a needed column is missing or has an
   *     unusable type or value, or the split leaves no training or no holdout rows
   */
  public static TrainingData load(Path snapshotParquet, PipelineSpec spec, int threads) {
    if (!Files.isRegularFile(snapshotParquet)) {
      throw EvergreenException.invalid(
          "snapshot file " + snapshotParquet + " not found; ingest the batch again");
    }
    try (Connection connection = DriverManager.getConnection("jdbc:duckdb:")) {
      try (Statement statement = connection.createStatement()) {
        statement.execute("SET threads = " + threads);
      }
      return new Load(connection, snapshotParquet, spec).run();
    } catch (SQLException e) {
      throw sqlFailure(snapshotParquet, e);
    }
  }

  private static EvergreenException sqlFailure(Path file, SQLException e) {
    String message = e.getMessage() == null ? e.toString() : e.getMessage();
    if (message.contains("Conversion Error") || message.contains("Invalid Input Error")) {
      return new EvergreenException(
          ErrorKind.INVALID_INPUT,
          "snapshot " + file + " has a value of the wrong type for the pipeline: " + message,
          e);
    }
    return new EvergreenException(
        ErrorKind.INTERNAL, "reading snapshot " + file + " with DuckDB failed: " + message, e);
  }

  static String quote(String identifier) {
    return "\"" + identifier.replace("\"", "\"\"") + "\"";
  }

  private static String literal(String text) {
    return "'" + text.replace("'", "''") + "'";
  }

  /** State of one load; the columns are filled by {@link #read} and used by the later steps. */
  private static final class Load {
    private final Connection connection;
    private final Path file;
    private final String source;
    private final String objective;
    private final LabelSpec label;
    private final Optional<List<Double>> labelClasses;
    private final FeaturesSpec features;
    private final SplitSpec split;

    private Map<String, String> columnTypes;
    private List<String> classNames = List.of();
    private Map<String, Integer> classIndex = Map.of();

    private int rows;
    private long[] rowNumbers;
    private double[] labels;
    private long[] timeRanks;
    private final Map<String, double[]> numeric = new LinkedHashMap<>();
    private final Map<String, CategoryColumn> categorical = new LinkedHashMap<>();
    private final Map<String, long[]> timestamps = new LinkedHashMap<>();

    Load(Connection connection, Path file, PipelineSpec spec) {
      this.connection = connection;
      this.file = file;
      this.source = "read_parquet(" + literal(file.toString()) + ", file_row_number = true)";
      this.objective = spec.trainer().objective();
      this.label = spec.label();
      this.labelClasses = LabelClasses.of(spec);
      this.features = spec.features();
      this.split = spec.split();
    }

    TrainingData run() throws SQLException {
      checkObjective();
      columnTypes = describe();
      checkColumns();
      if (isMultiClass()) {
        loadClassNames();
      } else if (isBinary()) {
        classNames = List.of("0", "1");
      }
      long total = countRows();
      read();

      boolean[] inHoldout = split();
      int holdoutRows = 0;
      for (boolean holdout : inHoldout) {
        holdoutRows += holdout ? 1 : 0;
      }
      int trainRows = rows - holdoutRows;
      checkSplitSizes(trainRows, holdoutRows);

      FeatureEncoding encoding = FeatureEncoding.of(features, learnCategories(inHoldout));
      float[] trainFeatures = encodeTraining(encoding, inHoldout, trainRows);
      float[] trainLabels = new float[trainRows];
      double[] holdoutLabels = new double[holdoutRows];
      long[] holdoutRowNumbers = new long[holdoutRows];
      int[] holdoutIndex = new int[holdoutRows];
      int t = 0;
      int h = 0;
      for (int i = 0; i < rows; i++) {
        if (inHoldout[i]) {
          holdoutLabels[h] = labels[i];
          holdoutRowNumbers[h] = rowNumbers[i];
          holdoutIndex[h++] = i;
        } else {
          trainLabels[t++] = (float) labels[i];
        }
      }
      InputBatch holdoutInputs = holdoutInputs(encoding, holdoutIndex);

      long dropped = total - rows;
      LOG.info(
          "Loaded snapshot {}: {} training rows, {} holdout rows, {} rows dropped for a null label",
          file,
          trainRows,
          holdoutRows,
          dropped);
      return new TrainingData(
          objective,
          trainFeatures,
          trainLabels,
          trainRows,
          new TrainingData.Holdout(holdoutInputs, holdoutLabels, holdoutRowNumbers),
          encoding,
          classNames,
          numClass(),
          dropped);
    }

    private void checkSplitSizes(int trainRows, int holdoutRows) {
      if (trainRows > 0 && holdoutRows > 0) {
        return;
      }
      throw EvergreenException.invalid(
          "snapshot "
              + file
              + ": the split of "
              + rows
              + " labeled rows left "
              + trainRows
              + " training and "
              + holdoutRows
              + " holdout rows, but both need at least one row. Send more rows or change"
              + " split.holdoutFraction "
              + split.holdoutFraction());
    }

    private int numClass() {
      if (isMultiClass()) {
        return classNames.size();
      }
      return isBinary() ? 2 : 0;
    }

    private boolean isBinary() {
      return objective.startsWith("binary:");
    }

    private boolean isMultiClass() {
      return objective.startsWith("multi:");
    }

    private void checkObjective() {
      if (label.greaterThan() != null && !isBinary()) {
        throw EvergreenException.invalid(
            "label.greaterThan makes a binary target but trainer.objective is "
                + objective
                + "; use binary:logistic or remove label.greaterThan");
      }
    }

    private Map<String, String> describe() throws SQLException {
      Map<String, String> types = new LinkedHashMap<>();
      try (Statement statement = connection.createStatement();
          ResultSet result =
              statement.executeQuery(
                  "DESCRIBE SELECT * FROM read_parquet(" + literal(file.toString()) + ")")) {
        while (result.next()) {
          types.put(result.getString(1), result.getString(2));
        }
      }
      return types;
    }

    private void checkColumns() {
      requireColumn(label.column(), "label.column");
      features.numeric().forEach(column -> requireColumn(column, "features.numeric"));
      features.categorical().forEach(column -> requireColumn(column, "features.categorical"));
      for (DerivedFeature derived : features.derived()) {
        requireColumn(derived.from(), "features.derived '" + derived.name() + "'");
        String type = columnTypes.get(derived.from());
        if (!type.equals("VARCHAR") && !type.startsWith("TIMESTAMP") && !type.equals("DATE")) {
          throw EvergreenException.invalid(
              "snapshot "
                  + file
                  + ": derived feature '"
                  + derived.name()
                  + "' needs a timestamp, date or text column, but column '"
                  + derived.from()
                  + "' is "
                  + type);
        }
      }
      if (split.method().equals("time")) {
        requireColumn(split.timeColumn(), "split.timeColumn");
      }
    }

    private void requireColumn(String column, String field) {
      if (!columnTypes.containsKey(column)) {
        throw EvergreenException.invalid(
            "snapshot "
                + file
                + " has no column '"
                + column
                + "' named by "
                + field
                + "; its columns are "
                + String.join(", ", columnTypes.keySet()));
      }
    }

    private String labelColumn() {
      return quote(label.column());
    }

    /** Returns the SQL condition that keeps a row: a non-null label, and not NaN for numbers. */
    private String labelIsPresent() {
      if (isMultiClass()) {
        return labelColumn() + " IS NOT NULL";
      }
      return labelColumn() + " IS NOT NULL AND NOT isnan(CAST(" + labelColumn() + " AS DOUBLE))";
    }

    private void loadClassNames() throws SQLException {
      List<String> names = new ArrayList<>();
      String sql =
          "SELECT CAST(v AS VARCHAR) FROM (SELECT DISTINCT "
              + labelColumn()
              + " AS v FROM "
              + source
              + " WHERE "
              + labelColumn()
              + " IS NOT NULL) ORDER BY v";
      try (Statement statement = connection.createStatement();
          ResultSet result = statement.executeQuery(sql)) {
        while (result.next()) {
          names.add(result.getString(1));
        }
      }
      if (names.size() < 2) {
        throw EvergreenException.invalid(
            "snapshot "
                + file
                + ": label column '"
                + label.column()
                + "' has "
                + names.size()
                + " distinct value(s) "
                + names
                + "; multi:softprob needs at least 2 classes");
      }
      classNames = List.copyOf(names);
      Map<String, Integer> index = new HashMap<>();
      for (int i = 0; i < names.size(); i++) {
        index.put(names.get(i), i);
      }
      classIndex = index;
    }

    /** Returns the row count of the file and sets {@link #rows} to the rows with a label. */
    private long countRows() throws SQLException {
      String sql =
          "SELECT count(*), count(*) FILTER (WHERE " + labelIsPresent() + ") FROM " + source;
      try (Statement statement = connection.createStatement();
          ResultSet result = statement.executeQuery(sql)) {
        result.next();
        long total = result.getLong(1);
        long labeled = result.getLong(2);
        if (labeled > Integer.MAX_VALUE) {
          throw EvergreenException.invalid(
              "snapshot " + file + " has " + labeled + " labeled rows; at most 2^31 - 1 fit");
        }
        rows = (int) labeled;
        return total;
      }
    }

    private void read() throws SQLException {
      List<String> select = new ArrayList<>();
      select.add("file_row_number");
      select.add(
          isMultiClass()
              ? "CAST(" + labelColumn() + " AS VARCHAR)"
              : "CAST(" + labelColumn() + " AS DOUBLE)");
      for (String column : features.numeric()) {
        select.add("CAST(" + quote(column) + " AS DOUBLE)");
      }
      for (String column : features.categorical()) {
        select.add("CAST(" + quote(column) + " AS VARCHAR)");
      }
      List<String> timeColumns = new ArrayList<>(timestampSources());
      for (String column : timeColumns) {
        select.add(epochMicros(column));
      }
      boolean timeSplit = split.method().equals("time");
      if (timeSplit) {
        select.add(
            "row_number() OVER (ORDER BY "
                + quote(split.timeColumn())
                + " ASC NULLS FIRST, file_row_number)");
      }
      String sql =
          "SELECT "
              + String.join(", ", select)
              + " FROM "
              + source
              + " WHERE "
              + labelIsPresent()
              + " ORDER BY file_row_number";

      rowNumbers = new long[rows];
      labels = new double[rows];
      timeRanks = timeSplit ? new long[rows] : null;
      List<double[]> numericColumns = new ArrayList<>();
      for (String column : features.numeric()) {
        double[] values = new double[rows];
        numeric.put(column, values);
        numericColumns.add(values);
      }
      List<CategoryColumn> categoryColumns = new ArrayList<>();
      for (String column : features.categorical()) {
        CategoryColumn values = new CategoryColumn(rows);
        categorical.put(column, values);
        categoryColumns.add(values);
      }
      List<long[]> timeValues = new ArrayList<>();
      for (String column : timeColumns) {
        long[] values = new long[rows];
        timestamps.put(column, values);
        timeValues.add(values);
      }

      try (Statement statement = connection.createStatement();
          ResultSet result = statement.executeQuery(sql)) {
        int row = 0;
        while (result.next()) {
          if (row == rows) {
            throw new EvergreenException(
                ErrorKind.INTERNAL,
                "snapshot " + file + " returned more than the " + rows + " rows counted before");
          }
          rowNumbers[row] = result.getLong(1);
          labels[row] = readLabel(result, row);
          int position = 3;
          for (int c = 0; c < numericColumns.size(); c++) {
            double value = result.getDouble(position++);
            numericColumns.get(c)[row] = result.wasNull() ? Double.NaN : value;
            if (Float.isInfinite((float) value)) {
              throw beyondFloatRange(features.numeric().get(c), row, value);
            }
          }
          for (CategoryColumn values : categoryColumns) {
            values.set(row, result.getString(position++));
          }
          for (int i = 0; i < timeColumns.size(); i++) {
            timeValues.get(i)[row] = readTime(result, position++, timeColumns.get(i), row);
          }
          if (timeSplit) {
            timeRanks[row] = result.getLong(position);
          }
          row++;
        }
        if (row != rows) {
          throw new EvergreenException(
              ErrorKind.INTERNAL,
              "snapshot " + file + " returned " + row + " rows but " + rows + " were counted");
        }
      }
    }

    /** Returns the distinct source columns of the derived features, in first-use order. */
    private LinkedHashSet<String> timestampSources() {
      LinkedHashSet<String> columns = new LinkedHashSet<>();
      for (DerivedFeature derived : features.derived()) {
        columns.add(derived.from());
      }
      return columns;
    }

    /** Returns SQL reading a timestamp column as UTC epoch microseconds, or text to parse. */
    private String epochMicros(String column) {
      String type = columnTypes.get(column);
      if (type.equals("VARCHAR")) {
        return quote(column);
      }
      if (type.startsWith("TIMESTAMP WITH TIME ZONE")) {
        return "epoch_us(" + quote(column) + ")";
      }
      // A timestamp without a zone is UTC wall-clock time, as the derived features define it.
      return "epoch_us(CAST(" + quote(column) + " AS TIMESTAMP))";
    }

    private long readTime(ResultSet result, int position, String column, int row)
        throws SQLException {
      if (!columnTypes.get(column).equals("VARCHAR")) {
        long micros = result.getLong(position);
        return result.wasNull() ? NULL_TIME : micros;
      }
      String text = result.getString(position);
      if (text == null) {
        return NULL_TIME;
      }
      long epochSecond = FeatureEncoding.parseEpochSecond(text);
      if (epochSecond == FeatureEncoding.INVALID_TIMESTAMP) {
        throw EvergreenException.invalid(
            "snapshot "
                + file
                + " column '"
                + column
                + "' row "
                + rowNumbers[row]
                + ": '"
                + text
                + "' is not a timestamp; write ISO 8601 text such as 2001-01-31T06:00:00");
      }
      return epochSecond * 1_000_000L;
    }

    /**
     * Returns the error for a feature value that XGBoost cannot train on: it trains on 32-bit
     * floats, and a value beyond their range would become infinite, which it refuses.
     */
    private EvergreenException beyondFloatRange(String column, int row, double value) {
      return EvergreenException.invalid(
          "snapshot "
              + file
              + " column '"
              + column
              + "' row "
              + rowNumbers[row]
              + ": the value "
              + value
              + " is beyond ±3.4028235E38, the range of the 32-bit floats XGBoost trains on;"
              + " rescale the column in the source data, such as to thousands, or leave it out of"
              + " features.numeric");
    }

    private double readLabel(ResultSet result, int row) throws SQLException {
      if (isMultiClass()) {
        return classIndex.get(result.getString(2));
      }
      double value = result.getDouble(2);
      if (label.greaterThan() != null) {
        return value > label.greaterThan() ? 1.0 : 0.0;
      }
      if (labelClasses.isPresent() && !LabelClasses.allows(labelClasses.get(), value)) {
        // Validation rejects such a batch first (rule label_classes), so this guards other callers.
        throw EvergreenException.invalid(
            "snapshot "
                + file
                + " column '"
                + label.column()
                + "' row "
                + (rowNumbers[row] + 1)
                + ": label "
                + LabelClasses.format(value)
                + " is not "
                + LabelClasses.expected(objective, labelClasses.get())
                + "; correct the label, or set label.greaterThan to turn a number into a binary"
                + " target");
      }
      return value;
    }

    private boolean[] split() {
      boolean[] inHoldout = new boolean[rows];
      double fraction = split.holdoutFraction();
      if (split.method().equals("time")) {
        long holdoutCount = Math.round(rows * fraction);
        for (int i = 0; i < rows; i++) {
          inHoldout[i] = timeRanks[i] > rows - holdoutCount;
        }
        return inHoldout;
      }
      SplittableRandom random = new SplittableRandom(split.seed());
      long drawn = 0;
      double draw = 0;
      for (int i = 0; i < rows; i++) {
        // One draw per file row, so a row's side does not depend on which other rows have labels.
        while (drawn <= rowNumbers[i]) {
          draw = random.nextDouble();
          drawn++;
        }
        inHoldout[i] = draw < fraction;
      }
      return inHoldout;
    }

    /** Orders each categorical column's training values by frequency, then by value. */
    private Map<String, List<String>> learnCategories(boolean[] inHoldout) {
      Map<String, List<String>> categories = new HashMap<>();
      for (Map.Entry<String, CategoryColumn> entry : categorical.entrySet()) {
        CategoryColumn column = entry.getValue();
        int[] counts = new int[column.values.size()];
        for (int i = 0; i < rows; i++) {
          int code = column.codes[i];
          if (!inHoldout[i] && code >= 0) {
            counts[code]++;
          }
        }
        List<Integer> seen = new ArrayList<>();
        for (int code = 0; code < counts.length; code++) {
          if (counts[code] > 0) {
            seen.add(code);
          }
        }
        seen.sort(
            Comparator.<Integer>comparingInt(code -> -counts[code])
                .thenComparing(code -> column.values.get(code)));
        int[] finalCodes = new int[counts.length];
        Arrays.fill(finalCodes, -1);
        List<String> ordered = new ArrayList<>(seen.size());
        for (int code : seen) {
          finalCodes[code] = ordered.size();
          ordered.add(column.values.get(code));
        }
        column.finalCodes = finalCodes;
        categories.put(entry.getKey(), ordered);
      }
      return categories;
    }

    private float[] encodeTraining(FeatureEncoding encoding, boolean[] inHoldout, int trainRows) {
      int width = encoding.featureCount();
      if ((long) trainRows * width > Integer.MAX_VALUE - 8) {
        throw EvergreenException.invalid(
            "snapshot "
                + file
                + ": "
                + trainRows
                + " training rows of "
                + width
                + " features do not fit one Java array; send a smaller batch");
      }
      float[] out = new float[trainRows * width];
      for (int f = 0; f < width; f++) {
        FeatureEncoding.Feature feature = encoding.features().get(f);
        int t = 0;
        for (int i = 0; i < rows; i++) {
          if (!inHoldout[i]) {
            out[t * width + f] = trainingValue(feature, i);
            t++;
          }
        }
      }
      return out;
    }

    /** Encodes one value the way {@link FeatureEncoding#encode} encodes the same raw value. */
    private float trainingValue(FeatureEncoding.Feature feature, int row) {
      switch (feature.kind()) {
        case NUMERIC -> {
          return (float) numeric.get(feature.source())[row];
        }
        case CATEGORICAL -> {
          CategoryColumn column = categorical.get(feature.source());
          int code = column.codes[row];
          int finalCode = code < 0 ? -1 : column.finalCodes[code];
          return finalCode < 0 ? Float.NaN : finalCode;
        }
        default -> {
          long micros = timestamps.get(feature.source())[row];
          if (micros == NULL_TIME) {
            return Float.NaN;
          }
          return FeatureEncoding.derive(feature.function(), Math.floorDiv(micros, 1_000_000L));
        }
      }
    }

    private InputBatch holdoutInputs(FeatureEncoding encoding, int[] holdoutIndex) {
      int holdoutRows = holdoutIndex.length;
      Map<String, double[]> numericInputs = new HashMap<>();
      Map<String, String[]> textInputs = new HashMap<>();
      for (Map.Entry<String, double[]> column : numeric.entrySet()) {
        double[] values = new double[holdoutRows];
        for (int h = 0; h < holdoutRows; h++) {
          values[h] = column.getValue()[holdoutIndex[h]];
        }
        numericInputs.put(column.getKey(), values);
      }
      for (Map.Entry<String, CategoryColumn> column : categorical.entrySet()) {
        CategoryColumn category = column.getValue();
        String[] values = new String[holdoutRows];
        for (int h = 0; h < holdoutRows; h++) {
          int code = category.codes[holdoutIndex[h]];
          values[h] = code < 0 ? null : category.values.get(code);
        }
        textInputs.put(column.getKey(), values);
      }
      for (Map.Entry<String, long[]> column : timestamps.entrySet()) {
        // A column that is also categorical already has its text.
        if (textInputs.containsKey(column.getKey())) {
          continue;
        }
        String[] values = new String[holdoutRows];
        for (int h = 0; h < holdoutRows; h++) {
          values[h] = formatMicros(column.getValue()[holdoutIndex[h]]);
        }
        textInputs.put(column.getKey(), values);
      }
      if (!encoding.inputColumns().keySet().stream()
          .allMatch(c -> numericInputs.containsKey(c) || textInputs.containsKey(c))) {
        throw new IllegalStateException("holdout lacks an input of " + encoding.inputColumns());
      }
      return new InputBatch(holdoutRows, numericInputs, textInputs);
    }
  }

  /** Formats UTC epoch microseconds as {@code yyyy-MM-ddTHH:mm:ss[.ffffff]}, or null. */
  static String formatMicros(long micros) {
    if (micros == NULL_TIME) {
      return null;
    }
    long second = Math.floorDiv(micros, 1_000_000L);
    int nanos = (int) Math.floorMod(micros, 1_000_000L) * 1_000;
    return DateTimeFormatter.ISO_LOCAL_DATE_TIME.format(
        LocalDateTime.ofEpochSecond(second, nanos, ZoneOffset.UTC));
  }

  /** Text column stored as one code per row into a list of distinct values (-1 for null). */
  private static final class CategoryColumn {
    final int[] codes;
    final List<String> values = new ArrayList<>();
    final Map<String, Integer> index = new HashMap<>();
    int[] finalCodes;

    CategoryColumn(int rows) {
      codes = new int[rows];
    }

    void set(int row, String value) {
      if (value == null) {
        codes[row] = -1;
        return;
      }
      Integer code = index.get(value);
      if (code == null) {
        code = values.size();
        index.put(value, code);
        values.add(value);
      }
      codes[row] = code;
    }
  }
}
