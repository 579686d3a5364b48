package dev.evergreen.core.serving.external;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.TensorSpec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads check files: rows a model must score, with the scores expected for them. The format is
 *
 * <pre>{@code
 * {"inputs": {"features": [[273.0, 7, 1, 2], [214.0, 7, 3, 11]]},
 *  "expected": [0.119, 0.120]}
 * }</pre>
 *
 * <p>{@code inputs} maps every declared input to one entry per row: a scalar for an input of shape
 * {@code [-1]}, nested arrays of the declared dimensions otherwise. Numbers, {@code true}/{@code
 * false} (BOOL) and strings (BYTES) are accepted; {@code null} marks a missing value. {@code
 * expected} has one entry per row: a number when the served output has one value per row, else an
 * array of that many numbers, never {@code null}. Other top-level fields are rejected.
 */
public final class CheckFiles {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final Set<String> FIELDS = Set.of("expected", "inputs");

  private CheckFiles() {}

  /**
   * Reads a check file for a model with the given signature.
   *
   * @param origin names the file in error messages
   * @throws EvergreenException of kind INVALID_INPUT naming the file, the field and the value
   */
  public static CheckSet parse(byte[] json, String origin, ExternalSignature signature) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw EvergreenException.invalid(
          "check file "
              + origin
              + " is not valid JSON"
              + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr())
              + ": "
              + e.getOriginalMessage());
    } catch (IOException e) {
      throw EvergreenException.invalid("cannot read check file " + origin + ": " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw invalid(origin, "the top level", "an object with 'inputs' and 'expected'");
    }
    rejectUnknown(root, origin);

    JsonNode inputs = root.get("inputs");
    if (inputs == null || !inputs.isObject()) {
      throw invalid(origin, "inputs", "an object mapping each input name to its rows");
    }
    Iterator<String> names = inputs.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (signature.inputs().stream().noneMatch(spec -> spec.name().equals(name))) {
        throw invalid(origin, "inputs." + name, "an input the signature declares");
      }
    }

    int rows = -1;
    Map<String, double[]> numeric = new HashMap<>();
    Map<String, String[]> text = new HashMap<>();
    for (TensorSpec spec : signature.inputs()) {
      String field = "inputs." + spec.name();
      JsonNode rowsNode = inputs.get(spec.name());
      if (rowsNode == null || !rowsNode.isArray() || rowsNode.isEmpty()) {
        throw invalid(origin, field, "a non-empty array with one entry per row");
      }
      if (rows >= 0 && rowsNode.size() != rows) {
        throw invalid(origin, field, rows + " rows like the inputs before it");
      }
      rows = rowsNode.size();
      List<JsonNode> values = new ArrayList<>();
      for (int row = 0; row < rows; row++) {
        flatten(rowsNode.get(row), spec.shape(), 1, origin, field + "[" + row + "]", values);
      }
      if ("BYTES".equals(spec.datatype())) {
        text.put(spec.name(), texts(values, origin, field));
      } else {
        numeric.put(spec.name(), numbers(values, origin, field));
      }
    }

    JsonNode expectedNode = root.get("expected");
    if (expectedNode == null || !expectedNode.isArray() || expectedNode.size() != rows) {
      throw invalid(
          origin, "expected", "an array with one entry for each of the " + rows + " rows");
    }
    int width = signature.outputWidth();
    List<Long> outputShape = width == 1 ? List.of(-1L) : List.of(-1L, (long) width);
    List<JsonNode> expectedValues = new ArrayList<>();
    for (int row = 0; row < rows; row++) {
      String field = "expected[" + row + "]";
      int first = expectedValues.size();
      flatten(expectedNode.get(row), outputShape, 1, origin, field, expectedValues);
      if (expectedValues.subList(first, expectedValues.size()).stream()
          .anyMatch(JsonNode::isNull)) {
        // A null would become NaN, which no score can match within the tolerance.
        throw invalid(
            origin,
            field,
            "the score expected for row "
                + row
                + ", not "
                + abbreviate(expectedNode.get(row).toString())
                + "; null marks a missing value only in inputs");
      }
    }
    double[] expected = numbers(expectedValues, origin, "expected");
    return new CheckSet(new InputBatch(rows, numeric, text), expected);
  }

  /** Appends the scalars of one row, checking that nested arrays have the declared sizes. */
  private static void flatten(
      JsonNode node,
      List<Long> shape,
      int dimension,
      String origin,
      String field,
      List<JsonNode> out) {
    if (dimension == shape.size()) {
      if (node.isContainerNode()) {
        throw invalid(origin, field, "a single value, not " + abbreviate(node.toString()));
      }
      out.add(node);
      return;
    }
    long size = shape.get(dimension);
    if (!node.isArray() || node.size() != size) {
      throw invalid(
          origin, field, "an array of " + size + " entries, not " + abbreviate(node.toString()));
    }
    for (int i = 0; i < node.size(); i++) {
      flatten(node.get(i), shape, dimension + 1, origin, field + "[" + i + "]", out);
    }
  }

  private static double[] numbers(List<JsonNode> values, String origin, String field) {
    double[] numbers = new double[values.size()];
    for (int i = 0; i < numbers.length; i++) {
      JsonNode value = values.get(i);
      if (value.isNull()) {
        numbers[i] = Double.NaN;
      } else if (value.isBoolean()) {
        numbers[i] = value.booleanValue() ? 1 : 0;
      } else if (value.isNumber()) {
        numbers[i] = value.doubleValue();
      } else {
        throw invalid(
            origin, field, "numbers, true, false or null, not " + abbreviate(value.toString()));
      }
    }
    return numbers;
  }

  private static String[] texts(List<JsonNode> values, String origin, String field) {
    String[] texts = new String[values.size()];
    for (int i = 0; i < texts.length; i++) {
      JsonNode value = values.get(i);
      if (value.isNull()) {
        texts[i] = null;
      } else if (value.isTextual()) {
        texts[i] = value.textValue();
      } else {
        throw invalid(origin, field, "strings or null, not " + abbreviate(value.toString()));
      }
    }
    return texts;
  }

  private static void rejectUnknown(JsonNode root, String origin) {
    Iterator<String> fields = root.fieldNames();
    while (fields.hasNext()) {
      String field = fields.next();
      if (!FIELDS.contains(field)) {
        throw EvergreenException.invalid(
            "check file "
                + origin
                + " has the unknown field '"
                + field
                + "'; the fields are "
                + String.join(", ", FIELDS.stream().sorted().toList()));
      }
    }
  }

  private static EvergreenException invalid(String origin, String field, String expected) {
    return EvergreenException.invalid(
        "check file " + origin + ": field '" + field + "' must be " + expected);
  }

  private static String abbreviate(String text) {
    return text.length() <= 100 ? text : text.substring(0, 100) + "...";
  }
}
