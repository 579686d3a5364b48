package dev.evergreen.api.data;

import java.util.Locale;

/** Logical type of a snapshot column, independent of the file format it was read from. */
public enum ColumnType {
  BOOLEAN,
  INTEGER,
  DOUBLE,
  STRING,
  DATE,
  TIMESTAMP;

  /** Returns true for types that have a mean and a standard deviation. */
  public boolean isNumeric() {
    return this == INTEGER || this == DOUBLE;
  }

  /** Parses a spec value such as {@code integer} or {@code TIMESTAMP}. */
  public static ColumnType parse(String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "unknown column type '"
              + text
              + "'; expected one of boolean, integer, double, string, date, timestamp");
    }
  }
}
