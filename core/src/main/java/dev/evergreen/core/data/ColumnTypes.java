package dev.evergreen.core.data;

import dev.evergreen.api.data.ColumnType;
import java.util.Locale;
import java.util.Optional;

/** Maps between DuckDB types and {@link ColumnType}, and renders values as text in SQL. */
public final class ColumnTypes {
  private ColumnTypes() {}

  /**
   * Returns the logical type of a DuckDB type name as {@code DESCRIBE} reports it, or empty for
   * types Evergreen does not store (lists, structs, blobs, intervals, times of day, UUIDs).
   */
  public static Optional<ColumnType> fromDuckDb(String duckDbType) {
    String type = duckDbType.trim().toUpperCase(Locale.ROOT);
    if (type.startsWith("DECIMAL")) {
      return Optional.of(ColumnType.DOUBLE);
    }
    if (type.startsWith("TIMESTAMP")) {
      // TIMESTAMP, TIMESTAMP_S, TIMESTAMP_MS, TIMESTAMP_NS and TIMESTAMP WITH TIME ZONE.
      return Optional.of(ColumnType.TIMESTAMP);
    }
    return switch (type) {
      case "TINYINT",
          "SMALLINT",
          "INTEGER",
          "BIGINT",
          "HUGEINT",
          "UTINYINT",
          "USMALLINT",
          "UINTEGER",
          "UBIGINT",
          "UHUGEINT" ->
          Optional.of(ColumnType.INTEGER);
      case "FLOAT", "REAL", "DOUBLE" -> Optional.of(ColumnType.DOUBLE);
      case "VARCHAR" -> Optional.of(ColumnType.STRING);
      case "BOOLEAN" -> Optional.of(ColumnType.BOOLEAN);
      case "DATE" -> Optional.of(ColumnType.DATE);
      default -> Optional.empty();
    };
  }

  /** Returns the DuckDB type a snapshot stores for a logical type. */
  public static String duckDbType(ColumnType type) {
    return switch (type) {
      case BOOLEAN -> "BOOLEAN";
      case INTEGER -> "BIGINT";
      case DOUBLE -> "DOUBLE";
      case STRING -> "VARCHAR";
      case DATE -> "DATE";
      case TIMESTAMP -> "TIMESTAMP";
    };
  }

  /**
   * Returns a SQL expression that renders {@code expression} (already quoted) as text: timestamps
   * in ISO 8601 with a {@code T} and fractional seconds only when present ({@code
   * 2001-01-01T06:00:00}), everything else as DuckDB casts it to {@code VARCHAR}.
   */
  public static String text(String expression, ColumnType type) {
    if (type == ColumnType.TIMESTAMP) {
      return "CASE WHEN epoch_us("
          + expression
          + ") % 1000000 = 0 THEN strftime("
          + expression
          + ", '%Y-%m-%dT%H:%M:%S') ELSE strftime("
          + expression
          + ", '%Y-%m-%dT%H:%M:%S.%f') END";
    }
    return "CAST(" + expression + " AS VARCHAR)";
  }

  /** Returns the lowercase name used in pipeline files and messages, such as {@code integer}. */
  public static String specName(ColumnType type) {
    return type.name().toLowerCase(Locale.ROOT);
  }
}
