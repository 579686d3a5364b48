package dev.evergreen.api.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Validates a document against the subset of JSON Schema 2020-12 that the pipeline schema uses. A
 * keyword outside that subset raises an error, so a schema change cannot pass unchecked here.
 */
final class SchemaSubsetValidator {
  private static final Set<String> ANNOTATIONS =
      Set.of("$schema", "title", "description", "default");

  private static final Set<String> ASSERTIONS =
      Set.of(
          "type",
          "properties",
          "additionalProperties",
          "required",
          "enum",
          "const",
          "pattern",
          "minLength",
          "maxLength",
          "minimum",
          "maximum",
          "exclusiveMinimum",
          "exclusiveMaximum",
          "items",
          "minItems",
          "maxItems",
          "uniqueItems",
          "propertyNames",
          "oneOf",
          "not",
          "if",
          "then");

  private SchemaSubsetValidator() {}

  /** Returns one message per violation, each starting with the path of the offending value. */
  static List<String> validate(JsonNode schema, JsonNode document) {
    List<String> errors = new ArrayList<>();
    check(schema, document, "$", errors);
    return errors;
  }

  private static void check(JsonNode schema, JsonNode value, String path, List<String> errors) {
    for (Iterator<String> names = schema.fieldNames(); names.hasNext(); ) {
      String keyword = names.next();
      if (!ANNOTATIONS.contains(keyword) && !ASSERTIONS.contains(keyword)) {
        throw new IllegalArgumentException("keyword '" + keyword + "' is not supported");
      }
    }
    if (schema.has("type") && !hasType(value, schema.get("type"))) {
      errors.add(path + ": expected type " + schema.get("type") + " but was " + value);
      return;
    }
    if (schema.has("enum") && !contains(schema.get("enum"), value)) {
      errors.add(path + ": " + value + " is not one of " + schema.get("enum"));
    }
    if (schema.has("const") && !schema.get("const").equals(value)) {
      errors.add(path + ": " + value + " is not " + schema.get("const"));
    }
    if (value.isTextual()) {
      checkString(schema, value.textValue(), path, errors);
    }
    if (value.isNumber()) {
      checkNumber(schema, value.doubleValue(), path, errors);
    }
    if (value.isArray()) {
      checkArray(schema, value, path, errors);
    }
    if (value.isObject()) {
      checkObject(schema, value, path, errors);
    }
    if (schema.has("oneOf")) {
      int matches = 0;
      for (JsonNode option : schema.get("oneOf")) {
        if (validate(option, value).isEmpty()) {
          matches++;
        }
      }
      if (matches != 1) {
        errors.add(path + ": matches " + matches + " of the oneOf options, expected exactly 1");
      }
    }
    if (schema.has("not") && validate(schema.get("not"), value).isEmpty()) {
      errors.add(path + ": matches the schema under 'not' " + schema.get("not"));
    }
    if (schema.has("if") && schema.has("then") && validate(schema.get("if"), value).isEmpty()) {
      check(schema.get("then"), value, path, errors);
    }
  }

  private static void checkString(JsonNode schema, String text, String path, List<String> errors) {
    int length = text.codePointCount(0, text.length());
    if (schema.has("minLength") && length < schema.get("minLength").intValue()) {
      errors.add(path + ": '" + text + "' is shorter than " + schema.get("minLength"));
    }
    if (schema.has("maxLength") && length > schema.get("maxLength").intValue()) {
      errors.add(path + ": '" + text + "' is longer than " + schema.get("maxLength"));
    }
    // JSON Schema patterns are unanchored; the schema anchors its own with ^ and $.
    if (schema.has("pattern")
        && !Pattern.compile(schema.get("pattern").textValue()).matcher(text).find()) {
      errors.add(path + ": '" + text + "' does not match " + schema.get("pattern"));
    }
  }

  private static void checkNumber(JsonNode schema, double number, String path, List<String> e) {
    if (schema.has("minimum") && number < schema.get("minimum").doubleValue()) {
      e.add(path + ": " + number + " is below the minimum " + schema.get("minimum"));
    }
    if (schema.has("maximum") && number > schema.get("maximum").doubleValue()) {
      e.add(path + ": " + number + " is above the maximum " + schema.get("maximum"));
    }
    if (schema.has("exclusiveMinimum") && number <= schema.get("exclusiveMinimum").doubleValue()) {
      e.add(path + ": " + number + " is not above " + schema.get("exclusiveMinimum"));
    }
    if (schema.has("exclusiveMaximum") && number >= schema.get("exclusiveMaximum").doubleValue()) {
      e.add(path + ": " + number + " is not below " + schema.get("exclusiveMaximum"));
    }
  }

  private static void checkArray(JsonNode schema, JsonNode array, String path, List<String> e) {
    if (schema.has("minItems") && array.size() < schema.get("minItems").intValue()) {
      e.add(path + ": has " + array.size() + " items, fewer than " + schema.get("minItems"));
    }
    if (schema.has("maxItems") && array.size() > schema.get("maxItems").intValue()) {
      e.add(path + ": has " + array.size() + " items, more than " + schema.get("maxItems"));
    }
    if (schema.has("items")) {
      for (int i = 0; i < array.size(); i++) {
        check(schema.get("items"), array.get(i), path + "[" + i + "]", e);
      }
    }
    if (schema.path("uniqueItems").asBoolean(false)) {
      Set<JsonNode> seen = new HashSet<>();
      for (JsonNode item : array) {
        if (!seen.add(item)) {
          e.add(path + ": " + item + " appears twice");
        }
      }
    }
  }

  private static void checkObject(JsonNode schema, JsonNode object, String path, List<String> e) {
    for (JsonNode required : schema.path("required")) {
      if (!object.has(required.textValue())) {
        e.add(path + ": missing required property '" + required.textValue() + "'");
      }
    }
    JsonNode properties = schema.path("properties");
    JsonNode additional = schema.get("additionalProperties");
    for (Map.Entry<String, JsonNode> field : object.properties()) {
      String childPath = path + "." + field.getKey();
      if (schema.has("propertyNames")) {
        for (String error :
            validate(schema.get("propertyNames"), TextNode.valueOf(field.getKey()))) {
          e.add(childPath + ": invalid property name: " + error);
        }
      }
      if (properties.has(field.getKey())) {
        check(properties.get(field.getKey()), field.getValue(), childPath, e);
      } else if (additional != null && additional.isBoolean() && !additional.booleanValue()) {
        e.add(childPath + ": property not allowed");
      } else if (additional != null && additional.isObject()) {
        check(additional, field.getValue(), childPath, e);
      }
    }
  }

  private static boolean hasType(JsonNode value, JsonNode type) {
    if (type.isArray()) {
      for (JsonNode option : type) {
        if (hasType(value, option)) {
          return true;
        }
      }
      return false;
    }
    return switch (type.textValue()) {
      case "object" -> value.isObject();
      case "array" -> value.isArray();
      case "string" -> value.isTextual();
      case "integer" -> value.isIntegralNumber();
      case "number" -> value.isNumber();
      case "boolean" -> value.isBoolean();
      case "null" -> value.isNull();
      default -> throw new IllegalArgumentException("unknown type " + type);
    };
  }

  private static boolean contains(JsonNode values, JsonNode value) {
    for (JsonNode candidate : values) {
      if (candidate.equals(value)) {
        return true;
      }
    }
    return false;
  }
}
