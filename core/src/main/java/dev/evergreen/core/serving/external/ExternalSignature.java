package dev.evergreen.core.serving.external;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.Signature;
import dev.evergreen.core.serving.TensorSpec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Declared inputs and served output of a model trained outside Evergreen, read from a signature
 * file such as:
 *
 * <pre>{@code
 * {"inputs": [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}],
 *  "output": {"name": "probabilities", "datatype": "FP32", "shape": [-1, 2], "column": 1}}
 * }</pre>
 *
 * <p>Every shape starts with -1, the batch dimension; the other dimensions are fixed sizes of at
 * least 1. The output is one tensor of shape {@code [-1]} or {@code [-1, k]} that the model
 * computes; {@code column}, when present, serves only that column of a {@code [-1, k]} output, for
 * example the positive-class probability of a binary classifier.
 *
 * @param outputColumn column of the output to serve, or null to serve every column
 */
public record ExternalSignature(List<TensorSpec> inputs, TensorSpec output, Integer outputColumn) {
  /** Input datatypes, as the Open Inference Protocol names them. */
  public static final List<String> INPUT_DATATYPES =
      List.of("FP32", "FP64", "INT64", "INT32", "BOOL", "BYTES");

  /** Output datatypes; outputs are served as FP64 whatever the model computes. */
  public static final List<String> OUTPUT_DATATYPES = List.of("FP32", "FP64", "INT64", "INT32");

  private static final ObjectMapper JSON = new ObjectMapper();

  public ExternalSignature {
    inputs = List.copyOf(inputs);
  }

  /** Returns the values each row of the served output has: 1 with a column, else k or 1. */
  public int outputWidth() {
    if (outputColumn != null) {
      return 1;
    }
    return (int) valuesPerRow(output);
  }

  /** Returns the signature the server reports: the declared inputs and the served FP64 output. */
  public Signature served() {
    int width = outputWidth();
    List<Long> shape = width == 1 ? List.of(-1L) : List.of(-1L, (long) width);
    return new Signature(inputs, List.of(new TensorSpec(output.name(), "FP64", shape)));
  }

  /** Returns the product of the non-batch dimensions of a tensor: the values per row. */
  public static long valuesPerRow(TensorSpec spec) {
    long count = 1;
    for (int i = 1; i < spec.shape().size(); i++) {
      count *= spec.shape().get(i);
    }
    return count;
  }

  /**
   * Reads a signature file.
   *
   * @param origin names the file in error messages
   * @throws EvergreenException of kind INVALID_INPUT naming the file, the field and the value
   */
  public static ExternalSignature parse(byte[] json, String origin) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw EvergreenException.invalid(
          "signature file "
              + origin
              + " is not valid JSON"
              + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr())
              + ": "
              + e.getOriginalMessage());
    } catch (IOException e) {
      throw EvergreenException.invalid(
          "cannot read signature file " + origin + ": " + e.getMessage());
    }
    return fromTree(root, origin);
  }

  /** Reads a signature from a parsed JSON tree, as {@link #parse}. */
  public static ExternalSignature fromTree(JsonNode root, String origin) {
    if (root == null || !root.isObject()) {
      throw invalid(origin, "the top level", root, "an object with 'inputs' and 'output'");
    }

    JsonNode inputsNode = root.get("inputs");
    if (inputsNode == null || !inputsNode.isArray() || inputsNode.isEmpty()) {
      throw invalid(origin, "inputs", inputsNode, "a non-empty array of tensors");
    }
    List<TensorSpec> inputs = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < inputsNode.size(); i++) {
      String field = "inputs[" + i + "]";
      TensorSpec spec = tensor(inputsNode.get(i), origin, field, INPUT_DATATYPES);
      if (!names.add(spec.name())) {
        throw invalid(origin, field + ".name", inputsNode.get(i).get("name"), "a unique name");
      }
      inputs.add(spec);
    }

    JsonNode outputNode = root.get("output");
    TensorSpec output = tensor(outputNode, origin, "output", OUTPUT_DATATYPES);
    if (output.shape().size() > 2) {
      throw invalid(origin, "output.shape", outputNode.get("shape"), "[-1] or [-1, k]");
    }

    Integer column = null;
    JsonNode columnNode = outputNode.get("column");
    if (columnNode != null && !columnNode.isNull()) {
      long width = valuesPerRow(output);
      if (!columnNode.canConvertToExactIntegral()
          || output.shape().size() != 2
          || columnNode.asLong() < 0
          || columnNode.asLong() >= width) {
        throw invalid(
            origin,
            "output.column",
            columnNode,
            "a column index from 0 to k - 1 of an output of shape [-1, k]");
      }
      column = columnNode.asInt();
    }

    rejectUnknown(root, origin, "", Set.of("inputs", "output"));
    rejectUnknown(outputNode, origin, "output.", Set.of("name", "datatype", "shape", "column"));
    return new ExternalSignature(inputs, output, column);
  }

  /** Returns the signature as the JSON tree {@link #fromTree} reads. */
  public ObjectNode toTree() {
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    ArrayNode inputsNode = root.putArray("inputs");
    for (TensorSpec input : inputs) {
      inputsNode.add(tensorTree(input));
    }
    ObjectNode outputNode = tensorTree(output);
    if (outputColumn != null) {
      outputNode.put("column", outputColumn);
    }
    root.set("output", outputNode);
    return root;
  }

  private static ObjectNode tensorTree(TensorSpec spec) {
    ObjectNode node = JsonNodeFactory.instance.objectNode();
    node.put("name", spec.name());
    node.put("datatype", spec.datatype());
    ArrayNode shape = node.putArray("shape");
    spec.shape().forEach(shape::add);
    return node;
  }

  private static TensorSpec tensor(
      JsonNode node, String origin, String field, List<String> datatypes) {
    if (node == null || !node.isObject()) {
      throw invalid(origin, field, node, "an object with 'name', 'datatype' and 'shape'");
    }
    JsonNode name = node.get("name");
    if (name == null || !name.isTextual() || name.asText().isBlank()) {
      throw invalid(origin, field + ".name", name, "a non-empty string");
    }
    JsonNode datatype = node.get("datatype");
    if (datatype == null || !datatype.isTextual() || !datatypes.contains(datatype.asText())) {
      throw invalid(
          origin, field + ".datatype", datatype, "one of " + String.join(", ", datatypes));
    }
    JsonNode shapeNode = node.get("shape");
    String shapeRule = "an array starting with -1 (the batch dimension) followed by sizes >= 1";
    if (shapeNode == null || !shapeNode.isArray() || shapeNode.isEmpty()) {
      throw invalid(origin, field + ".shape", shapeNode, shapeRule);
    }
    List<Long> shape = new ArrayList<>();
    long values = 1;
    for (int i = 0; i < shapeNode.size(); i++) {
      JsonNode dimension = shapeNode.get(i);
      boolean integral = dimension.canConvertToExactIntegral() && dimension.canConvertToLong();
      long size = integral ? dimension.asLong() : 0;
      boolean valid = i == 0 ? size == -1 : size >= 1;
      if (!integral || !valid) {
        throw invalid(origin, field + ".shape", shapeNode, shapeRule);
      }
      if (i > 0) {
        values = Math.multiplyExact(values, size);
      }
      shape.add(size);
    }
    if (values > Integer.MAX_VALUE) {
      throw invalid(origin, field + ".shape", shapeNode, "fewer than 2^31 values per row");
    }
    if (field.startsWith("inputs")) {
      rejectUnknown(node, origin, field + ".", Set.of("name", "datatype", "shape"));
    }
    return new TensorSpec(name.asText(), datatype.asText(), shape);
  }

  private static void rejectUnknown(
      JsonNode node, String origin, String prefix, Set<String> known) {
    Iterator<String> fields = node.fieldNames();
    while (fields.hasNext()) {
      String field = fields.next();
      if (!known.contains(field)) {
        throw EvergreenException.invalid(
            "signature file "
                + origin
                + " has the unknown field '"
                + prefix
                + field
                + "'; the fields are "
                + String.join(", ", known.stream().sorted().toList()));
      }
    }
  }

  private static EvergreenException invalid(
      String origin, String field, JsonNode value, String expected) {
    String valueText = value == null ? "missing" : abbreviate(value.toString());
    return EvergreenException.invalid(
        "signature file "
            + origin
            + ": field '"
            + field
            + "' is "
            + valueText
            + " but must be "
            + expected);
  }

  private static String abbreviate(String text) {
    return text.length() <= 100 ? text : text.substring(0, 100) + "...";
  }
}
