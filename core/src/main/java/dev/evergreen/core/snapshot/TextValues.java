package dev.evergreen.core.snapshot;

import dev.evergreen.api.data.ColumnType;
import dev.evergreen.core.data.ColumnTypes;
import dev.evergreen.core.data.DuckDb;

/**
 * Strict text forms of typed values, as SQL conditions. A value must match the pattern of its type
 * and DuckDB must be able to cast it, so that {@code 2001-02-30} and integers beyond 64 bits are
 * rejected too. Surrounding spaces are allowed.
 */
final class TextValues {
  private static final String INTEGER = "\\s*[+-]?[0-9]+\\s*";
  private static final String DOUBLE =
      "\\s*[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?\\s*";
  private static final String BOOLEAN = "(?i)\\s*(true|false)\\s*";
  private static final String DATE = "\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\\s*";
  // ISO 8601 date and time with at most microseconds, as a TIMESTAMP stores. An offset other than
  // Z is rejected because DuckDB 1.5.6 ignores it when casting text to TIMESTAMP.
  private static final String TIMESTAMP =
      "\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,6})?)?Z?)?\\s*";

  private TextValues() {}

  /** Returns a condition that is true when the text {@code expression} is a valid {@code type}. */
  static String valid(String expression, ColumnType type) {
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
    return "(regexp_full_match("
        + expression
        + ", "
        + DuckDb.literal(pattern)
        + ") AND TRY_CAST("
        + expression
        + " AS "
        + ColumnTypes.duckDbType(type)
        + ") IS NOT NULL)";
  }
}
