package dev.evergreen.api.data;

import java.util.Objects;

/** Name and logical type of one column. */
public record Column(String name, ColumnType type) {
  public Column {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
  }
}
