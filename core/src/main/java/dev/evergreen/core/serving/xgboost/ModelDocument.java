package dev.evergreen.core.serving.xgboost;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.EvergreenException;
import java.io.IOException;

/** Reads the bytes of a saved XGBoost model, JSON or UBJSON, into a Jackson tree. */
final class ModelDocument {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private static final JsonFactory JSON =
      JsonFactory.builder()
          // XGBoost writes non-finite floats as NaN, Infinity and -Infinity.
          .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
          .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
          .build();

  private ModelDocument() {}

  /**
   * Reads a model. A document whose first byte (after white space) is {@code {} followed by a
   * quote, white space or {@code }} is JSON. A {@code {} followed by anything else is UBJSON,
   * where the next byte is a type marker.
   */
  static JsonNode read(byte[] model) {
    if (model.length == 0) {
      throw EvergreenException.invalid(
          "XGBoost model is empty (0 bytes). Pass the bytes of a model saved with"
              + " save_model(\"model.json\"), save_model(\"model.ubj\") or"
              + " Booster.toByteArray(\"json\"|\"ubj\").");
    }
    int first = skipJsonWhitespace(model, 0);
    if (first < model.length && model[first] == '{' && (first > 0 || looksLikeJson(model))) {
      return readJson(model);
    }
    if (model[0] == '{') {
      return UbjsonReader.read(model);
    }
    throw EvergreenException.invalid(
        "XGBoost model is neither JSON nor UBJSON: it starts with bytes "
            + hexPrefix(model)
            + " where '{' (0x7b) is expected. Pass a model saved with save_model(\"model.json\")"
            + " or save_model(\"model.ubj\"); the legacy binary format (.model, .bin) is not"
            + " supported.");
  }

  private static boolean looksLikeJson(byte[] model) {
    if (model.length < 2) {
      return false;
    }
    byte second = model[1];
    return second == '"' || second == '}' || isJsonWhitespace(second);
  }

  private static int skipJsonWhitespace(byte[] model, int from) {
    int i = from;
    while (i < model.length && isJsonWhitespace(model[i])) {
      i++;
    }
    return i;
  }

  private static boolean isJsonWhitespace(byte b) {
    return b == ' ' || b == '\n' || b == '\r' || b == '\t';
  }

  private static String hexPrefix(byte[] model) {
    StringBuilder hex = new StringBuilder();
    for (int i = 0; i < Math.min(8, model.length); i++) {
      hex.append(String.format("%02x", model[i] & 0xFF));
    }
    return hex.toString();
  }

  private static JsonNode readJson(byte[] model) {
    try (JsonParser parser = JSON.createParser(model)) {
      JsonNode root = readJsonValue(parser, parser.nextToken());
      JsonToken trailing = parser.nextToken();
      if (trailing != null) {
        throw invalidJson(parser.currentLocation(), "unexpected data after the top-level value");
      }
      return root;
    } catch (JacksonException e) {
      throw invalidJson(e.getLocation(), withoutAdvice(e.getOriginalMessage()));
    } catch (IOException e) {
      throw invalidJson(null, e.getMessage());
    }
  }

  /**
   * Builds a node for the value that starts at {@code token}. Floating-point numbers are parsed
   * straight to float32 because XGBoost stores float32 values and prints each as the shortest
   * decimal that round-trips. Parsing to double first could round a few values differently.
   */
  private static JsonNode readJsonValue(JsonParser parser, JsonToken token) throws IOException {
    if (token == null) {
      throw invalidJson(parser.currentLocation(), "the document ends early (truncated file?)");
    }
    return switch (token) {
      case START_OBJECT -> {
        ObjectNode object = NODES.objectNode();
        for (JsonToken t = parser.nextToken(); t != JsonToken.END_OBJECT; t = parser.nextToken()) {
          if (t == null) {
            throw invalidJson(
                parser.currentLocation(), "the document ends early (truncated file?)");
          }
          String key = parser.currentName();
          object.set(key, readJsonValue(parser, parser.nextToken()));
        }
        yield object;
      }
      case START_ARRAY -> {
        ArrayNode array = NODES.arrayNode();
        for (JsonToken t = parser.nextToken(); t != JsonToken.END_ARRAY; t = parser.nextToken()) {
          array.add(readJsonValue(parser, t));
        }
        yield array;
      }
      case VALUE_STRING -> NODES.textNode(parser.getText());
      case VALUE_NUMBER_INT ->
          switch (parser.getNumberType()) {
            case INT -> NODES.numberNode(parser.getIntValue());
            case LONG -> NODES.numberNode(parser.getLongValue());
            default -> NODES.numberNode(parser.getBigIntegerValue());
          };
      case VALUE_NUMBER_FLOAT -> NODES.numberNode(parser.getFloatValue());
      case VALUE_TRUE -> NODES.booleanNode(true);
      case VALUE_FALSE -> NODES.booleanNode(false);
      case VALUE_NULL -> NODES.nullNode();
      default -> throw invalidJson(parser.currentLocation(), "unexpected token " + token);
    };
  }

  /**
   * Returns a parser message without the clause that names a Jackson setting to change, which means
   * nothing to someone who uploads a model file.
   */
  static String withoutAdvice(String message) {
    String text = message;
    for (String advice : new String[] {", from `", " (from `", ": enable", " (consider"}) {
      int at = text.indexOf(advice);
      if (at > 0) {
        text = text.substring(0, at) + (advice.startsWith(",") ? ")" : "");
      }
    }
    return text;
  }

  private static EvergreenException invalidJson(JsonLocation location, String problem) {
    String where =
        location == null
            ? ""
            : " at line " + location.getLineNr() + ", column " + location.getColumnNr();
    return EvergreenException.invalid(
        "XGBoost JSON model is invalid"
            + where
            + ": "
            + problem
            + ". Save the model again with save_model(\"model.json\") or"
            + " Booster.toByteArray(\"json\").");
  }
}
