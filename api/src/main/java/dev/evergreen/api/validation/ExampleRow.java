package dev.evergreen.api.validation;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One failing row of a row constraint.
 *
 * @param row 1-based row number in the batch file's order, header not counted
 * @param values the checked column, or the columns the expression names, to their values: JSON
 *     numbers for numeric columns, booleans for boolean columns, text otherwise (dates and
 *     timestamps in ISO 8601 form), null for SQL NULL
 */
public record ExampleRow(long row, Map<String, Object> values) {
  public ExampleRow {
    values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
  }
}
