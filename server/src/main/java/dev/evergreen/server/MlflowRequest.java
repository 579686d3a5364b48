package dev.evergreen.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.EvergreenException;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Fields of an MLflow request, from the JSON body of a POST or the query string of a GET, read as
 * MLflow clients send them: 64-bit integers as JSON numbers or as decimal strings, and {@code
 * run_uuid} accepted where {@code run_id} is missing.
 */
final class MlflowRequest {
  private final ObjectNode fields;

  private MlflowRequest(ObjectNode fields) {
    this.fields = fields;
  }

  static MlflowRequest of(RoutingContext ctx) {
    // A request without a body, such as a DELETE, may carry its fields in the query string. The
    // length is -1 when the request had no Content-Length, as a HEAD request usually has none.
    if (ctx.request().method() == HttpMethod.GET
        || ctx.body() == null
        || ctx.body().length() <= 0) {
      ObjectNode fields = Json.MAPPER.createObjectNode();
      for (String name : ctx.queryParams().names()) {
        List<String> values = ctx.queryParams().getAll(name);
        if (values.size() == 1) {
          fields.put(name, values.get(0));
        } else {
          ArrayNode array = fields.putArray(name);
          values.forEach(array::add);
        }
      }
      return new MlflowRequest(fields);
    }
    JsonNode body = Json.parse(ctx.body().buffer());
    if (!(body instanceof ObjectNode object)) {
      throw EvergreenException.invalid("request body must be a JSON object, got " + body);
    }
    return new MlflowRequest(object);
  }

  static MlflowRequest of(JsonNode node) {
    if (!(node instanceof ObjectNode object)) {
      throw EvergreenException.invalid("expected a JSON object, got " + node);
    }
    return new MlflowRequest(object);
  }

  /** Returns a text field, or null when it is missing or JSON null. */
  String text(String name) {
    JsonNode node = fields.get(name);
    if (node == null || node.isNull()) {
      return null;
    }
    if (node.isContainerNode()) {
      throw EvergreenException.invalid(
          "parameter '" + name + "' must be a string, got " + abbreviate(node.toString()));
    }
    return node.asText();
  }

  String requiredText(String name) {
    String value = text(name);
    if (value == null || value.isEmpty()) {
      throw EvergreenException.invalid("missing value for required parameter '" + name + "'");
    }
    return value;
  }

  /** Returns {@code run_id}, or {@code run_uuid} when {@code run_id} is missing. */
  String runId() {
    String id = text("run_id");
    if (id == null || id.isEmpty()) {
      id = text("run_uuid");
    }
    if (id == null || id.isEmpty()) {
      throw EvergreenException.invalid("missing value for required parameter 'run_id'");
    }
    return id;
  }

  /** Returns a 64-bit integer sent as a number or a decimal string, or null when missing. */
  Long int64(String name) {
    JsonNode node = fields.get(name);
    if (node == null || node.isNull()) {
      return null;
    }
    if (node.isIntegralNumber() && node.canConvertToLong()) {
      return node.asLong();
    }
    if (node.isTextual()) {
      try {
        return Long.parseLong(node.asText().trim());
      } catch (NumberFormatException e) {
        // Reported below.
      }
    }
    throw EvergreenException.invalid(
        "parameter '"
            + name
            + "' must be a 64-bit integer, as a number or a decimal string, got "
            + abbreviate(node.toString()));
  }

  long requiredInt64(String name) {
    Long value = int64(name);
    if (value == null) {
      throw EvergreenException.invalid("missing value for required parameter '" + name + "'");
    }
    return value;
  }

  /** Returns a double sent as a number or as a string, including NaN and Infinity as strings. */
  double requiredDouble(String name) {
    JsonNode node = fields.get(name);
    if (node == null || node.isNull()) {
      throw EvergreenException.invalid("missing value for required parameter '" + name + "'");
    }
    if (node.isNumber()) {
      return node.asDouble();
    }
    if (node.isTextual()) {
      try {
        return Double.parseDouble(node.asText().trim());
      } catch (NumberFormatException e) {
        // Reported below.
      }
    }
    throw EvergreenException.invalid(
        "parameter '" + name + "' must be a number, got " + abbreviate(node.toString()));
  }

  /** Returns a repeated text field; a single value counts as a list of one. */
  List<String> texts(String name) {
    JsonNode node = fields.get(name);
    List<String> values = new ArrayList<>();
    if (node == null || node.isNull()) {
      return values;
    }
    if (node.isArray()) {
      node.forEach(element -> values.add(element.asText()));
    } else {
      values.add(node.asText());
    }
    return values;
  }

  /** Returns a required message field as a request. */
  MlflowRequest requiredObject(String name) {
    JsonNode node = fields.get(name);
    if (node == null || node.isNull()) {
      throw EvergreenException.invalid("missing value for required parameter '" + name + "'");
    }
    if (!node.isObject()) {
      throw EvergreenException.invalid(
          "parameter '" + name + "' must be a JSON object, got " + abbreviate(node.toString()));
    }
    return of(node);
  }

  /** Returns a repeated message field as requests; a missing field is empty. */
  List<MlflowRequest> objects(String name) {
    JsonNode node = fields.get(name);
    List<MlflowRequest> values = new ArrayList<>();
    if (node == null || node.isNull()) {
      return values;
    }
    if (!node.isArray()) {
      throw EvergreenException.invalid("parameter '" + name + "' must be a JSON array");
    }
    for (JsonNode element : node) {
      values.add(of(element));
    }
    return values;
  }

  /** Returns an enum value sent by name or by its proto number counted from 1. */
  <E extends Enum<E>> E enumValue(String name, Class<E> type, E fallback) {
    String text = text(name);
    if (text == null || text.isEmpty()) {
      return fallback;
    }
    E[] constants = type.getEnumConstants();
    try {
      int number = Integer.parseInt(text);
      if (number >= 1 && number <= constants.length) {
        return constants[number - 1];
      }
    } catch (NumberFormatException e) {
      for (E constant : constants) {
        if (constant.name().equals(text.toUpperCase(Locale.ROOT))) {
          return constant;
        }
      }
    }
    List<String> names = new ArrayList<>();
    for (E constant : constants) {
      names.add(constant.name());
    }
    throw EvergreenException.invalid(
        "parameter '" + name + "' must be one of " + names + ", got '" + abbreviate(text) + "'");
  }

  private static String abbreviate(String text) {
    return InferenceRequestDecoder.abbreviate(text);
  }
}
