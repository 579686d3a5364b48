package dev.evergreen.server;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.Signature;
import dev.evergreen.core.serving.TensorSpec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads an Open Inference Protocol (KServe V2) inference request, {@code {"id"?, "parameters"?,
 * "inputs": [{"name", "shape", "datatype", "data", "parameters"?}], "outputs"?}}, with Jackson's
 * streaming parser and checks it against a model's signature.
 *
 * <p>A numeric input ({@code FP64} in the signature) accepts any numeric V2 datatype; a {@code
 * BYTES} input accepts strings. {@code data} may be flat or nested; its element count must equal
 * the product of {@code shape}, whose first dimension is the row count. JSON {@code null} is a
 * missing value. Every input of the signature is required, and unknown fields are ignored.
 */
final class InferenceRequestDecoder {
  private static final Set<String> NUMERIC_DATATYPES =
      Set.of(
          "FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16",
          "UINT8");

  private InferenceRequestDecoder() {}

  /**
   * A decoded request.
   *
   * @param id request id to echo, null when the request has none
   * @param outputs names of the requested outputs, null when the request names none
   */
  record Decoded(String id, InputBatch batch, List<String> outputs) {}

  /**
   * Decodes and checks a request body.
   *
   * @throws EvergreenException INVALID_INPUT naming the position of a JSON syntax error, or the
   *     input and value that does not fit the signature
   */
  static Decoded decode(byte[] body, ServableModel model) {
    if (body.length == 0) {
      throw EvergreenException.invalid(
          "request body is empty; send a JSON object with 'inputs', as the Open Inference"
              + " Protocol defines");
    }
    try (JsonParser parser = Json.FACTORY.createParser(body)) {
      return read(parser, model);
    } catch (JsonParseException e) {
      throw Json.syntaxError(e);
    } catch (IOException e) {
      throw EvergreenException.invalid("cannot read the request body: " + e.getMessage());
    }
  }

  private static Decoded read(JsonParser parser, ServableModel model) throws IOException {
    if (parser.nextToken() != JsonToken.START_OBJECT) {
      throw EvergreenException.invalid(
          "request body must be a JSON object with 'inputs', got " + describe(parser));
    }
    String id = null;
    List<RawInput> inputs = null;
    List<String> outputs = null;
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String field = parser.currentName();
      JsonToken value = parser.nextToken();
      switch (field) {
        case "id" -> id = readId(parser, value);
        case "inputs" -> inputs = readInputs(parser, value);
        case "outputs" -> outputs = readOutputs(parser, value);
        default -> parser.skipChildren();
      }
    }
    if (parser.nextToken() != null) {
      throw EvergreenException.invalid(
          "request body has content after its JSON object, at line "
              + parser.currentLocation().getLineNr()
              + ", column "
              + parser.currentLocation().getColumnNr());
    }
    if (inputs == null) {
      throw EvergreenException.invalid(
          "request has no 'inputs'; send {\"inputs\": [{\"name\", \"shape\", \"datatype\","
              + " \"data\"}]}");
    }
    InputBatch batch = toBatch(inputs, model);
    if (outputs != null) {
      checkOutputs(outputs, model.signature());
    }
    return new Decoded(id, batch, outputs);
  }

  private static String readId(JsonParser parser, JsonToken value) throws IOException {
    if (value == JsonToken.VALUE_NULL) {
      return null;
    }
    if (value != JsonToken.VALUE_STRING) {
      throw EvergreenException.invalid("'id' must be a string, got " + describe(parser));
    }
    return parser.getText();
  }

  private static List<RawInput> readInputs(JsonParser parser, JsonToken value) throws IOException {
    if (value != JsonToken.START_ARRAY) {
      throw EvergreenException.invalid("'inputs' must be an array, got " + describe(parser));
    }
    List<RawInput> inputs = new ArrayList<>(8);
    JsonToken token;
    while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
      if (token != JsonToken.START_OBJECT) {
        throw EvergreenException.invalid(
            "inputs[" + inputs.size() + "] must be an object, got " + describe(parser));
      }
      inputs.add(readInput(parser, inputs.size()));
    }
    return inputs;
  }

  private static RawInput readInput(JsonParser parser, int index) throws IOException {
    RawInput input = new RawInput(index);
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String field = parser.currentName();
      JsonToken value = parser.nextToken();
      switch (field) {
        case "name" -> {
          if (value != JsonToken.VALUE_STRING) {
            throw EvergreenException.invalid(
                "inputs[" + index + "].name must be a string, got " + describe(parser));
          }
          input.name = parser.getText();
        }
        case "datatype" -> {
          if (value != JsonToken.VALUE_STRING) {
            throw EvergreenException.invalid(
                input.label() + " has a datatype that is not a string: " + describe(parser));
          }
          input.datatype = parser.getText();
        }
        case "shape" -> input.shape = readShape(parser, value, input);
        case "data" -> readData(parser, value, input);
        default -> parser.skipChildren();
      }
    }
    return input;
  }

  private static long[] readShape(JsonParser parser, JsonToken value, RawInput input)
      throws IOException {
    if (value != JsonToken.START_ARRAY) {
      throw EvergreenException.invalid(
          input.label() + " has a shape that is not an array: " + describe(parser));
    }
    long[] shape = new long[2];
    int length = 0;
    JsonToken token;
    while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
      if (token != JsonToken.VALUE_NUMBER_INT || parser.getLongValue() < 0) {
        throw EvergreenException.invalid(
            input.label()
                + " has a shape with "
                + describe(parser)
                + "; each dimension must be an integer of at least 0");
      }
      if (length == shape.length) {
        shape = Arrays.copyOf(shape, length * 2);
      }
      shape[length++] = parser.getLongValue();
    }
    return Arrays.copyOf(shape, length);
  }

  private static void readData(JsonParser parser, JsonToken value, RawInput input)
      throws IOException {
    if (value != JsonToken.START_ARRAY) {
      throw EvergreenException.invalid(
          input.label() + " has data that is not an array: " + describe(parser));
    }
    input.hasData = true;
    int depth = 1;
    while (depth > 0) {
      JsonToken token = parser.nextToken();
      switch (token) {
        case START_ARRAY -> depth++;
        case END_ARRAY -> depth--;
        case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> input.addNumber(parser);
        case VALUE_STRING -> input.addText(parser.getText());
        case VALUE_NULL -> input.addMissing();
        default ->
            throw EvergreenException.invalid(
                input.label()
                    + " has "
                    + describe(parser)
                    + " at data index "
                    + input.count
                    + "; data must contain numbers, strings or null");
      }
    }
  }

  private static List<String> readOutputs(JsonParser parser, JsonToken value) throws IOException {
    if (value == JsonToken.VALUE_NULL) {
      return null;
    }
    if (value != JsonToken.START_ARRAY) {
      throw EvergreenException.invalid("'outputs' must be an array, got " + describe(parser));
    }
    List<String> names = new ArrayList<>(2);
    JsonToken token;
    while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
      if (token != JsonToken.START_OBJECT) {
        throw EvergreenException.invalid(
            "outputs[" + names.size() + "] must be an object with a 'name'");
      }
      String name = null;
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken fieldValue = parser.nextToken();
        if (field.equals("name") && fieldValue == JsonToken.VALUE_STRING) {
          name = parser.getText();
        } else {
          parser.skipChildren();
        }
      }
      if (name == null) {
        throw EvergreenException.invalid(
            "outputs[" + names.size() + "] has no 'name' string; name one of the model's outputs");
      }
      names.add(name);
    }
    return names;
  }

  private static InputBatch toBatch(List<RawInput> inputs, ServableModel model) {
    Signature signature = model.signature();
    Map<String, double[]> numeric = new HashMap<>();
    Map<String, String[]> text = new HashMap<>();
    int rows = -1;
    String rowsInput = null;
    for (RawInput input : inputs) {
      TensorSpec spec = specOf(signature, input, model);
      if (numeric.containsKey(input.name) || text.containsKey(input.name)) {
        throw EvergreenException.invalid(
            "input '" + input.name + "' appears more than once; send each input once");
      }
      int inputRows = input.checkShape();
      if (rows < 0) {
        rows = inputRows;
        rowsInput = input.name;
      } else if (inputRows != rows) {
        throw EvergreenException.invalid(
            "input '"
                + input.name
                + "' has "
                + inputRows
                + " rows but input '"
                + rowsInput
                + "' has "
                + rows
                + "; every input needs the same number of rows");
      }
      if ("BYTES".equals(spec.datatype())) {
        text.put(input.name, input.texts(spec));
      } else {
        numeric.put(input.name, input.numbers(spec));
      }
    }
    for (TensorSpec spec : signature.inputs()) {
      if (!numeric.containsKey(spec.name()) && !text.containsKey(spec.name())) {
        throw EvergreenException.invalid(
            "missing input '"
                + spec.name()
                + "' ("
                + spec.datatype()
                + "); model '"
                + model.model()
                + "' version "
                + model.version()
                + " expects inputs "
                + inputNames(signature)
                + ", and null data values mark missing values");
      }
    }
    return new InputBatch(Math.max(rows, 0), numeric, text);
  }

  private static TensorSpec specOf(Signature signature, RawInput input, ServableModel model) {
    if (input.name == null) {
      throw EvergreenException.invalid(
          "inputs[" + input.index + "] has no 'name'; name one of " + inputNames(signature));
    }
    for (TensorSpec spec : signature.inputs()) {
      if (spec.name().equals(input.name)) {
        return spec;
      }
    }
    throw EvergreenException.invalid(
        "unknown input '"
            + input.name
            + "'; model '"
            + model.model()
            + "' version "
            + model.version()
            + " expects inputs "
            + inputNames(signature));
  }

  private static void checkOutputs(List<String> requested, Signature signature) {
    for (String name : requested) {
      boolean known = signature.outputs().stream().anyMatch(spec -> spec.name().equals(name));
      if (!known) {
        List<String> names = signature.outputs().stream().map(TensorSpec::name).toList();
        throw EvergreenException.invalid(
            "unknown output '" + name + "'; the model returns " + String.join(", ", names));
      }
    }
  }

  static String inputNames(Signature signature) {
    return String.join(", ", signature.inputs().stream().map(TensorSpec::name).toList());
  }

  private static String describe(JsonParser parser) {
    JsonToken token = parser.currentToken();
    if (token == null) {
      return "the end of the body";
    }
    return switch (token) {
      case START_OBJECT -> "an object";
      case START_ARRAY -> "an array";
      case VALUE_STRING -> "the string \"" + abbreviate(textOf(parser)) + "\"";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "the number " + textOf(parser);
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      case VALUE_NULL -> "null";
      default -> token.asString() == null ? token.name() : token.asString();
    };
  }

  private static String textOf(JsonParser parser) {
    try {
      return parser.getText();
    } catch (IOException e) {
      return "?";
    }
  }

  static String abbreviate(String text) {
    return text.length() <= 40 ? text : text.substring(0, 40) + "...";
  }

  /** One input as read, before it is checked against the signature. */
  private static final class RawInput {
    final int index;
    String name;
    String datatype;
    long[] shape;
    boolean hasData;

    /** Numeric values, NaN for null and for strings. */
    double[] values = new double[8];

    /** String values, allocated at the first string. */
    String[] texts;

    int count;
    int firstNumber = -1;
    int firstText = -1;
    int firstFraction = -1;

    RawInput(int index) {
      this.index = index;
    }

    String label() {
      return name == null ? "inputs[" + index + "]" : "input '" + name + "'";
    }

    void addNumber(JsonParser parser) throws IOException {
      grow();
      double value = parser.getDoubleValue();
      if (firstNumber < 0) {
        firstNumber = count;
      }
      if (firstFraction < 0 && value != Math.rint(value)) {
        firstFraction = count;
      }
      values[count++] = value;
    }

    void addText(String text) {
      grow();
      if (texts == null) {
        texts = new String[values.length];
      }
      if (firstText < 0) {
        firstText = count;
      }
      texts[count] = text;
      values[count++] = Double.NaN;
    }

    void addMissing() {
      grow();
      values[count++] = Double.NaN;
    }

    private void grow() {
      if (count == values.length) {
        values = Arrays.copyOf(values, count * 2);
        if (texts != null) {
          texts = Arrays.copyOf(texts, count * 2);
        }
      }
    }

    /** Checks name, datatype, shape and data length, and returns the row count. */
    int checkShape() {
      if (datatype == null) {
        throw EvergreenException.invalid(label() + " has no 'datatype'; use FP64 or BYTES");
      }
      if (shape == null) {
        throw EvergreenException.invalid(
            label() + " has no 'shape'; send [rows] or [rows, 1] for one value per row");
      }
      if (!hasData) {
        throw EvergreenException.invalid(label() + " has no 'data' array");
      }
      long elements = elementCount(shape);
      if (elements != count) {
        throw EvergreenException.invalid(
            label()
                + " has shape "
                + Arrays.toString(shape)
                + ", which is "
                + (elements < 0 ? "more than " + Integer.MAX_VALUE : elements)
                + " elements, but its data has "
                + count
                + " values");
      }
      long rows = shape.length == 0 ? 1 : shape[0];
      if (rows > 0 && elements / rows != 1) {
        throw EvergreenException.invalid(
            label()
                + " has shape "
                + Arrays.toString(shape)
                + ", but the model takes one value per row; send shape [rows] or [rows, 1]");
      }
      return (int) rows;
    }

    /** Returns the product of the dimensions, or -1 when it exceeds {@code Integer.MAX_VALUE}. */
    private static long elementCount(long[] shape) {
      long elements = 1;
      for (long dimension : shape) {
        if (dimension != 0 && elements > Integer.MAX_VALUE / dimension) {
          return -1;
        }
        elements *= dimension;
      }
      return elements;
    }

    double[] numbers(TensorSpec spec) {
      if (!NUMERIC_DATATYPES.contains(datatype)) {
        throw EvergreenException.invalid(
            label()
                + " has datatype "
                + datatype
                + " but the model expects numbers: send FP64, FP32, INT64 or INT32");
      }
      if (firstText >= 0) {
        throw EvergreenException.invalid(
            label()
                + " ("
                + datatype
                + ") contains the string \""
                + abbreviate(texts[firstText])
                + "\" at data index "
                + firstText
                + "; send numbers, or null for a missing value");
      }
      if (firstFraction >= 0 && (datatype.startsWith("INT") || datatype.startsWith("UINT"))) {
        throw EvergreenException.invalid(
            label()
                + " has datatype "
                + datatype
                + " but the value "
                + values[firstFraction]
                + " at data index "
                + firstFraction
                + " is not an integer; send FP64 for fractional values");
      }
      return count == values.length ? values : Arrays.copyOf(values, count);
    }

    String[] texts(TensorSpec spec) {
      if (!"BYTES".equals(datatype)) {
        throw EvergreenException.invalid(
            label() + " has datatype " + datatype + " but the model expects strings: send BYTES");
      }
      if (firstNumber >= 0) {
        throw EvergreenException.invalid(
            label()
                + " (BYTES) contains the number "
                + values[firstNumber]
                + " at data index "
                + firstNumber
                + "; send strings, or null for a missing value");
      }
      if (texts == null) {
        return new String[count];
      }
      return count == texts.length ? texts : Arrays.copyOf(texts, count);
    }
  }
}
