package dev.evergreen.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.TensorSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the table-shaped request bodies of KServe V1 and of the MLflow scoring server into an
 * {@link InputBatch} for a model's signature: rows as JSON objects keyed by input name, rows as
 * JSON arrays in signature order, columns as one JSON object of arrays, a pandas {@code split}
 * frame and CSV with a header row.
 *
 * <p>A numeric input ({@code FP64}) takes JSON numbers, booleans (as 1 and 0) and null. A {@code
 * BYTES} input takes strings and null. Null, a key missing from one row and an empty CSV field are
 * missing values. Every input must appear in at least one row or column. An unknown input name is
 * rejected, as in V2 inference, except in MLflow's pandas formats and CSV, which ignore a column
 * that the model does not take, as MLflow's signature enforcement does.
 *
 * <p>An input of shape {@code [-1, d1, ...]} other than {@code [-1, 1]} takes one nested array per
 * row, read by {@link NestedTensor}, but only from the formats that allow tensors: the rows and
 * columns of KServe V1 and of MLflow's {@code instances} and {@code inputs}. The pandas formats and
 * CSV carry one value per column, so they reject such a model. When the model has one input, a row
 * that is not an object is that input's value, as in TensorFlow Serving's row format. Every request
 * is bound with {@link TensorBinding}, which checks the shapes as for V2 inference.
 */
final class TabularDecoder {
  /** The keys of a pandas {@code split} frame. */
  private static final List<String> SPLIT_KEYS = List.of("columns", "data", "index");

  private TabularDecoder() {}

  /**
   * Reads rows, each an object keyed by input name or an array of values in signature order. With
   * {@code tensors}, a model with one input may also take each row as that input's value.
   *
   * @param field the request field that contains the rows, for error messages
   * @param tensors whether the format allows a nested array per row for a multi-dimensional input
   */
  static InputBatch fromRows(JsonNode rows, String field, ServableModel model, boolean tensors) {
    return fromRows(rows, field, model, tensors, false);
  }

  /**
   * Reads rows as above.
   *
   * @param ignoreUnknown whether a key that names no input is skipped rather than rejected
   */
  private static InputBatch fromRows(
      JsonNode rows, String field, ServableModel model, boolean tensors, boolean ignoreUnknown) {
    if (!rows.isArray()) {
      throw EvergreenException.invalid(
          "'" + field + "' must be an array of rows, got " + describe(rows));
    }
    Columns columns = new Columns(model, rows.size(), tensors ? null : "'" + field + "'");
    columns.rowsField = field;
    columns.ignoreUnknown = ignoreUnknown;
    boolean singleInput = tensors && columns.specs.size() == 1;
    for (int row = 0; row < rows.size(); row++) {
      JsonNode values = rows.get(row);
      String where = field + "[" + row + "]";
      if (singleInput && !values.isObject() && (!values.isArray() || columns.isTensor(0))) {
        columns.set(0, row, values, where);
      } else if (values.isObject()) {
        Iterator<Map.Entry<String, JsonNode>> fields = values.fields();
        while (fields.hasNext()) {
          Map.Entry<String, JsonNode> entry = fields.next();
          int input = columns.indexOf(entry.getKey(), where);
          if (input >= 0) {
            columns.set(input, row, entry.getValue(), where + "." + entry.getKey());
          }
        }
      } else if (values.isArray()) {
        columns.checkWidth(values.size(), where);
        for (int input = 0; input < values.size(); input++) {
          columns.set(input, row, values.get(input), where + "[" + input + "]");
        }
      } else {
        throw EvergreenException.invalid(
            where
                + " is "
                + describe(values)
                + "; send each row as an object keyed by input name or as an array of "
                + columns.specs.size()
                + " values in the order "
                + InferenceRequestDecoder.inputNames(model.signature()));
      }
    }
    return columns.toBatch();
  }

  /**
   * Reads {@code {"input name": [value per row], ...}}, where a multi-dimensional input has a
   * nested array per row.
   */
  static InputBatch fromColumns(JsonNode object, String field, ServableModel model) {
    if (!object.isObject()) {
      throw EvergreenException.invalid(
          "'"
              + field
              + "' must be an object of columns or an array of rows, got "
              + describe(object));
    }
    int rows = -1;
    String rowsInput = null;
    Iterator<Map.Entry<String, JsonNode>> fields = object.fields();
    List<Map.Entry<String, JsonNode>> entries = new ArrayList<>();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> entry = fields.next();
      JsonNode values = entry.getValue();
      String where = field + "." + entry.getKey();
      if (!values.isArray()) {
        throw EvergreenException.invalid(
            where + " must be an array with one value per row, got " + describe(values));
      }
      if (rows < 0) {
        rows = values.size();
        rowsInput = entry.getKey();
      } else if (values.size() != rows) {
        throw EvergreenException.invalid(
            where
                + " has "
                + values.size()
                + " values but "
                + field
                + "."
                + rowsInput
                + " has "
                + rows
                + "; every column needs one value per row");
      }
      entries.add(entry);
    }
    Columns columns = new Columns(model, Math.max(rows, 0), null);
    columns.namesInputs = true;
    for (Map.Entry<String, JsonNode> entry : entries) {
      String where = field + "." + entry.getKey();
      int input = columns.indexOf(entry.getKey(), field);
      columns.name(input);
      JsonNode values = entry.getValue();
      for (int row = 0; row < values.size(); row++) {
        columns.set(input, row, values.get(row), where + "[" + row + "]");
      }
    }
    return columns.toBatch();
  }

  /**
   * Reads pandas {@code records}, a list of objects keyed by column name. MLflow checks a request
   * against the model signature by column name, so a record given as an array, which could only
   * bind by position, is rejected.
   */
  static InputBatch fromRecords(JsonNode records, String field, ServableModel model) {
    if (records.isArray()) {
      for (int row = 0; row < records.size(); row++) {
        JsonNode record = records.get(row);
        if (!record.isObject()) {
          throw EvergreenException.invalid(
              field
                  + "["
                  + row
                  + "] is "
                  + (record.isArray() ? "an array" : describe(record))
                  + ", but each record must be an object keyed by column name, because the"
                  + " values bind to the model's inputs by name; send it as "
                  + exampleRecord(record, model));
        }
      }
    }
    return fromRows(records, field, model, false, true);
  }

  /**
   * Returns a record keyed by the model's input names: with the values of {@code values} when it is
   * an array of one value per input, else with {@code ...} for each value.
   */
  private static String exampleRecord(JsonNode values, ServableModel model) {
    List<TensorSpec> inputs = model.signature().inputs();
    boolean fits = values.isArray() && values.size() == inputs.size();
    StringBuilder record = new StringBuilder("{");
    for (int i = 0; i < inputs.size(); i++) {
      if (i > 0) {
        record.append(", ");
      }
      record.append('"').append(inputs.get(i).name()).append("\": ");
      record.append(fits ? InferenceRequestDecoder.abbreviate(values.get(i).toString()) : "...");
    }
    return record.append('}').toString();
  }

  /**
   * Reads a pandas {@code split} frame, {@code {"columns": [...], "data": [[...], ...]}}, whose
   * {@code columns} name the inputs. An {@code index}, when present, must have one entry per row
   * and is otherwise ignored. Any other key is rejected.
   */
  static InputBatch fromSplit(JsonNode split, String field, ServableModel model) {
    if (!split.isObject()) {
      throw EvergreenException.invalid(
          "'" + field + "' must be an object with 'columns' and 'data', got " + describe(split));
    }
    // pandas' read_json(orient="split") raises on other keys too, and a misspelt key such as
    // "colums" would otherwise surface only as a missing one.
    Iterator<String> keys = split.fieldNames();
    while (keys.hasNext()) {
      String key = keys.next();
      if (!SPLIT_KEYS.contains(key)) {
        // A key that is not a plain word, such as "" or "a b", is quoted so that it stays visible.
        String shown =
            key.matches("[A-Za-z_][A-Za-z0-9_]*")
                ? "." + InferenceRequestDecoder.abbreviate(key)
                : "[\"" + InferenceRequestDecoder.abbreviate(key) + "\"]";
        throw EvergreenException.invalid(
            field
                + shown
                + " is an unknown key; "
                + field
                + " takes only the keys columns, data and index, as pandas' orient=\"split\""
                + " does");
      }
    }
    JsonNode data = split.get("data");
    if (data == null || !data.isArray()) {
      throw EvergreenException.invalid(
          "'" + field + ".data' must be an array of rows, got " + describe(data));
    }
    JsonNode names = split.get("columns");
    if (names == null || names.isNull()) {
      throw EvergreenException.invalid(
          field
              + ".columns is missing, but the values bind to the model's inputs by column name;"
              + " send {\""
              + field
              + "\": {\"columns\": [\""
              + String.join(
                  "\", \"", model.signature().inputs().stream().map(TensorSpec::name).toList())
              + "\"], \"data\": [[...], ...]}}");
    }
    if (!names.isArray()) {
      throw EvergreenException.invalid(
          "'" + field + ".columns' must be an array of input names, got " + describe(names));
    }
    JsonNode index = split.get("index");
    if (index != null && !index.isNull()) {
      // pandas rejects an index whose length differs from the number of rows.
      if (!index.isArray()) {
        throw EvergreenException.invalid(
            "'" + field + ".index' must be an array of one entry per row, got " + describe(index));
      }
      if (index.size() != data.size()) {
        throw EvergreenException.invalid(
            field
                + ".index has "
                + index.size()
                + " entries but "
                + field
                + ".data has "
                + data.size()
                + " rows; send one index entry per row, or leave index out");
      }
    }
    Columns columns = new Columns(model, data.size(), "'" + field + "'");
    columns.namesInputs = true;
    columns.ignoreUnknown = true;
    int[] inputs = new int[names.size()];
    for (int i = 0; i < names.size(); i++) {
      JsonNode name = names.get(i);
      String where = field + ".columns[" + i + "]";
      if (!name.isTextual()) {
        throw EvergreenException.invalid(where + " must be a string, got " + describe(name));
      }
      inputs[i] = columns.indexOf(name.asText(), field + ".columns");
      if (inputs[i] < 0) {
        continue;
      }
      columns.name(inputs[i]);
      for (int j = 0; j < i; j++) {
        if (inputs[j] == inputs[i]) {
          throw EvergreenException.invalid(
              field + ".columns names '" + name.asText() + "' twice; name each column once");
        }
      }
    }
    for (int row = 0; row < data.size(); row++) {
      JsonNode values = data.get(row);
      String where = field + ".data[" + row + "]";
      if (!values.isArray()) {
        throw EvergreenException.invalid(
            where
                + " must be an array of "
                + inputs.length
                + " values, one per column, got "
                + describe(values));
      }
      if (values.size() != inputs.length) {
        throw EvergreenException.invalid(
            where
                + " must be an array of "
                + inputs.length
                + " values, one per column of "
                + field
                + ".columns, but has "
                + values.size()
                + "; send one value per column in each row");
      }
      for (int i = 0; i < inputs.length; i++) {
        if (inputs[i] >= 0) {
          columns.set(inputs[i], row, values.get(i), where + "[" + i + "]");
        }
      }
    }
    return columns.toBatch();
  }

  /**
   * Reads CSV text (RFC 4180 quoting, comma separated) whose first record names the inputs. Numeric
   * fields are parsed with {@link Double#parseDouble}.
   */
  static InputBatch fromCsv(String text, ServableModel model) {
    List<CsvRecord> records = CsvRecord.parse(text);
    if (records.isEmpty()) {
      throw EvergreenException.invalid(
          "CSV body is empty; send a header row with the input names "
              + InferenceRequestDecoder.inputNames(model.signature())
              + ", then one row per prediction");
    }
    CsvRecord header = records.get(0);
    Columns columns = new Columns(model, records.size() - 1, "CSV");
    columns.namesInputs = true;
    columns.ignoreUnknown = true;
    int[] inputs = new int[header.fields().size()];
    for (int i = 0; i < inputs.length; i++) {
      String name = header.fields().get(i).strip();
      inputs[i] = columns.indexOf(name, "the CSV header");
      if (inputs[i] < 0) {
        continue;
      }
      columns.name(inputs[i]);
      for (int j = 0; j < i; j++) {
        if (inputs[j] == inputs[i]) {
          throw EvergreenException.invalid(
              "the CSV header names column '" + name + "' twice; name each column once");
        }
      }
    }
    for (int row = 0; row + 1 < records.size(); row++) {
      CsvRecord record = records.get(row + 1);
      if (record.fields().size() != inputs.length) {
        throw EvergreenException.invalid(
            "CSV line "
                + record.line()
                + " has "
                + record.fields().size()
                + " fields but the header has "
                + inputs.length);
      }
      for (int i = 0; i < inputs.length; i++) {
        if (inputs[i] < 0) {
          continue;
        }
        String where =
            "CSV line " + record.line() + ", column '" + header.fields().get(i).strip() + "'";
        columns.setText(inputs[i], row, record.fields().get(i), where);
      }
    }
    return columns.toBatch();
  }

  /**
   * Returns a number read from a request after checking that it is finite and, for an FP32 input,
   * within FP32's range.
   *
   * @param text the number as the request wrote it, for the error message
   * @param where the request field, for the error message
   */
  static double inRange(double value, String text, TensorSpec spec, String where) {
    // The cast rounds to the nearest float, so 3.4028235E38, Float.MAX_VALUE as Java prints it,
    // stays finite, and only values that no float can hold become infinite.
    boolean fp32 = "FP32".equals(spec.datatype());
    if (Double.isInfinite(value) || (fp32 && Float.isInfinite((float) value))) {
      String range = fp32 ? "FP32" : "FP64";
      throw EvergreenException.invalid(
          where
              + " is "
              + InferenceRequestDecoder.abbreviate(text)
              + ", which is outside the "
              + range
              + " range of "
              + TensorBinding.rangeText(range)
              + " for input '"
              + spec.name()
              + "'; send a number within that range");
    }
    return value;
  }

  /**
   * Returns the leaves as 64-bit integers when one of them is an integer beyond ±2^53, which its
   * double rounds, else null. Other leaves hold 0; see {@link InputBatch#integers()}.
   */
  static long[] largeIntegers(List<JsonNode> leaves) {
    long[] integers = null;
    for (int i = 0; i < leaves.size(); i++) {
      long value = largeInteger(leaves.get(i));
      if (value != 0) {
        if (integers == null) {
          integers = new long[leaves.size()];
        }
        integers[i] = value;
      }
    }
    return integers;
  }

  /** Returns a JSON integer beyond ±2^53 within the long range, else 0. */
  private static long largeInteger(JsonNode value) {
    if (!value.isIntegralNumber() || !value.canConvertToLong()) {
      return 0;
    }
    long integer = value.longValue();
    return Math.abs(integer) > TensorBinding.LARGEST_EXACT_DOUBLE ? integer : 0;
  }

  /** Returns a CSV integer field beyond ±2^53 within the long range, else 0. */
  private static long largeInteger(String field) {
    try {
      long integer = Long.parseLong(field);
      return Math.abs(integer) > TensorBinding.LARGEST_EXACT_DOUBLE ? integer : 0;
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  static String describe(JsonNode node) {
    if (node == null || node.isMissingNode()) {
      return "nothing";
    }
    return switch (node.getNodeType()) {
      case OBJECT -> "an object";
      case ARRAY -> "an array of " + node.size();
      case STRING -> "the string \"" + InferenceRequestDecoder.abbreviate(node.asText()) + "\"";
      case NUMBER -> "the number " + node.asText();
      case BOOLEAN -> "the boolean " + node.asText();
      case NULL -> "null";
      default -> node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    };
  }

  /**
   * Column arrays under construction, one per signature input. A multi-dimensional input keeps the
   * JSON value of each row until {@link #toBatch} reads them into a {@link NestedTensor}.
   */
  private static final class Columns {
    final ServableModel model;
    final List<TensorSpec> specs;
    final int rows;
    final Map<String, Integer> indexByName = new HashMap<>();
    final double[][] numbers;

    /** For INT64 inputs, integers beyond ±2^53 as sent; allocated at the first one. */
    final long[][] integers;

    final String[][] texts;
    final JsonNode[][] nested;
    final String[][] nestedLocations;
    final boolean[] seen;

    /** The request field that contains one object per row, such as "instances", or null. */
    String rowsField;

    /**
     * Whether the format names its inputs apart from the rows (split columns, a CSV header, column
     * keys), so that a request of zero rows still has to name every input, as V2 requires.
     */
    boolean namesInputs;

    /** Whether {@link #indexOf} returns -1 for a name that is not an input, instead of failing. */
    boolean ignoreUnknown;

    /** The names that {@link #indexOf} ignored, for the message of a missing input. */
    final Set<String> ignored = new LinkedHashSet<>();

    /**
     * @param scalarFormat the name of the request format for error messages when the format carries
     *     one value per input and row, or null when it allows nested arrays
     * @throws EvergreenException INVALID_INPUT when a scalar format meets a multi-dimensional input
     */
    Columns(ServableModel model, int rows, String scalarFormat) {
      this.model = model;
      this.specs = model.signature().inputs();
      this.rows = rows;
      numbers = new double[specs.size()][];
      integers = new long[specs.size()][];
      texts = new String[specs.size()][];
      nested = new JsonNode[specs.size()][];
      nestedLocations = new String[specs.size()][];
      seen = new boolean[specs.size()];
      for (int i = 0; i < specs.size(); i++) {
        TensorSpec spec = specs.get(i);
        indexByName.put(spec.name(), i);
        if (!TensorBinding.isOneValuePerRow(spec.shape())) {
          if (scalarFormat != null) {
            throw EvergreenException.invalid(
                "input '"
                    + spec.name()
                    + "' has shape "
                    + spec.shape()
                    + ", but "
                    + scalarFormat
                    + " carries one value per input and row; send this model's rows as nested"
                    + " arrays in 'instances' or 'inputs', such as {\"inputs\": {\""
                    + spec.name()
                    + "\": [row, ...]}}");
          }
          nested[i] = new JsonNode[rows];
          nestedLocations[i] = new String[rows];
        } else if (isText(spec)) {
          texts[i] = new String[rows];
        } else {
          numbers[i] = new double[rows];
          java.util.Arrays.fill(numbers[i], Double.NaN);
        }
      }
    }

    /** Records that the request names an input, which then counts as present with zero rows. */
    void name(int input) {
      seen[input] = true;
    }

    /** Returns whether the input takes a nested array per row. */
    boolean isTensor(int input) {
      return nested[input] != null;
    }

    private static boolean isText(TensorSpec spec) {
      return "BYTES".equals(spec.datatype());
    }

    int indexOf(String name, String where) {
      Integer index = indexByName.get(name);
      if (index == null && ignoreUnknown) {
        if (ignored.size() < 10) {
          ignored.add(InferenceRequestDecoder.abbreviate(name));
        }
        return -1;
      }
      if (index == null) {
        throw EvergreenException.invalid(
            where
                + " has the unknown input '"
                + InferenceRequestDecoder.abbreviate(name)
                + "'; model '"
                + model.model()
                + "' version "
                + model.version()
                + " expects inputs "
                + InferenceRequestDecoder.inputNames(model.signature()));
      }
      return index;
    }

    void checkWidth(int width, String where) {
      if (width != specs.size()) {
        throw EvergreenException.invalid(
            where
                + " has "
                + width
                + " values, but model '"
                + model.model()
                + "' takes "
                + specs.size()
                + " inputs in the order "
                + InferenceRequestDecoder.inputNames(model.signature()));
      }
    }

    void set(int input, int row, JsonNode value, String where) {
      seen[input] = true;
      TensorSpec spec = specs.get(input);
      if (isTensor(input)) {
        nested[input][row] = value;
        nestedLocations[input][row] = where;
        return;
      }
      if (value != null && value.isArray() && value.size() == 1 && spec.shape().size() > 1) {
        // An input of shape [-1, 1] takes [value] per row, as a V2 tensor of shape [rows, 1] does.
        value = value.get(0);
      }
      if (value == null || value.isNull()) {
        return;
      }
      if (isText(spec)) {
        if (!value.isTextual()) {
          throw EvergreenException.invalid(
              where
                  + " is "
                  + describe(value)
                  + " but input '"
                  + spec.name()
                  + "' takes strings; send a string, or null for a missing value");
        }
        texts[input][row] = value.asText();
      } else if (value.isNumber()) {
        numbers[input][row] = inRange(value.doubleValue(), value.asText(), spec, where);
        setInteger(input, row, largeInteger(value));
      } else if (value.isBoolean()) {
        numbers[input][row] = value.booleanValue() ? 1 : 0;
      } else {
        throw EvergreenException.invalid(
            where
                + " is "
                + describe(value)
                + " but input '"
                + spec.name()
                + "' takes numbers; send a number, or null for a missing value");
      }
    }

    /** Sets a value from a CSV field, where an empty field is a missing value. */
    void setText(int input, int row, String field, String where) {
      seen[input] = true;
      if (field.isEmpty()) {
        return;
      }
      TensorSpec spec = specs.get(input);
      if (isText(spec)) {
        texts[input][row] = field;
        return;
      }
      String value = field.strip();
      if ("BOOL".equals(spec.datatype())
          && (value.equalsIgnoreCase("true") || value.equalsIgnoreCase("false"))) {
        // pandas writes booleans as True and False.
        numbers[input][row] = value.equalsIgnoreCase("true") ? 1 : 0;
        return;
      }
      try {
        numbers[input][row] =
            inRange(Double.parseDouble(field.strip()), field.strip(), spec, where);
        setInteger(input, row, largeInteger(field.strip()));
      } catch (NumberFormatException e) {
        throw EvergreenException.invalid(
            where
                + " is \""
                + InferenceRequestDecoder.abbreviate(field)
                + "\" but input '"
                + spec.name()
                + "' takes numbers; send a number, or an empty field for a missing value");
      }
    }

    /** Keeps an INT64 input's integer beyond ±2^53, given as 0 when the value is not one. */
    private void setInteger(int input, int row, long integer) {
      if (integer == 0 || !"INT64".equals(specs.get(input).datatype())) {
        return;
      }
      if (integers[input] == null) {
        integers[input] = new long[rows];
      }
      integers[input][row] = integer;
    }

    /**
     * Checks that every input is present and binds the columns with {@link TensorBinding}, which
     * checks each multi-dimensional input's shape against the signature.
     */
    InputBatch toBatch() {
      List<TensorBinding.Tensor> tensors = new ArrayList<>();
      for (int i = 0; i < specs.size(); i++) {
        TensorSpec spec = specs.get(i);
        if (!seen[i] && (rows > 0 || namesInputs)) {
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
                  + InferenceRequestDecoder.inputNames(model.signature())
                  + ", and null values mark missing values"
                  + (ignored.isEmpty()
                      ? ""
                      : "; the request's columns '"
                          + String.join("', '", ignored)
                          + "' name no input and were ignored"));
        }
        if (isTensor(i)) {
          checkEveryRow(i);
          tensors.add(new NestedTensor(i, spec, nested[i], nestedLocations[i]));
        } else {
          tensors.add(new ColumnTensor(i, spec, numbers[i], texts[i], integers[i]));
        }
      }
      return TensorBinding.bind(tensors, model);
    }

    /** Rejects a row without a value for a multi-dimensional input, which has no missing form. */
    private void checkEveryRow(int input) {
      TensorSpec spec = specs.get(input);
      for (int row = 0; row < rows; row++) {
        JsonNode value = nested[input][row];
        if (value == null || value.isNull()) {
          String where = rowsField == null ? "row " + row : rowsField + "[" + row + "]";
          throw EvergreenException.invalid(
              where
                  + " has no value for input '"
                  + spec.name()
                  + "' of shape "
                  + spec.shape()
                  + "; send a nested array in every row, with null for a missing element");
        }
      }
    }
  }

  /** One column of values, one per row, as a tensor of shape {@code [rows]}. */
  private record ColumnTensor(
      int index, TensorSpec spec, double[] numbers, String[] texts, long[] integers)
      implements TensorBinding.Tensor {
    @Override
    public String name() {
      return spec.name();
    }

    @Override
    public String datatype() {
      return spec.datatype();
    }

    @Override
    public long[] shape() {
      return new long[] {count()};
    }

    @Override
    public void checkEncoding() {}

    @Override
    public int count() {
      return numbers != null ? numbers.length : texts.length;
    }
  }

  /**
   * One CSV record and the line it starts on, counted from 1.
   *
   * <p>The parser follows RFC 4180: fields are separated by commas, a field in double quotes may
   * contain commas, line breaks and doubled quotes, and records end with LF or CRLF. Blank lines
   * are skipped, as pandas skips them.
   */
  record CsvRecord(int line, List<String> fields) {
    static List<CsvRecord> parse(String text) {
      List<CsvRecord> records = new ArrayList<>();
      int start = text.startsWith("\uFEFF") ? 1 : 0;
      int line = 1;
      int recordLine = 1;
      List<String> fields = new ArrayList<>();
      StringBuilder field = new StringBuilder();
      boolean quoted = false;
      boolean fieldStarted = false;

      for (int i = start; i < text.length(); i++) {
        char c = text.charAt(i);

        // Inside quotes only a quote is special, and a doubled quote is one quote character.
        if (quoted) {
          if (c == '"') {
            if (i + 1 < text.length() && text.charAt(i + 1) == '"') {
              field.append('"');
              i++;
            } else {
              quoted = false;
            }
          } else {
            if (c == '\n') {
              line++;
            }
            field.append(c);
          }
          continue;
        }

        switch (c) {
          case '"' -> {
            quoted = true;
            fieldStarted = true;
          }
          case ',' -> {
            fields.add(field.toString());
            field.setLength(0);
            fieldStarted = true;
          }
          case '\r' -> {
            // CR is part of a CRLF line end, and a lone CR is kept as text.
            if (i + 1 >= text.length() || text.charAt(i + 1) != '\n') {
              field.append(c);
            }
          }
          case '\n' -> {
            if (fieldStarted || !field.isEmpty() || !fields.isEmpty()) {
              fields.add(field.toString());
              records.add(new CsvRecord(recordLine, List.copyOf(fields)));
            }
            fields.clear();
            field.setLength(0);
            fieldStarted = false;
            line++;
            recordLine = line;
          }
          default -> {
            field.append(c);
            fieldStarted = true;
          }
        }
      }

      if (quoted) {
        throw EvergreenException.invalid(
            "CSV record at line " + recordLine + " has a quoted field that is never closed");
      }
      if (fieldStarted || !field.isEmpty() || !fields.isEmpty()) {
        fields.add(field.toString());
        records.add(new CsvRecord(recordLine, List.copyOf(fields)));
      }
      return records;
    }
  }
}
