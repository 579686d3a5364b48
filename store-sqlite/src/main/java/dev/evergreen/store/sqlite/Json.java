package dev.evergreen.store.sqlite;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;

/**
 * JSON text columns. Value types are written with all their record components, nulls included, and
 * map entries sorted by key. They are read back equal to what was written: instants as ISO-8601
 * text with their full precision, and non-finite doubles as the strings {@code "NaN"}, {@code
 * "Infinity"} and {@code "-Infinity"}.
 */
final class Json {
  // Map entries are sorted by key because the maps of the value types (Map.copyOf) iterate in an
  // order that changes from one JVM run to the next, and equal values should give equal text.
  // Unknown properties are ignored so that an older Evergreen process sharing the database with a
  // newer one can still read rows whose value types gained a field.
  static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .addModule(new JavaTimeModule())
          .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .disable(DeserializationFeature.ADJUST_DATES_TO_CONTEXT_TIME_ZONE)
          .build();

  private Json() {}

  /** Serializes a value; null becomes SQL NULL rather than the JSON text {@code null}. */
  static String write(Object value) {
    if (value == null) {
      return null;
    }
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "cannot serialize " + value.getClass().getSimpleName() + " to JSON: " + e.getMessage(),
          e);
    }
  }

  static <T> T read(String text, Class<T> type, String column) {
    return read(text, MAPPER.constructType(type), column);
  }

  static <T> T read(String text, TypeReference<T> type, String column) {
    return read(text, MAPPER.constructType(type), column);
  }

  private static <T> T read(String text, JavaType type, String column) {
    if (text == null) {
      return null;
    }
    try {
      return MAPPER.readValue(text, type);
    } catch (JsonProcessingException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "column "
              + column
              + " of the metadata database contains invalid JSON for "
              + type.toCanonical()
              + ": "
              + e.getOriginalMessage()
              + ". The row was changed outside Evergreen; restore the database from a backup",
          e);
    }
  }
}
