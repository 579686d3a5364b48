package dev.evergreen.api.data;

import java.util.List;

/**
 * Summary statistics of one column of a snapshot.
 *
 * @param min smallest value as text (numbers, dates and timestamps in ISO form), null when the
 *     column has no non-null value
 * @param max largest value as text, null when the column has no non-null value
 * @param mean arithmetic mean, null for non-numeric columns or when all values are null
 * @param stddev sample standard deviation, null for non-numeric columns, fewer than two values, or
 *     a deviation beyond the largest double
 * @param approxDistinct distinct non-null values, estimated with HyperLogLog
 * @param topValues up to ten most frequent non-null values, most frequent first
 */
public record ColumnProfile(
    String name,
    ColumnType type,
    long nullCount,
    String min,
    String max,
    Double mean,
    Double stddev,
    long approxDistinct,
    List<ValueCount> topValues) {
  public ColumnProfile {
    topValues = List.copyOf(topValues);
  }
}
