package dev.evergreen.core.profile;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Mergeable profile of a table: its row count and one {@link ColumnSketch} per column, in schema
 * order. Profiles of disjoint batches with the same columns merge into the profile of their union
 * within the error bounds of the sketches (docs/profiles.md).
 */
public final class DatasetProfile {
  private long rows;
  private final List<ColumnSketch> columns;

  public DatasetProfile(long rows, List<ColumnSketch> columns) {
    this.rows = rows;
    this.columns = new ArrayList<>(columns);
  }

  public long rows() {
    return rows;
  }

  public List<ColumnSketch> columns() {
    return List.copyOf(columns);
  }

  public Optional<ColumnSketch> column(String name) {
    return columns.stream().filter(c -> c.name().equals(name)).findFirst();
  }

  /**
   * Folds {@code other} into this profile. Both must have the same column names and types in the
   * same order, because a column missing from one batch has no counts to merge.
   */
  public void merge(DatasetProfile other) {
    if (other.columns.size() != columns.size()) {
      throw new IllegalArgumentException(
          "cannot merge a profile of "
              + other.columns.size()
              + " columns into one of "
              + columns.size()
              + " columns");
    }
    for (int i = 0; i < columns.size(); i++) {
      columns.get(i).merge(other.columns.get(i));
    }
    rows += other.rows;
  }
}
