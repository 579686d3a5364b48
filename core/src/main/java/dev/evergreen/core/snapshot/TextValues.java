package dev.evergreen.core.snapshot;

import dev.evergreen.api.data.ColumnType;
import dev.evergreen.core.data.ColumnTypes;
import dev.evergreen.core.data.DuckDb;

/**
 * Strict text forms of typed values, as SQL conditions and conversions. A value must match the
 * pattern of its type and DuckDB must be able to cast it, so that {@code 2001-02-30} and integers
 * beyond 64 bits are rejected too. Surrounding spaces are allowed.
 */
final class TextValues {
  /** The accepted timestamp forms, for error messages. */
  static final String TIMESTAMP_FORMS =
      "Accepted timestamp forms: 2001-01-31, 2001-01-31T06:00, 2001-01-31 06:00:00 and"
          + " 2001-01-31T06:00:00.123456, each time optionally followed by Z or an offset such as"
          + " +05:30, +0530 or -08. Offsets are converted to UTC, and a time without one is read"
          + " as UTC.";

  /** The accepted date form, for error messages. */
  static final String DATE_FORMS = "The accepted date form is 2001-01-31.";

  private static final String INTEGER = "\\s*[+-]?[0-9]+\\s*";
  private static final String DOUBLE =
      "\\s*[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?\\s*";
  private static final String BOOLEAN = "(?i)\\s*(true|false)\\s*";
  private static final String DATE = "\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\\s*";

  private static final String LOCAL_DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}";
  private static final String LOCAL_TIME = "[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\\.[0-9]{1,6})?)?";
  // Offsets up to 18 hours, the range of java.time.ZoneOffset and of the timestamp parser that
  // serves derived features (FeatureEncoding.parseEpochSecond). The pattern decides, because
  // DuckDB 1.5.6 accepts +99 and +05:60 when it casts text to TIMESTAMPTZ.
  private static final String OFFSET = "Z|[+-](?:0[0-9]|1[0-8])(?::?[0-5][0-9])?";

  /**
   * ISO 8601 date, or date and time with at most microseconds, as a TIMESTAMP stores, and an
   * optional offset after a time.
   */
  private static final String TIMESTAMP =
      "\\s*" + LOCAL_DATE + "(?:[T ]" + LOCAL_TIME + "(?:" + OFFSET + ")?)?\\s*";

  /**
   * A valid timestamp split into groups: 1 the local date and time, 2 the sign of the offset, 3 its
   * hours and 4 its minutes. Groups 2 to 4 are empty without an offset or with {@code Z}.
   */
  private static final String TIMESTAMP_PARTS =
      "^\\s*("
          + LOCAL_DATE
          + "(?:[T ]"
          + LOCAL_TIME
          + ")?)(?:Z|([+-])([0-9]{2}):?([0-9]{2})?)?\\s*$";

  private TextValues() {}

  /**
   * Returns a condition that is true when the text {@code expression} is a valid {@code type}. A
   * valid double is finite: text such as {@code 1e400}, which overflows to infinity, is not one.
   */
  static String valid(String expression, ColumnType type) {
    if (type == ColumnType.DOUBLE) {
      return "("
          + shaped(expression, type)
          + " AND isfinite(TRY_CAST("
          + expression
          + " AS DOUBLE)))";
    }
    return shaped(expression, type);
  }

  /**
   * Returns a condition that is true when the text {@code expression} has the form of a {@code
   * type}. It differs from {@link #valid} only for doubles: a number that overflows, such as {@code
   * 1e400}, has the form of a double, so a column of numbers with one such value is typed double
   * and the value is then reported as invalid instead of turning the column into text.
   */
  static String shaped(String expression, ColumnType type) {
    String pattern =
        switch (type) {
          case INTEGER -> INTEGER;
          case DOUBLE -> DOUBLE;
          case BOOLEAN -> BOOLEAN;
          case DATE -> DATE;
          case TIMESTAMP -> TIMESTAMP;
          case STRING -> null;
        };
    if (pattern == null) {
      return "true";
    }
    String castable =
        type == ColumnType.TIMESTAMP
            ? "TRY_CAST(" + localTimestamp(expression) + " AS TIMESTAMP)"
            : "TRY_CAST(" + expression + " AS " + ColumnTypes.duckDbType(type) + ")";
    return "(regexp_full_match("
        + expression
        + ", "
        + DuckDb.literal(pattern)
        + ") AND "
        + castable
        + " IS NOT NULL)";
  }

  /**
   * Returns a SQL expression that converts the text {@code expression}, valid for {@code type}, to
   * the DuckDB type a snapshot stores. A timestamp with an offset becomes UTC wall-clock time: its
   * local date and time minus the offset. The arithmetic is explicit because DuckDB 1.5.6 drops the
   * offset when it casts text to TIMESTAMP, and a cast to TIMESTAMPTZ of text without an offset
   * would depend on the session's time zone.
   */
  static String cast(String expression, ColumnType type) {
    if (type != ColumnType.TIMESTAMP) {
      return "CAST(" + expression + " AS " + ColumnTypes.duckDbType(type) + ")";
    }
    // One regexp_extract into a struct, repeated below: DuckDB evaluates it once per value, which
    // measured about four times faster than one extraction per group.
    String parts =
        "regexp_extract("
            + expression
            + ", "
            + DuckDb.literal(TIMESTAMP_PARTS)
            + ", ['local', 'sign', 'hours', 'minutes'])";
    String offsetMinutes =
        "CASE WHEN "
            + parts
            + ".hours = '' THEN 0 ELSE (TRY_CAST("
            + parts
            + ".hours AS INTEGER) * 60 + coalesce(TRY_CAST(nullif("
            + parts
            + ".minutes, '') AS INTEGER), 0)) * (CASE "
            + parts
            + ".sign WHEN '-' THEN -1 ELSE 1 END) END";
    return "(CASE WHEN "
        + hasOffset(expression)
        + " THEN CAST("
        + parts
        + ".local AS TIMESTAMP) - to_minutes("
        + offsetMinutes
        + ") ELSE CAST("
        + expression
        + " AS TIMESTAMP) END)";
  }

  /** Returns the local date and time of a timestamp text, without its offset. */
  private static String localTimestamp(String expression) {
    return "(CASE WHEN "
        + hasOffset(expression)
        + " THEN regexp_extract("
        + expression
        + ", "
        + DuckDb.literal(TIMESTAMP_PARTS)
        + ", 1) ELSE "
        + expression
        + " END)";
  }

  /**
   * Returns a condition that is true when a timestamp text that matches {@link #TIMESTAMP} has an
   * offset or {@code Z}. In such text, Z and + occur only in an offset, and - after the date only
   * in an offset. Text without one then takes DuckDB's plain cast, several times faster than the
   * extraction of the parts.
   */
  private static String hasOffset(String expression) {
    return "(contains("
        + expression
        + ", 'Z') OR contains("
        + expression
        + ", '+') OR contains(substr(ltrim("
        + expression
        + "), 11), '-'))";
  }
}
