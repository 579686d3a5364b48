package dev.evergreen.api.data;

import java.util.List;
import java.util.Optional;

/** Ordered columns of a snapshot. */
public record Schema(List<Column> columns) {
  public Schema {
    columns = List.copyOf(columns);
  }

  public Optional<Column> column(String name) {
    return columns.stream().filter(c -> c.name().equals(name)).findFirst();
  }

  public List<String> names() {
    return columns.stream().map(Column::name).toList();
  }
}
