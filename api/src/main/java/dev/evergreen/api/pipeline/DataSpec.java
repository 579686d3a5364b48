package dev.evergreen.api.pipeline;

import dev.evergreen.api.data.PersonalDataTag;
import java.util.Map;

/**
 * Declared column types and personal-data tags of the batches.
 *
 * @param columns column name to type ({@code integer}, {@code double}, {@code string}, {@code
 *     boolean}, {@code date}, {@code timestamp}); listed columns are required, others are kept with
 *     the type read from the file
 * @param personalData column name to tag
 */
public record DataSpec(Map<String, String> columns, Map<String, PersonalDataTag> personalData) {
  public static final DataSpec EMPTY = new DataSpec(null, null);

  public DataSpec {
    columns =
        columns == null
            ? Map.of()
            : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(columns));
    personalData = personalData == null ? Map.of() : Map.copyOf(personalData);
  }
}
