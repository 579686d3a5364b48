package dev.evergreen.api.data;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.util.List;
import java.util.Optional;

/**
 * Row count and per-column statistics of a snapshot.
 *
 * @param sketchKey artifact key of the snapshot's mergeable binary profile (sketches per column,
 *     format in docs/profiles.md); null for snapshots stored before profiles were kept
 */
public record Profile(long rowCount, List<ColumnProfile> columns, String sketchKey) {
  @JsonCreator
  public Profile {
    columns = List.copyOf(columns);
  }

  /** Creates a profile without a binary profile. */
  public Profile(long rowCount, List<ColumnProfile> columns) {
    this(rowCount, columns, null);
  }

  public Optional<ColumnProfile> column(String name) {
    return columns.stream().filter(c -> c.name().equals(name)).findFirst();
  }

  /** Returns a copy that points at the binary profile stored under {@code key}. */
  public Profile withSketchKey(String key) {
    return new Profile(rowCount, columns, key);
  }
}
