package dev.evergreen.server;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.evergreen.api.EvergreenException;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;

/** JSON reading and writing for the HTTP API: snake_case names, ISO 8601 instants. */
final class Json {
  /**
   * Streaming factory for the inference path; thread-safe. A key repeated in one object is an
   * error, because which of the two values a reader keeps differs between JSON libraries.
   */
  static final JsonFactory FACTORY =
      JsonFactory.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER)
          .enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER)
          .build();

  static final ObjectMapper MAPPER =
      JsonMapper.builder(FACTORY)
          .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
          .addModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  private Json() {}

  static Buffer encode(Object value) {
    try {
      return Buffer.buffer(MAPPER.writeValueAsBytes(value));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write " + value.getClass().getName() + " as JSON", e);
    }
  }

  /**
   * Parses a request body into a tree.
   *
   * @throws EvergreenException INVALID_INPUT naming the line and column of a syntax error
   */
  static JsonNode parse(Buffer body) {
    if (body == null || body.length() == 0) {
      throw EvergreenException.invalid("request body is empty; send a JSON object");
    }
    try {
      return MAPPER.readTree(body.getBytes());
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw syntaxError(e);
    } catch (IOException e) {
      throw EvergreenException.invalid("cannot read the request body: " + e.getMessage());
    }
  }

  /** Converts a Jackson parse failure into an error naming its position. */
  static EvergreenException syntaxError(JsonProcessingException e) {
    String position =
        e.getLocation() == null
            ? ""
            : " at line "
                + e.getLocation().getLineNr()
                + ", column "
                + e.getLocation().getColumnNr();
    // Jackson appends the position of the opening bracket with a redacted source description,
    // which repeats the position already given and reads as noise to a client.
    String reason = e.getOriginalMessage().replaceFirst("\\s*\\(start marker at .*", "");
    return EvergreenException.invalid("request body is not valid JSON" + position + ": " + reason);
  }
}
