package dev.evergreen.server;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.BatchingSpec;
import dev.evergreen.api.pipeline.IntegerRange;
import dev.evergreen.api.pipeline.RollbackSpec;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.util.Arrays;
import java.util.Collection;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * JSON reading and writing for the HTTP API: snake_case names, ISO 8601 instants.
 *
 * <p>Every request body that fails to parse, or whose tree does not map to a request type, is
 * reported through {@link #invalidJson} or {@link #invalidField}. They write the server's own
 * message with the position or field, because Jackson's messages advise its own configuration
 * (features, coercion and stream constraints), which a client cannot change.
 */
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

  /** The token of Jackson's "Non-standard token 'NaN'" message, such as NaN or -Infinity. */
  private static final Pattern NON_STANDARD_TOKEN = Pattern.compile("Non-standard token '([^']*)'");

  /** Jackson's "Unexpected character ('}' (code 125)): ..." message: the character, the rest. */
  private static final Pattern UNEXPECTED_CHARACTER =
      Pattern.compile(
          "^Unexpected character \\('(.*?)' \\(code \\d+\\)\\)(?:: (.*))?$", Pattern.DOTALL);

  /** Jackson's "Unrecognized token 'tru': was expecting ..." message: the token. */
  /**
   * Ranges of the integer fields of the canary and batching request bodies, by field path, so that
   * an error for a value of the wrong type names the range the request check applies.
   */
  private static final Map<String, IntegerRange> INTEGER_RANGES =
      Map.of(
          "rollback.window_seconds", RollbackSpec.WINDOW_SECONDS,
          "rollback.min_requests", RollbackSpec.MIN_REQUESTS,
          "max_batch_size", BatchingSpec.MAX_BATCH_SIZE,
          "max_queue", BatchingSpec.MAX_QUEUE);

  private static final Pattern UNRECOGNIZED_TOKEN = Pattern.compile("^Unrecognized token '(.*?)'");

  /** Jackson's "Unrecognized character escape 'x' (code 120)" message: the escaped character. */
  private static final Pattern UNRECOGNIZED_ESCAPE =
      Pattern.compile("^Unrecognized character escape '(.*?)'");

  /** The start of an unclosed array or object in Jackson's message, with its redacted source. */
  private static final Pattern START_MARKER =
      Pattern.compile("\\s*\\(start marker at .*line: (\\d+), column: (\\d+)\\]\\)");

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
   * @throws EvergreenException INVALID_INPUT for an empty body, or naming the line and column of a
   *     syntax error or of content after the JSON value
   */
  static JsonNode parse(Buffer body) {
    if (body == null || body.length() == 0) {
      throw EvergreenException.invalid("request body is empty; send a JSON object");
    }
    try (JsonParser parser = FACTORY.createParser(body.getBytes())) {
      try {
        if (parser.nextToken() == null) {
          throw EvergreenException.invalid(
              "request body contains only white space; send a JSON object");
        }
        JsonNode root = readValue(parser);
        requireEnd(parser, "value");
        return root;
      } catch (JsonProcessingException e) {
        throw invalidJson(e, parser);
      }
    } catch (IOException e) {
      throw undecodable(e);
    }
  }

  /**
   * Reads the value at the parser's current token into the tree that Jackson's tree reader builds.
   * The one difference is that a number of larger magnitude than FP32's range keeps its text, which
   * {@link JsonNode#asText} then returns. A range error then shows such a number as the request
   * wrote it, such as {@code 1e400}, in place of {@code Infinity}, the double it parses to.
   */
  private static JsonNode readValue(JsonParser parser) throws IOException {
    JsonNodeFactory nodes = JsonNodeFactory.instance;
    JsonToken token = parser.currentToken();
    if (token == null) {
      throw new JsonParseException(parser, "Unexpected end-of-input");
    }
    switch (token) {
      case START_OBJECT -> {
        ObjectNode object = nodes.objectNode();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          String name = parser.currentName();
          parser.nextToken();
          object.set(name, readValue(parser));
        }
        return object;
      }
      case START_ARRAY -> {
        ArrayNode array = nodes.arrayNode();
        while (parser.nextToken() != JsonToken.END_ARRAY) {
          array.add(readValue(parser));
        }
        return array;
      }
      case VALUE_STRING -> {
        return nodes.textNode(parser.getText());
      }
      case VALUE_NUMBER_INT -> {
        return switch (parser.getNumberType()) {
          case INT -> nodes.numberNode(parser.getIntValue());
          case LONG -> nodes.numberNode(parser.getLongValue());
          default -> nodes.numberNode(parser.getBigIntegerValue());
        };
      }
      case VALUE_NUMBER_FLOAT -> {
        double value = parser.getDoubleValue();
        return Math.abs(value) > Float.MAX_VALUE
            ? new WrittenDoubleNode(value, parser.getText())
            : nodes.numberNode(value);
      }
      case VALUE_TRUE, VALUE_FALSE -> {
        return nodes.booleanNode(token == JsonToken.VALUE_TRUE);
      }
      case VALUE_NULL -> {
        return nodes.nullNode();
      }
      default ->
          // JSON text produces none of the other tokens, such as an embedded object.
          throw new JsonParseException(parser, "Unexpected token " + token);
    }
  }

  /** A floating-point number that keeps the text the request wrote it with. */
  private static final class WrittenDoubleNode extends DoubleNode {
    private final String text;

    WrittenDoubleNode(double value, String text) {
      super(value);
      this.text = text;
    }

    @Override
    public String asText() {
      return text;
    }
  }

  /**
   * Returns the error for a body whose bytes are not text in an encoding that JSON allows, such as
   * invalid UTF-32, which Jackson reports as an {@link IOException} that is not a parse error.
   */
  static EvergreenException undecodable(IOException e) {
    return EvergreenException.invalid(
        "request body cannot be decoded as JSON text ("
            + e.getMessage()
            + "); send JSON encoded as UTF-8");
  }

  /**
   * Rejects anything after the top-level JSON value, which a parser that stops at the end of the
   * value would otherwise ignore.
   *
   * @param document what the top-level value is, such as "object", for the message
   */
  static void requireEnd(JsonParser parser, String document) throws IOException {
    JsonToken trailing;
    try {
      trailing = parser.nextToken();
    } catch (JsonParseException e) {
      throw trailingContent(document, e.getLocation(), reason(e));
    }
    if (trailing != null) {
      throw trailingContent(
          document, parser.currentTokenLocation(), "found " + tokenName(trailing, parser));
    }
  }

  private static EvergreenException trailingContent(
      String document, JsonLocation location, String found) {
    return EvergreenException.invalid(
        "request body has content after its JSON "
            + document
            + position(location)
            + ": "
            + found
            + "; send exactly one JSON "
            + document
            + " per request");
  }

  private static String tokenName(JsonToken token, JsonParser parser) throws IOException {
    return switch (token) {
      case START_OBJECT -> "an object";
      case START_ARRAY -> "an array";
      case VALUE_STRING -> "a string";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT ->
          "the number " + InferenceRequestDecoder.abbreviate(parser.getText());
      case VALUE_TRUE, VALUE_FALSE, VALUE_NULL -> token.asString();
      default -> "'" + InferenceRequestDecoder.abbreviate(parser.getText()) + "'";
    };
  }

  /**
   * Returns the error for a body that the JSON parser rejected: its position and what is wrong, in
   * the server's words where Jackson's message advises a parser setting.
   *
   * @param parser the parser that failed, whose current token gives the position when the exception
   *     has none, as for a stream constraint
   */
  static EvergreenException invalidJson(JsonProcessingException e, JsonParser parser) {
    JsonLocation location = e.getLocation();
    if (location == null && parser != null) {
      location = parser.currentTokenLocation();
    }
    return EvergreenException.invalid(
        "request body is not valid JSON" + position(location) + ": " + reason(e));
  }

  private static String position(JsonLocation location) {
    if (location == null || location.getLineNr() < 1) {
      return "";
    }
    return " at line " + location.getLineNr() + ", column " + location.getColumnNr();
  }

  /** Returns what is wrong with the JSON text, and what to send instead. */
  private static String reason(JsonProcessingException e) {
    String message = e.getOriginalMessage();
    if (e instanceof StreamConstraintsException) {
      return constraintReason(message);
    }

    if (e instanceof InputCoercionException coercion) {
      return "the number "
          + InferenceRequestDecoder.abbreviate(textOf(coercion))
          + " is outside the range of a "
          + (coercion.getTargetType() == long.class ? "64" : "32")
          + "-bit integer; send a smaller number";
    }

    if (e instanceof JsonMappingException) {
      // Reading a tree maps no Java types, so only a request type mapped at its top level, where
      // no field is known, ends here.
      return "the body does not match the request's fields; send a JSON object";
    }

    Matcher nonStandard = NON_STANDARD_TOKEN.matcher(message);
    if (nonStandard.find()) {
      return nonStandard.group(1)
          + " is not a JSON number; send a finite number, or null for a missing value";
    }

    String syntax = syntaxReason(message);
    if (syntax != null) {
      return syntax;
    }

    if (message.contains("ALLOW_LEADING_PLUS_SIGN_FOR_NUMBERS")) {
      return "a number starts with '+', which JSON does not allow; send it without the plus sign";
    }

    if (message.contains("ALLOW_COMMENTS") || message.contains("ALLOW_YAML_COMMENTS")) {
      return "a comment starts here, which JSON does not allow; remove the comment";
    }

    if (message.startsWith("Duplicate field ")) {
      return message + "; send each field once per object";
    }

    Matcher marker = START_MARKER.matcher(message);
    if (marker.find()) {
      message =
          marker.replaceFirst(
              " (the value opened at line "
                  + marker.group(1)
                  + ", column "
                  + marker.group(2)
                  + " is not closed)");
    }

    if (message.indexOf('`') >= 0 || message.contains("Feature")) {
      // Any other message that advises a parser setting: keep the description before the advice.
      int advice = firstAdvice(message);
      return (advice > 0 ? message.substring(0, advice) : "unexpected content")
          + "; send JSON as RFC 8259 defines it";
    }

    return message;
  }

  /**
   * Rewords the parser's common syntax errors, or returns null for other messages. Jackson's texts
   * name its token types ("double-quote to start field name", "code 125"), which a caller has to
   * translate.
   */
  private static String syntaxReason(String message) {
    Matcher unexpected = UNEXPECTED_CHARACTER.matcher(message);
    if (unexpected.find()) {
      String rest = unexpected.group(2) == null ? "" : unexpected.group(2);
      String expected;
      if (rest.startsWith("was expecting double-quote to start field name")) {
        expected = "a field name in double quotes";
      } else if (rest.startsWith("was expecting a colon")) {
        expected = "':' after a field name";
      } else if (rest.startsWith("was expecting comma to separate Object entries")) {
        expected = "',' or '}'";
      } else if (rest.startsWith("was expecting comma to separate Array entries")) {
        expected = "',' or ']'";
      } else if (rest.startsWith("expected a valid value")) {
        expected = "a value (a string, number, array, object, true, false or null)";
      } else {
        return null;
      }
      return "unexpected character '"
          + unexpected.group(1)
          + "' where "
          + expected
          + " is expected; check the JSON syntax there";
    }
    Matcher token = UNRECOGNIZED_TOKEN.matcher(message);
    if (token.find()) {
      return "'"
          + InferenceRequestDecoder.abbreviate(token.group(1))
          + "' is not a JSON value; send a string in double quotes, a number, an array, an"
          + " object, true, false or null";
    }
    Matcher escape = UNRECOGNIZED_ESCAPE.matcher(message);
    if (escape.find()) {
      return "'\\"
          + escape.group(1)
          + "' is not a JSON escape; write a backslash in a string as '\\\\'";
    }
    if (message.startsWith("Unexpected end-of-input within/between Object entries")) {
      return "the body ends inside an object; close it with '}'";
    }
    return null;
  }

  /** Returns where a clause that advises a Jackson setting starts, or -1. */
  private static int firstAdvice(String message) {
    int best = -1;
    for (String start : new String[] {": enable", " (consider", " (not recognized", "(from `"}) {
      int at = message.indexOf(start);
      if (at > 0 && (best < 0 || at < best)) {
        best = at;
      }
    }
    return best;
  }

  private static String constraintReason(String message) {
    StreamReadConstraints limits = FACTORY.streamReadConstraints();
    if (message.startsWith("Document nesting depth")) {
      return "arrays and objects are nested more than "
          + limits.getMaxNestingDepth()
          + " levels deep; send at most "
          + limits.getMaxNestingDepth()
          + " levels";
    }
    if (message.startsWith("Number value length")) {
      return "a number is longer than "
          + limits.getMaxNumberLength()
          + " characters; send at most "
          + limits.getMaxNumberLength()
          + " characters per number";
    }
    if (message.startsWith("Name length")) {
      return "a field name is longer than "
          + limits.getMaxNameLength()
          + " characters; send shorter field names";
    }
    if (message.startsWith("String value length")) {
      return "a string is longer than "
          + limits.getMaxStringLength()
          + " characters; send shorter strings";
    }
    return "the body exceeds a size limit of the JSON parser; send a smaller body";
  }

  private static String textOf(InputCoercionException e) {
    try {
      return e.getProcessor() instanceof JsonParser parser ? parser.getText() : "?";
    } catch (IOException ignored) {
      return "?";
    }
  }

  /**
   * Returns the error for a request tree that does not map to a request type, naming the field, the
   * value sent and the type the field takes.
   *
   * @param request the request for the message, such as "the batching request"
   * @param body the tree that was mapped, to show the value of the failing field
   */
  static EvergreenException invalidField(String request, JsonNode body, JsonProcessingException e) {
    if (!(e instanceof JsonMappingException mapping) || mapping.getPath().isEmpty()) {
      return EvergreenException.invalid(request + " is invalid: " + reason(e));
    }
    StringBuilder field = new StringBuilder();
    JsonNode value = body;
    for (JsonMappingException.Reference step : mapping.getPath()) {
      if (step.getFieldName() != null) {
        if (!field.isEmpty()) {
          field.append('.');
        }
        field.append(step.getFieldName());
        value = value == null ? null : value.get(step.getFieldName());
      } else if (step.getIndex() >= 0) {
        field.append('[').append(step.getIndex()).append(']');
        value = value == null ? null : value.get(step.getIndex());
      }
    }
    if (e instanceof ValueInstantiationException && e.getCause() != null) {
      return EvergreenException.invalid(
          "field '" + field + "' of " + request + " is invalid: " + e.getCause().getMessage());
    }
    String expected = expectedType(mapping, INTEGER_RANGES.get(field.toString()));
    return EvergreenException.invalid(
        "field '"
            + field
            + "' of "
            + request
            + " is "
            + TabularDecoder.describe(value)
            + "; send "
            + (expected == null ? "a value of the type the API documents" : expected));
  }

  /**
   * Returns the kind of JSON value a Java type reads from, such as "an integer", or null.
   *
   * @param range the range of an integer field, or null to name the range of the Java type
   */
  private static String expectedType(JsonMappingException e, IntegerRange range) {
    Class<?> type = null;
    // InvalidFormatException, for a value such as "" or 1.5 for an integer, is a mismatch too.
    if (e instanceof MismatchedInputException mismatch) {
      type = mismatch.getTargetType();
    } else if (e.getCause() instanceof InputCoercionException coercion) {
      type = coercion.getTargetType();
    }
    if (type == null) {
      return null;
    }

    if (type == int.class || type == Integer.class) {
      IntegerRange bounds =
          range == null ? new IntegerRange(Integer.MIN_VALUE, Integer.MAX_VALUE) : range;
      return "an integer from " + bounds.min() + " to " + bounds.max();
    }
    if (type == long.class || type == Long.class || type == short.class || type == Short.class) {
      return "an integer";
    }

    if (type == double.class
        || type == Double.class
        || type == float.class
        || type == Float.class
        || Number.class.isAssignableFrom(type)) {
      return "a number";
    }
    if (type == boolean.class || type == Boolean.class) {
      return "true or false";
    }
    if (type == String.class) {
      return "a string";
    }

    if (type.isEnum()) {
      return "one of the strings " + Arrays.toString(type.getEnumConstants());
    }
    if (type.isArray() || Collection.class.isAssignableFrom(type)) {
      return "an array";
    }
    if (Map.class.isAssignableFrom(type) || type.isRecord()) {
      return "an object";
    }
    return null;
  }
}
