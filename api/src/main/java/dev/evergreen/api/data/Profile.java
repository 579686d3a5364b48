package dev.evergreen.api.data;

import java.util.List;
import java.util.Optional;

/** Row count and per-column statistics of a snapshot. */
public record Profile(long rowCount, List<ColumnProfile> columns) {
  public Profile {
    columns = List.copyOf(columns);
  }

  public Optional<ColumnProfile> column(String name) {
    return columns.stream().filter(c -> c.name().equals(name)).findFirst();
  }
}
