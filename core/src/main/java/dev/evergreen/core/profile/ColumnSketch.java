package dev.evergreen.core.profile;

import dev.evergreen.api.data.ColumnType;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Mergeable profile of one column. Every type gets row and null counts, a distinct-count sketch and
 * frequent values. Integers, doubles, dates (as days since 1970-01-01) and timestamps (as
 * microseconds since 1970-01-01 UTC) also get moments and a quantile sketch. Dates and timestamps
 * also get exact hour-of-day and ISO day-of-week counts, in UTC.
 *
 * <p>Frequent values are kept as strings for strings and booleans ({@code true}, {@code false}), as
 * doubles for doubles, and as longs for integers, dates (days since 1970-01-01) and timestamps
 * (microseconds since 1970-01-01 UTC); {@link #text} renders them.
 */
public final class ColumnSketch {
  /** Frequent-value counters of a string or boolean column. */
  public static final int TEXT_COUNTERS = 256;

  /** Frequent-value counters of a numeric, date or timestamp column. */
  public static final int VALUE_COUNTERS = 32;

  /**
   * Maximum length of a frequent-value text, in UTF-8 bytes. A longer string is counted by its
   * longest prefix of whole code points within the limit, which bounds a string column's profile at
   * about 16 KB.
   */
  public static final int MAX_TEXT_BYTES = 48;

  private static final long MICROS_PER_HOUR = 3_600_000_000L;
  private static final long MICROS_PER_DAY = 24 * MICROS_PER_HOUR;
  private static final DateTimeFormatter SECONDS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss").withZone(ZoneOffset.UTC);
  private static final DateTimeFormatter MICROS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS").withZone(ZoneOffset.UTC);

  private final String name;
  private final ColumnType type;
  private long rows;
  private long nulls;
  private long nans;
  private final Moments moments;
  private final KllSketch quantiles;
  private final HyperLogLog distinct;
  private final FrequentItems frequent;
  private final long[] hours;
  private final long[] days;

  /** Creates an empty sketch for a column of {@code type}. */
  public ColumnSketch(String name, ColumnType type) {
    this(
        name,
        type,
        0,
        0,
        0,
        hasQuantiles(type) ? new Moments() : null,
        hasQuantiles(type) ? new KllSketch() : null,
        new HyperLogLog(),
        new FrequentItems(counters(type)),
        hasCalendar(type) ? new long[24] : null,
        hasCalendar(type) ? new long[7] : null);
  }

  ColumnSketch(
      String name,
      ColumnType type,
      long rows,
      long nulls,
      long nans,
      Moments moments,
      KllSketch quantiles,
      HyperLogLog distinct,
      FrequentItems frequent,
      long[] hours,
      long[] days) {
    this.name = name;
    this.type = type;
    this.rows = rows;
    this.nulls = nulls;
    this.nans = nans;
    this.moments = moments;
    this.quantiles = quantiles;
    this.distinct = distinct;
    this.frequent = frequent;
    this.hours = hours;
    this.days = days;
  }

  /** Returns true for the types that get moments and a quantile sketch. */
  public static boolean hasQuantiles(ColumnType type) {
    return type.isNumeric() || hasCalendar(type);
  }

  static boolean hasCalendar(ColumnType type) {
    return type == ColumnType.DATE || type == ColumnType.TIMESTAMP;
  }

  static int counters(ColumnType type) {
    return type == ColumnType.STRING || type == ColumnType.BOOLEAN ? TEXT_COUNTERS : VALUE_COUNTERS;
  }

  public void addNull() {
    rows++;
    nulls++;
  }

  /** Adds a value of an integer column. */
  public void addInteger(long value) {
    rows++;
    distinct.addHash(HyperLogLog.hashLong(value));
    frequent.add(value);
    addNumber(value);
  }

  /** Adds a value of a double column; NaN counts apart and has no rank. */
  public void addDouble(double value) {
    rows++;
    distinct.addHash(HyperLogLog.hashDouble(value));
    frequent.add(value);
    if (Double.isNaN(value)) {
      nans++;
      return;
    }
    addNumber(value);
  }

  /** Adds a value of a date column, in days since 1970-01-01. */
  public void addDate(long epochDay) {
    rows++;
    distinct.addHash(HyperLogLog.hashLong(epochDay));
    frequent.add(epochDay);
    addNumber(epochDay);
    hours[0]++;
    days[(int) Math.floorMod(epochDay + 3, 7L)]++;
  }

  /** Adds a value of a timestamp column, in microseconds since 1970-01-01 UTC. */
  public void addTimestamp(long epochMicros) {
    rows++;
    distinct.addHash(HyperLogLog.hashLong(epochMicros));
    frequent.add(epochMicros);
    addNumber(epochMicros);
    hours[(int) Math.floorMod(Math.floorDiv(epochMicros, MICROS_PER_HOUR), 24L)]++;
    days[(int) Math.floorMod(Math.floorDiv(epochMicros, MICROS_PER_DAY) + 3, 7L)]++;
  }

  /** Adds a value of a string or boolean column as text. */
  public void addText(String value) {
    rows++;
    distinct.addHash(HyperLogLog.hashString(value));
    frequent.add(truncate(value));
  }

  private void addNumber(double value) {
    moments.add(value);
    quantiles.add(value);
  }

  /** Folds {@code other}, a sketch of the same column and type, into this one. */
  public void merge(ColumnSketch other) {
    if (!other.name.equals(name) || other.type != type) {
      throw new IllegalArgumentException(
          "cannot merge column "
              + other.name
              + " ("
              + other.type
              + ") into column "
              + name
              + " ("
              + type
              + ")");
    }
    rows += other.rows;
    nulls += other.nulls;
    nans += other.nans;
    if (moments != null) {
      moments.merge(other.moments);
      quantiles.merge(other.quantiles);
    }
    distinct.merge(other.distinct);
    frequent.merge(other.frequent);
    if (hours != null) {
      for (int i = 0; i < hours.length; i++) {
        hours[i] += other.hours[i];
      }
      for (int i = 0; i < days.length; i++) {
        days[i] += other.days[i];
      }
    }
  }

  public String name() {
    return name;
  }

  public ColumnType type() {
    return type;
  }

  /** Returns the number of rows, null or not. */
  public long rows() {
    return rows;
  }

  public long nulls() {
    return nulls;
  }

  /** Returns the number of NaN values of a double column. */
  public long nans() {
    return nans;
  }

  /** Returns the moments of the ranked values, null for strings and booleans. */
  public Moments moments() {
    return moments;
  }

  /** Returns the quantile sketch, null for strings and booleans. */
  public KllSketch quantiles() {
    return quantiles;
  }

  public HyperLogLog distinct() {
    return distinct;
  }

  public FrequentItems frequent() {
    return frequent;
  }

  /** Returns the counts per UTC hour of day, 0 to 23; null unless a date or timestamp. */
  public long[] hours() {
    return hours == null ? null : hours.clone();
  }

  /** Returns the counts per ISO day of week, index 0 Monday to 6 Sunday; null as {@link #hours}. */
  public long[] days() {
    return days == null ? null : days.clone();
  }

  /**
   * Renders a frequent value as text: integers and dates in their usual form, doubles as {@link
   * Double#toString(double)}, timestamps as {@code 2001-01-01T06:00:00} with fractional seconds
   * only when present.
   */
  public String text(Object value) {
    return switch (type) {
      case DATE -> LocalDate.ofEpochDay((Long) value).toString();
      case TIMESTAMP -> timestampText((Long) value);
      default -> value.toString();
    };
  }

  private static String truncate(String value) {
    // A UTF-16 unit takes at most three UTF-8 bytes, so short strings need no counting.
    if (value.length() * 3 <= MAX_TEXT_BYTES) {
      return value;
    }
    int bytes = 0;
    int end = 0;
    while (end < value.length()) {
      int codePoint = value.codePointAt(end);
      int size = utf8Length(codePoint);
      if (bytes + size > MAX_TEXT_BYTES) {
        return value.substring(0, end);
      }
      bytes += size;
      end += Character.charCount(codePoint);
    }
    return value;
  }

  private static int utf8Length(int codePoint) {
    if (codePoint < 0x80) {
      return 1;
    }
    if (codePoint < 0x800) {
      return 2;
    }
    return codePoint < 0x10000 ? 3 : 4;
  }

  static String timestampText(long epochMicros) {
    Instant instant =
        Instant.ofEpochSecond(
            Math.floorDiv(epochMicros, 1_000_000L), Math.floorMod(epochMicros, 1_000_000L) * 1000);
    return epochMicros % 1_000_000L == 0 ? SECONDS.format(instant) : MICROS.format(instant);
  }
}
