package dev.evergreen.core.training;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.DerivedFeature;
import dev.evergreen.api.pipeline.FeaturesSpec;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.Signature;
import dev.evergreen.core.serving.TensorSpec;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.RandomAccess;
import java.util.Set;

/**
 * Mapping from the source columns of a row to the float features a model was trained on, in model
 * order: numeric features, then categorical, then derived, each group in the order of the pipeline.
 * Stored in every model bundle, so each model version scores rows with its own encoding.
 *
 * <p>Instances are immutable and safe for concurrent use.
 */
public record FeatureEncoding(List<FeatureEncoding.Feature> features) {

  /** Kind of a feature. */
  public enum Kind {
    /** The source value as a float. */
    @JsonProperty("numeric")
    NUMERIC,
    /** The index of the source value in {@code categories}, or missing when it is not there. */
    @JsonProperty("categorical")
    CATEGORICAL,
    /** A function of a timestamp given as text. */
    @JsonProperty("derived")
    DERIVED
  }

  /**
   * One model feature.
   *
   * @param name feature name; the source column name for numeric and categorical features
   * @param kind numeric, categorical or derived
   * @param source input column the feature is computed from
   * @param function {@code hour_of_day} or {@code day_of_week} for a derived feature, else null
   * @param categories for a categorical feature, the values seen in training; the code of a value
   *     is its index. Null for other kinds.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Feature(
      String name, Kind kind, String source, String function, List<String> categories) {
    public Feature {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(source, "source");
      if (kind == Kind.CATEGORICAL) {
        if (categories == null) {
          throw EvergreenException.invalid(
              "categorical feature '" + name + "' has no categories list; list its values");
        }
        categories = new CategoryList(categories, name);
      } else if (categories != null) {
        throw EvergreenException.invalid(
            kind.name().toLowerCase() + " feature '" + name + "' must not have categories");
      }
      if (kind == Kind.DERIVED) {
        if (!HOUR_OF_DAY.equals(function) && !DAY_OF_WEEK.equals(function)) {
          throw EvergreenException.invalid(
              "derived feature '"
                  + name
                  + "' has function '"
                  + function
                  + "'; use hour_of_day or day_of_week");
        }
      } else if (function != null) {
        throw EvergreenException.invalid(
            kind.name().toLowerCase() + " feature '" + name + "' must not have a function");
      }
    }
  }

  static final String HOUR_OF_DAY = "hour_of_day";
  static final String DAY_OF_WEEK = "day_of_week";

  /** Returned by {@link #parseEpochSecond} for text that is not a timestamp. */
  static final long INVALID_TIMESTAMP = Long.MIN_VALUE;

  public FeatureEncoding {
    features = List.copyOf(features);
    if (features.isEmpty()) {
      throw EvergreenException.invalid("a feature encoding needs at least one feature");
    }
    Set<String> names = new HashSet<>();
    Map<String, Boolean> sourceIsNumeric = new HashMap<>();
    for (Feature feature : features) {
      if (!names.add(feature.name())) {
        throw EvergreenException.invalid("feature '" + feature.name() + "' is listed twice");
      }
      boolean numeric = feature.kind() == Kind.NUMERIC;
      Boolean previous = sourceIsNumeric.putIfAbsent(feature.source(), numeric);
      if (previous != null && previous != numeric) {
        throw EvergreenException.invalid(
            "column '"
                + feature.source()
                + "' is used both as a number and as text (categorical or timestamp); "
                + "use each column as one or the other");
      }
    }
  }

  /**
   * Builds the encoding of a pipeline's features.
   *
   * @param categories categorical column to its values in code order, learned from training rows
   */
  public static FeatureEncoding of(FeaturesSpec spec, Map<String, List<String>> categories) {
    List<Feature> features = new ArrayList<>();
    for (String column : spec.numeric()) {
      features.add(new Feature(column, Kind.NUMERIC, column, null, null));
    }
    for (String column : spec.categorical()) {
      List<String> values = categories.get(column);
      if (values == null) {
        throw new IllegalArgumentException("no categories given for column '" + column + "'");
      }
      features.add(new Feature(column, Kind.CATEGORICAL, column, null, values));
    }
    for (DerivedFeature derived : spec.derived()) {
      features.add(
          new Feature(derived.name(), Kind.DERIVED, derived.from(), derived.function(), null));
    }
    return new FeatureEncoding(features);
  }

  /** Returns the number of features, the width of an encoded row. */
  public int featureCount() {
    return features.size();
  }

  /**
   * Returns the input columns in first-use order, each mapped to true when it is numeric (FP64) and
   * false when it is text (BYTES).
   */
  public Map<String, Boolean> inputColumns() {
    Map<String, Boolean> columns = new LinkedHashMap<>();
    for (Feature feature : features) {
      columns.putIfAbsent(feature.source(), feature.kind() == Kind.NUMERIC);
    }
    return columns;
  }

  /**
   * Returns the signature of a model using this encoding. Inputs are the source columns, shape
   * [-1]: numeric columns FP64, categorical and timestamp columns BYTES. The output is {@code
   * probability} [-1] for binary:logistic, {@code probabilities} [-1, numClass] for multi:softprob
   * and {@code prediction} [-1] for every other objective.
   */
  public Signature signature(String objective, int numClass) {
    List<TensorSpec> inputs = new ArrayList<>();
    for (Map.Entry<String, Boolean> column : inputColumns().entrySet()) {
      inputs.add(
          new TensorSpec(column.getKey(), column.getValue() ? "FP64" : "BYTES", List.of(-1L)));
    }
    TensorSpec output =
        switch (objective) {
          case "binary:logistic" -> new TensorSpec("probability", "FP64", List.of(-1L));
          case "multi:softprob" ->
              new TensorSpec("probabilities", "FP64", List.of(-1L, (long) numClass));
          default -> new TensorSpec("prediction", "FP64", List.of(-1L));
        };
    return new Signature(inputs, List.of(output));
  }

  /**
   * Encodes a batch into {@code rows * featureCount()} floats, row-major. A missing value, a
   * category not seen in training and a null timestamp become {@code NaN}, which XGBoost treats as
   * missing.
   *
   * @throws EvergreenException of kind INVALID_INPUT naming the input when an input column is
   *     absent, has the wrong type or too few values, or a timestamp cannot be read
   */
  public float[] encode(InputBatch batch) {
    int rows = batch.rows();
    int width = features.size();
    float[] out = new float[Math.multiplyExact(rows, width)];
    for (int f = 0; f < width; f++) {
      Feature feature = features.get(f);
      switch (feature.kind()) {
        case NUMERIC -> encodeNumeric(numericColumn(batch, feature.source()), rows, out, f, width);
        case CATEGORICAL ->
            encodeCategorical(
                (CategoryList) feature.categories(),
                textColumn(batch, feature.source()),
                rows,
                out,
                f,
                width);
        case DERIVED -> encodeDerived(feature, textColumn(batch, feature.source()), rows, out, f);
      }
    }
    return out;
  }

  private static void encodeNumeric(double[] column, int rows, float[] out, int f, int width) {
    for (int row = 0; row < rows; row++) {
      out[row * width + f] = (float) column[row];
    }
  }

  private static void encodeCategorical(
      CategoryList categories, String[] column, int rows, float[] out, int f, int width) {
    for (int row = 0; row < rows; row++) {
      String value = column[row];
      int code = value == null ? -1 : categories.indexOf(value);
      out[row * width + f] = code < 0 ? Float.NaN : code;
    }
  }

  private void encodeDerived(Feature feature, String[] column, int rows, float[] out, int f) {
    int width = features.size();
    boolean hour = HOUR_OF_DAY.equals(feature.function());
    for (int row = 0; row < rows; row++) {
      String value = column[row];
      if (value == null) {
        out[row * width + f] = Float.NaN;
        continue;
      }
      long epochSecond = parseEpochSecond(value);
      if (epochSecond == INVALID_TIMESTAMP) {
        throw EvergreenException.invalid(
            "input '"
                + feature.source()
                + "' row "
                + row
                + ": '"
                + value
                + "' is not a timestamp; send ISO 8601 text such as 2001-01-31T06:00:00,"
                + " optionally with a fraction and Z or an offset such as +02:00");
      }
      out[row * width + f] = hour ? hourOfDay(epochSecond) : dayOfWeek(epochSecond);
    }
  }

  private double[] numericColumn(InputBatch batch, String name) {
    double[] column = batch.numeric().get(name);
    if (column == null) {
      if (batch.text().containsKey(name)) {
        throw EvergreenException.invalid(
            "input '" + name + "' must be numbers (FP64) but was sent as text (BYTES)");
      }
      throw missingInput(name);
    }
    checkLength(name, column.length, batch.rows());
    return column;
  }

  private String[] textColumn(InputBatch batch, String name) {
    String[] column = batch.text().get(name);
    if (column == null) {
      if (batch.numeric().containsKey(name)) {
        throw EvergreenException.invalid(
            "input '" + name + "' must be text (BYTES) but was sent as numbers (FP64)");
      }
      throw missingInput(name);
    }
    checkLength(name, column.length, batch.rows());
    return column;
  }

  private static void checkLength(String name, int length, int rows) {
    if (length < rows) {
      throw EvergreenException.invalid(
          "input '" + name + "' has " + length + " values but the batch has " + rows + " rows");
    }
  }

  private EvergreenException missingInput(String name) {
    return EvergreenException.invalid(
        "input '" + name + "' is missing; this model needs the inputs " + describeInputs());
  }

  private String describeInputs() {
    StringBuilder text = new StringBuilder();
    for (Map.Entry<String, Boolean> column : inputColumns().entrySet()) {
      if (!text.isEmpty()) {
        text.append(", ");
      }
      text.append(column.getKey()).append(column.getValue() ? " (FP64)" : " (BYTES)");
    }
    return text.toString();
  }

  /** Returns the UTC hour, 0 to 23, of a time in seconds since 1970-01-01T00:00:00Z. */
  static int hourOfDay(long epochSecond) {
    return (int) (Math.floorMod(epochSecond, 86_400L) / 3_600L);
  }

  /** Returns the ISO day of week in UTC, 1 = Monday to 7 = Sunday. */
  static int dayOfWeek(long epochSecond) {
    long epochDay = Math.floorDiv(epochSecond, 86_400L);
    // 1970-01-01 was a Thursday, ISO day 4.
    return (int) Math.floorMod(epochDay + 3, 7L) + 1;
  }

  /** Computes a derived feature from a time in seconds since the epoch, UTC. */
  static float derive(String function, long epochSecond) {
    return HOUR_OF_DAY.equals(function) ? hourOfDay(epochSecond) : dayOfWeek(epochSecond);
  }

  /**
   * Parses ISO 8601 text into seconds since 1970-01-01T00:00:00Z without allocating. Accepted
   * forms: {@code yyyy-MM-dd}, optionally followed by {@code T} or a space and {@code HH:mm},
   * {@code HH:mm:ss} or {@code HH:mm:ss.f} (1 to 9 fraction digits, dropped), then optionally
   * {@code Z} or an offset {@code +HH}, {@code +HHMM} or {@code +HH:MM}. Text without a zone is UTC
   * wall-clock time; text with an offset is converted to UTC.
   *
   * @return the seconds, or {@link #INVALID_TIMESTAMP} when the text is not in an accepted form or
   *     names a date or time that does not exist
   */
  static long parseEpochSecond(String text) {
    int length = text.length();
    if (length < 10 || text.charAt(4) != '-' || text.charAt(7) != '-') {
      return INVALID_TIMESTAMP;
    }
    int year = digits(text, 0, 4);
    int month = digits(text, 5, 2);
    int day = digits(text, 8, 2);
    if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
      return INVALID_TIMESTAMP;
    }
    long seconds = epochDay(year, month, day) * 86_400L;
    int position = 10;
    if (position == length) {
      return seconds;
    }

    char separator = text.charAt(position);
    if (separator == 'T' || separator == 't' || separator == ' ') {
      if (length < position + 6 || text.charAt(position + 3) != ':') {
        return INVALID_TIMESTAMP;
      }
      int hour = digits(text, position + 1, 2);
      int minute = digits(text, position + 4, 2);
      if (hour < 0 || hour > 23 || minute < 0 || minute > 59) {
        return INVALID_TIMESTAMP;
      }
      seconds += hour * 3_600L + minute * 60L;
      position += 6;

      if (position < length && text.charAt(position) == ':') {
        int second = length < position + 3 ? -1 : digits(text, position + 1, 2);
        if (second < 0 || second > 59) {
          return INVALID_TIMESTAMP;
        }
        seconds += second;
        position += 3;
        if (position < length && text.charAt(position) == '.') {
          int fractionEnd = position + 1;
          while (fractionEnd < length && isDigit(text.charAt(fractionEnd))) {
            fractionEnd++;
          }
          int fractionDigits = fractionEnd - position - 1;
          if (fractionDigits < 1 || fractionDigits > 9) {
            return INVALID_TIMESTAMP;
          }
          position = fractionEnd;
        }
      }
    }
    if (position == length) {
      return seconds;
    }

    int offset = parseOffsetSeconds(text, position);
    return offset == Integer.MIN_VALUE ? INVALID_TIMESTAMP : seconds - offset;
  }

  /** Parses {@code Z}, {@code ±HH}, {@code ±HHMM} or {@code ±HH:MM} ending the text. */
  private static int parseOffsetSeconds(String text, int position) {
    int length = text.length();
    char sign = text.charAt(position);
    if (sign == 'Z' || sign == 'z') {
      return position + 1 == length ? 0 : Integer.MIN_VALUE;
    }
    if (sign != '+' && sign != '-') {
      return Integer.MIN_VALUE;
    }
    int rest = length - position - 1;
    int hours = rest >= 2 ? digits(text, position + 1, 2) : -1;
    int minutes;
    if (rest == 2) {
      minutes = 0;
    } else if (rest == 4) {
      minutes = digits(text, position + 3, 2);
    } else if (rest == 5 && text.charAt(position + 3) == ':') {
      minutes = digits(text, position + 4, 2);
    } else {
      return Integer.MIN_VALUE;
    }
    if (hours < 0 || hours > 18 || minutes < 0 || minutes > 59) {
      return Integer.MIN_VALUE;
    }
    int offset = hours * 3_600 + minutes * 60;
    return sign == '-' ? -offset : offset;
  }

  /** Returns the value of {@code count} ASCII digits, or -1 when one of them is not a digit. */
  private static int digits(String text, int start, int count) {
    int value = 0;
    for (int i = start; i < start + count; i++) {
      char c = text.charAt(i);
      if (!isDigit(c)) {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static int daysInMonth(int year, int month) {
    return switch (month) {
      case 2 -> (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28;
      case 4, 6, 9, 11 -> 30;
      default -> 31;
    };
  }

  /**
   * Returns the days from 1970-01-01 to a proleptic Gregorian date, by Howard Hinnant's
   * days_from_civil algorithm (shift the year to start in March so February ends it).
   */
  private static long epochDay(int year, int month, int day) {
    long y = month <= 2 ? year - 1 : year;
    long era = Math.floorDiv(y, 400);
    long yearOfEra = y - era * 400;
    long dayOfYear = (153L * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    long dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
    return era * 146_097 + dayOfEra - 719_468;
  }

  /**
   * Immutable list of category values whose {@link #indexOf} is a hash lookup, so encoding a
   * categorical value costs one lookup however many categories there are.
   */
  private static final class CategoryList extends AbstractList<String> implements RandomAccess {
    private final String[] values;
    private final Map<String, Integer> codes;

    CategoryList(List<String> values, String feature) {
      if (values instanceof CategoryList list) {
        this.values = list.values;
        this.codes = list.codes;
        return;
      }
      this.values = values.toArray(new String[0]);
      this.codes = HashMap.newHashMap(this.values.length);
      for (int i = 0; i < this.values.length; i++) {
        String value = this.values[i];
        if (value == null) {
          throw EvergreenException.invalid(
              "categorical feature '" + feature + "' lists a null category at index " + i);
        }
        if (codes.putIfAbsent(value, i) != null) {
          throw EvergreenException.invalid(
              "categorical feature '" + feature + "' lists category '" + value + "' twice");
        }
      }
    }

    @Override
    public String get(int index) {
      return values[index];
    }

    @Override
    public int size() {
      return values.length;
    }

    @Override
    public int indexOf(Object value) {
      Integer code = codes.get(value);
      return code == null ? -1 : code;
    }

    @Override
    public int lastIndexOf(Object value) {
      return indexOf(value);
    }

    @Override
    public boolean contains(Object value) {
      return codes.containsKey(value);
    }
  }
}
