package dev.evergreen.server;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.Signature;
import dev.evergreen.core.serving.TensorSpec;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Reads an Open Inference Protocol (KServe V2) inference request, {@code {"id"?, "parameters"?,
 * "inputs": [{"name", "shape", "datatype", "data", "parameters"?}], "outputs"?}}, with Jackson's
 * streaming parser, and binds its inputs to a model's signature with {@link TensorBinding}, which
 * the gRPC decoder shares.
 *
 * <p>A numeric input ({@code FP64} in the signature) accepts {@code BOOL} data as {@code true} and
 * {@code false} (scored as 1 and 0), the integer datatypes {@code INT8} to {@code UINT64} with
 * values in the datatype's range, {@code FP32} and {@code FP64}. A {@code BYTES} input accepts
 * strings. {@code FP16} is rejected because JSON has no half-precision encoding, and so are the
 * parameters of the binary tensor data extension, which this server does not implement. {@code
 * data} may be flat or nested, and its element count must equal the product of {@code shape}, whose
 * first dimension is the row count. JSON {@code null} is a missing value. Every input of the
 * signature is required. Other {@code parameters} and unknown fields are accepted and ignored.
 */
final class InferenceRequestDecoder {
  /** Parameters that request an Open Inference Protocol extension, with the extension's name. */
  private static final Map<String, String> UNSUPPORTED_PARAMETERS =
      Map.of(
          "binary_data_output", "binary tensor data extension",
          "binary_data_size", "binary tensor data extension",
          "binary_data", "binary tensor data extension",
          "classification", "classification extension");

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
      try {
        return read(parser, model);
      } catch (JsonProcessingException e) {
        throw Json.invalidJson(e, parser);
      }
    } catch (IOException e) {
      throw Json.undecodable(e);
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
        case "parameters" -> readParameters(parser, value, "request");
        default -> parser.skipChildren();
      }
    }
    Json.requireEnd(parser, "object");
    if (inputs == null) {
      throw EvergreenException.invalid(
          "request has no 'inputs'; send {\"inputs\": [{\"name\", \"shape\", \"datatype\","
              + " \"data\"}]}");
    }
    InputBatch batch = TensorBinding.bind(inputs, model);
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
        case "parameters" -> readParameters(parser, value, input.label());
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
      // A dimension beyond the long range is checked before getLongValue, which would throw.
      if (token != JsonToken.VALUE_NUMBER_INT
          || parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER
          || parser.getLongValue() < 0) {
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
        case VALUE_TRUE -> input.addBoolean(1);
        case VALUE_FALSE -> input.addBoolean(0);
        case START_OBJECT -> {
          // Reported once the whole input is read, so that the message can use its name.
          input.addObject();
          parser.skipChildren();
        }
        default ->
            throw EvergreenException.invalid(
                input.label()
                    + " has "
                    + describe(parser)
                    + " at data index "
                    + input.count
                    + "; data must contain numbers, booleans, strings or null");
      }
    }
  }

  /**
   * Reads a {@code parameters} object and skips its values. A parameter of {@link
   * #UNSUPPORTED_PARAMETERS} set to true or to a number is rejected, because it requests an
   * extension that this server does not implement.
   */
  private static void readParameters(JsonParser parser, JsonToken value, String owner)
      throws IOException {
    if (value == JsonToken.VALUE_NULL) {
      return;
    }
    if (value != JsonToken.START_OBJECT) {
      throw EvergreenException.invalid(
          owner + " has 'parameters' that are not an object: " + describe(parser));
    }
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      JsonToken parameter = parser.nextToken();
      boolean enabled =
          parameter == JsonToken.VALUE_TRUE
              || parameter == JsonToken.VALUE_NUMBER_INT
              || parameter == JsonToken.VALUE_NUMBER_FLOAT;
      String extension = UNSUPPORTED_PARAMETERS.get(name);
      if (extension != null && enabled) {
        throw EvergreenException.invalid(
            owner
                + " sets parameter '"
                + name
                + "', but this server does not implement the "
                + extension
                + "; send tensors as JSON and leave '"
                + name
                + "' out");
      }
      parser.skipChildren();
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
      String owner = "outputs[" + names.size() + "]";
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken fieldValue = parser.nextToken();
        if (field.equals("name") && fieldValue == JsonToken.VALUE_STRING) {
          name = parser.getText();
        } else if (field.equals("parameters")) {
          readParameters(parser, fieldValue, owner);
        } else {
          parser.skipChildren();
        }
      }
      if (name == null) {
        throw EvergreenException.invalid(
            owner + " has no 'name' string; name one of the model's outputs");
      }
      if (names.contains(name)) {
        throw EvergreenException.invalid(
            "output '" + name + "' is requested more than once; request each output once");
      }
      names.add(name);
    }
    return names;
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

  /**
   * Returns a number as a message shows it: an integral value without a fraction, as a request
   * usually writes it, and any other value as {@link Double#toString}.
   */
  static String formatNumber(double value) {
    if (value == Math.rint(value) && Math.abs(value) < 1e15) {
      return Long.toString((long) value);
    }
    return Double.toString(value);
  }

  /** One input as read, before it is checked against the signature. */
  private static final class RawInput implements TensorBinding.Tensor {

    final int index;
    String name;
    String datatype;
    long[] shape;
    boolean hasData;

    /** Numeric values, NaN for null and for strings. */
    double[] values = new double[8];

    /**
     * String values, allocated at the first string. A number beyond the double range also keeps its
     * text here, as sent, for the error message.
     */
    String[] texts;

    /**
     * Integers beyond ±2^53 exactly as sent, which {@code values} contains rounded. Allocated at
     * the first such integer, so typical data allocates nothing.
     */
    long[] exact;

    int count;
    int firstNumber = -1;
    int firstText = -1;
    int firstBoolean = -1;
    int firstFraction = -1;
    int firstObject = -1;

    // Extremes of the numbers, for the range checks of integer datatypes and FP32. JSON integers
    // are tracked exactly, as long or as BigInteger beyond the long range, because a double cannot
    // tell 2^63 - 1 from 2^63.
    long longMin = Long.MAX_VALUE;
    long longMax = Long.MIN_VALUE;
    int longMinIndex = -1;
    int longMaxIndex = -1;
    BigInteger bigMin;
    BigInteger bigMax;
    int bigMinIndex = -1;
    int bigMaxIndex = -1;
    double floatMin = Double.POSITIVE_INFINITY;
    double floatMax = Double.NEGATIVE_INFINITY;
    int floatMinIndex = -1;
    int floatMaxIndex = -1;

    RawInput(int index) {
      this.index = index;
    }

    @Override
    public int index() {
      return index;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public String datatype() {
      return datatype;
    }

    @Override
    public long[] shape() {
      return shape;
    }

    @Override
    public int count() {
      return count;
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
      if (Math.abs(value) > Float.MAX_VALUE) {
        // Jackson reads a number beyond the double range as an infinity. So the text of a number
        // beyond FP32's range is kept, and a range error shows it as the request wrote it.
        // Typical data has no such number and allocates nothing more.
        if (texts == null) {
          texts = new String[values.length];
        }
        texts[count] = parser.getText();
      }
      trackExtremes(parser, value);
      values[count++] = value;
    }

    private void trackExtremes(JsonParser parser, double value) throws IOException {
      if (parser.currentToken() == JsonToken.VALUE_NUMBER_FLOAT) {
        if (value < floatMin) {
          floatMin = value;
          floatMinIndex = count;
        }
        if (value > floatMax) {
          floatMax = value;
          floatMaxIndex = count;
        }
      } else if (parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
        BigInteger big = parser.getBigIntegerValue();
        if (bigMin == null || big.compareTo(bigMin) < 0) {
          bigMin = big;
          bigMinIndex = count;
        }
        if (bigMax == null || big.compareTo(bigMax) > 0) {
          bigMax = big;
          bigMaxIndex = count;
        }
      } else {
        long integer = parser.getLongValue();
        if (integer < longMin) {
          longMin = integer;
          longMinIndex = count;
        }
        if (integer > longMax) {
          longMax = integer;
          longMaxIndex = count;
        }
        if (Math.abs(integer) > TensorBinding.LARGEST_EXACT_DOUBLE) {
          if (exact == null) {
            exact = new long[values.length];
          }
          exact[count] = integer;
        }
      }
    }

    void addBoolean(double value) {
      grow();
      if (firstBoolean < 0) {
        firstBoolean = count;
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

    void addObject() {
      if (firstObject < 0) {
        firstObject = count;
      }
      addMissing();
    }

    private void grow() {
      if (count == values.length) {
        values = Arrays.copyOf(values, count * 2);
        if (texts != null) {
          texts = Arrays.copyOf(texts, count * 2);
        }
        if (exact != null) {
          exact = Arrays.copyOf(exact, count * 2);
        }
      }
    }

    @Override
    public void checkEncoding() {
      if (datatype.equals("FP16")) {
        throw EvergreenException.invalid(
            label()
                + " has datatype FP16, which the JSON tensor encoding cannot carry and this server"
                + " does not accept as binary tensor data; send the values as FP32 or FP64, or"
                + " FP16 as raw_input_contents over gRPC");
      }
      if (!hasData) {
        throw EvergreenException.invalid(label() + " has no 'data' array");
      }
      if (firstObject >= 0) {
        throw EvergreenException.invalid(
            label()
                + " has an object at "
                + TensorBinding.position(this, firstObject)
                + "; data must contain numbers, booleans, strings or null");
      }
    }

    @Override
    public double[] numbers() {
      if (datatype.equals("BOOL")) {
        return booleans();
      }
      if (firstBoolean >= 0) {
        throw EvergreenException.invalid(
            label()
                + " ("
                + datatype
                + ") contains a boolean at "
                + TensorBinding.position(this, firstBoolean)
                + ", the value "
                + booleanAt(firstBoolean)
                + "; send numbers, or datatype BOOL for true and false");
      }
      if (firstText >= 0) {
        throw EvergreenException.invalid(
            label()
                + " ("
                + datatype
                + ") contains the string \""
                + abbreviate(texts[firstText])
                + "\" at "
                + TensorBinding.position(this, firstText)
                + "; send numbers, or null for a missing value");
      }
      if (firstFraction >= 0 && (datatype.startsWith("INT") || datatype.startsWith("UINT"))) {
        throw EvergreenException.invalid(
            label()
                + " has datatype "
                + datatype
                + " but the value "
                + values[firstFraction]
                + " at "
                + TensorBinding.position(this, firstFraction)
                + " is not an integer; send FP64 for fractional values");
      }
      checkRange();
      return count == values.length ? values : Arrays.copyOf(values, count);
    }

    private double[] booleans() {
      int firstOther = firstNumber >= 0 ? firstNumber : firstText;
      if (firstText >= 0 && firstNumber >= 0) {
        firstOther = Math.min(firstNumber, firstText);
      }
      if (firstOther >= 0) {
        throw EvergreenException.invalid(
            label()
                + " (BOOL) contains a "
                + (firstOther == firstText ? "string" : "number")
                + " at "
                + TensorBinding.position(this, firstOther)
                + ", the value "
                + (firstOther == firstText
                    ? "\"" + abbreviate(texts[firstText]) + "\""
                    : numberAt(firstOther))
                + "; send true, false, or null for a missing value");
      }
      return count == values.length ? values : Arrays.copyOf(values, count);
    }

    /**
     * Rejects numbers beyond the double range, and values outside the range of an integer datatype
     * or of FP32.
     */
    private void checkRange() {
      int overflow = overflowIndex();
      if (overflow >= 0) {
        throw TensorBinding.outOfRange(
            this,
            numberAt(overflow),
            overflow,
            TensorBinding.rangeText(datatype),
            "send a number within that range");
      }
      if (datatype.equals("FP32")) {
        checkFloat32(floatMinIndex, floatMin);
        checkFloat32(floatMaxIndex, floatMax);
        if (bigMinIndex >= 0) {
          checkFloat32(bigMinIndex, bigMin.doubleValue());
          checkFloat32(bigMaxIndex, bigMax.doubleValue());
        }
        return;
      }
      BigInteger[] bounds = TensorBinding.INTEGER_RANGES.get(datatype);
      if (bounds != null) {
        checkBounds(
            new BigDecimal(bounds[0]),
            new BigDecimal(bounds[1]),
            TensorBinding.rangeText(datatype));
      }
    }

    /**
     * Rejects a value that does not round to a finite FP32, as a cast to float decides. A value up
     * to half a unit above 3.4028235E38 rounds to the largest float and is accepted, as over KServe
     * V1 and MLflow. 64-bit integers are always within the range.
     */
    private void checkFloat32(int index, double value) {
      if (index >= 0 && Float.isInfinite((float) value)) {
        // The model's input type is not known yet: an FP32 ONNX input refuses such a value in
        // any datatype, so FP64 is advised only for the inputs that take it.
        throw TensorBinding.outOfRange(
            this,
            numberAt(index),
            index,
            TensorBinding.rangeText(datatype),
            "send it as FP64 if the model's input is FP64, or a value within that range if it is"
                + " FP32");
      }
    }

    private void checkBounds(BigDecimal low, BigDecimal high, String rangeText) {
      List<BigDecimal> candidates = new ArrayList<>(6);
      List<Integer> indexes = new ArrayList<>(6);
      if (longMinIndex >= 0) {
        candidates.add(BigDecimal.valueOf(longMin));
        indexes.add(longMinIndex);
        candidates.add(BigDecimal.valueOf(longMax));
        indexes.add(longMaxIndex);
      }
      if (bigMinIndex >= 0) {
        candidates.add(new BigDecimal(bigMin));
        indexes.add(bigMinIndex);
        candidates.add(new BigDecimal(bigMax));
        indexes.add(bigMaxIndex);
      }
      if (floatMinIndex >= 0) {
        candidates.add(BigDecimal.valueOf(floatMin));
        indexes.add(floatMinIndex);
        candidates.add(BigDecimal.valueOf(floatMax));
        indexes.add(floatMaxIndex);
      }
      for (int i = 0; i < candidates.size(); i++) {
        BigDecimal value = candidates.get(i);
        if (value.compareTo(low) < 0 || value.compareTo(high) > 0) {
          throw outOfRange(value.stripTrailingZeros().toPlainString(), indexes.get(i), rangeText);
        }
      }
    }

    private EvergreenException outOfRange(String value, int index, String rangeText) {
      return TensorBinding.outOfRange(
          this, value, index, rangeText, "send a wider datatype such as FP64");
    }

    /**
     * Returns the index of a number beyond the double range, found from the extremes: the first
     * infinity among the numbers written with a fraction or an exponent, or the integer of the
     * largest magnitude. Returns -1 when every number is within the range.
     */
    private int overflowIndex() {
      int index = -1;
      if (floatMinIndex >= 0 && floatMin == Double.NEGATIVE_INFINITY) {
        index = floatMinIndex;
      }
      if (floatMaxIndex >= 0 && floatMax == Double.POSITIVE_INFINITY) {
        index = index < 0 ? floatMaxIndex : Math.min(index, floatMaxIndex);
      }
      if (bigMin != null && Double.isInfinite(bigMin.doubleValue())) {
        index = index < 0 ? bigMinIndex : Math.min(index, bigMinIndex);
      }
      if (bigMax != null && Double.isInfinite(bigMax.doubleValue())) {
        index = index < 0 ? bigMaxIndex : Math.min(index, bigMaxIndex);
      }
      return index;
    }

    @Override
    public String written(int index) {
      return numberAt(index);
    }

    /** Returns a number as sent when its text was kept, else as {@link #formatNumber} shows it. */
    private String numberAt(int index) {
      if (texts != null && texts[index] != null && Math.abs(values[index]) > Float.MAX_VALUE) {
        return abbreviate(texts[index]);
      }
      return formatNumber(values[index]);
    }

    private String booleanAt(int index) {
      return values[index] == 1 ? "true" : "false";
    }

    @Override
    public long[] integers() {
      return exact == null ? null : Arrays.copyOf(exact, count);
    }

    @Override
    public String[] texts() {
      if (firstBoolean >= 0) {
        throw EvergreenException.invalid(
            label()
                + " (BYTES) contains a boolean at "
                + TensorBinding.position(this, firstBoolean)
                + ", the value "
                + booleanAt(firstBoolean)
                + "; send strings, or null for a missing value");
      }
      if (firstNumber >= 0) {
        throw EvergreenException.invalid(
            label()
                + " (BYTES) contains the number "
                + numberAt(firstNumber)
                + " at "
                + TensorBinding.position(this, firstNumber)
                + "; send strings, or null for a missing value");
      }
      if (texts == null) {
        return new String[count];
      }
      return count == texts.length ? texts : Arrays.copyOf(texts, count);
    }
  }
}
