package dev.evergreen.server;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.Signature;
import dev.evergreen.core.serving.TensorSpec;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Binds the input tensors of an Open Inference Protocol request, as the JSON or the gRPC decoder
 * read them, to a model's signature and builds the {@link InputBatch} to score.
 *
 * <p>An input whose {@link TensorSpec} has shape {@code [-1]} takes a tensor of shape {@code
 * [rows]} or {@code [rows, 1]}. An input of shape {@code [-1, d1, ..., dk]} takes a tensor of shape
 * {@code [rows, d1, ..., dk]}, whose elements are stored row-major; a -1 among {@code d1 ... dk}
 * matches any size. Every input needs the same row count, and every input of the signature is
 * required.
 */
final class TensorBinding {
  /** Every tensor datatype of the Open Inference Protocol, in the order its specification lists. */
  static final List<String> DATATYPES =
      List.of(
          "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16",
          "FP32", "FP64", "BYTES");

  /** Datatypes a numeric ({@code FP64}) input accepts; BOOL is scored as 1 and 0. */
  private static final Set<String> NUMERIC_DATATYPES =
      Set.of(
          "BOOL", "FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32",
          "UINT16", "UINT8");

  /** Inclusive value range of each integer datatype. */
  static final Map<String, BigInteger[]> INTEGER_RANGES =
      Map.of(
          "INT8", range(-(1L << 7), BigInteger.ONE.shiftLeft(7)),
          "INT16", range(-(1L << 15), BigInteger.ONE.shiftLeft(15)),
          "INT32", range(-(1L << 31), BigInteger.ONE.shiftLeft(31)),
          "INT64", range(Long.MIN_VALUE, BigInteger.ONE.shiftLeft(63)),
          "UINT8", range(0, BigInteger.ONE.shiftLeft(8)),
          "UINT16", range(0, BigInteger.ONE.shiftLeft(16)),
          "UINT32", range(0, BigInteger.ONE.shiftLeft(32)),
          "UINT64", range(0, BigInteger.ONE.shiftLeft(64)));

  /** 2^53: every integer up to this magnitude has an exact double, and some beyond it do not. */
  static final long LARGEST_EXACT_DOUBLE = 1L << 53;

  private TensorBinding() {}

  /** Returns {@code [min, maxExclusive - 1]}. */
  private static BigInteger[] range(long min, BigInteger maxExclusive) {
    return new BigInteger[] {BigInteger.valueOf(min), maxExclusive.subtract(BigInteger.ONE)};
  }

  /**
   * One input tensor as a decoder read it. {@link #numbers()} and {@link #texts()} are called only
   * after the datatype and shape passed the checks of {@link #bind}, and only the one that matches
   * the signature, so they check what depends on the encoding: value types and ranges.
   */
  interface Tensor {
    /** Position in the request's {@code inputs}. */
    int index();

    /** Tensor name, null when the request gave none. */
    String name();

    /** Datatype as sent, null when the request gave none. */
    String datatype();

    /** Dimensions as sent, null when the request gave none. */
    long[] shape();

    /**
     * Rejects what this encoding cannot carry, such as a datatype without a representation or a
     * tensor without data. Called after the datatype and shape are known to be present and valid.
     */
    void checkEncoding();

    /** Returns the number of elements the request carries. */
    int count();

    /** Returns the elements as numbers, {@code NaN} for a missing value. */
    double[] numbers();

    /** Returns the elements as strings, null for a missing value. */
    String[] texts();

    /**
     * Returns the elements as 64-bit integers, called after {@link #numbers()} for an {@code INT64}
     * input, or null when the request carries no integer beyond ±2^53 that a double would round. An
     * element that is not such an integer may hold any value; {@link InputBatch#integers()} defines
     * which elements count.
     */
    default long[] integers() {
      return null;
    }

    /** Returns element {@code index} as the request wrote it, for error messages. */
    default String written(int index) {
      return InferenceRequestDecoder.formatNumber(numbers()[index]);
    }

    default String label() {
      return name() == null ? "inputs[" + index() + "]" : "input '" + name() + "'";
    }
  }

  /**
   * Checks the tensors against the model's signature and returns the batch to score.
   *
   * @throws EvergreenException INVALID_INPUT naming the input whose name, datatype, shape or values
   *     do not fit the signature, or the signature input that is missing
   */
  static InputBatch bind(List<? extends Tensor> tensors, ServableModel model) {
    Signature signature = model.signature();
    Map<String, double[]> numeric = new HashMap<>();
    Map<String, String[]> text = new HashMap<>();
    Map<String, long[]> integers = new HashMap<>();
    int rows = -1;
    String rowsInput = null;
    for (Tensor tensor : tensors) {
      TensorSpec spec = specOf(signature, tensor, model);
      if (numeric.containsKey(tensor.name()) || text.containsKey(tensor.name())) {
        throw EvergreenException.invalid(
            "input '" + tensor.name() + "' appears more than once; send each input once");
      }
      int tensorRows = checkShape(tensor, spec);
      if (rows < 0) {
        rows = tensorRows;
        rowsInput = tensor.name();
      } else if (tensorRows != rows) {
        throw EvergreenException.invalid(
            "input '"
                + tensor.name()
                + "' has "
                + tensorRows
                + " rows but input '"
                + rowsInput
                + "' has "
                + rows
                + "; every input needs the same number of rows");
      }
      if ("BYTES".equals(spec.datatype())) {
        text.put(tensor.name(), tensor.texts());
      } else {
        double[] values = tensor.numbers();
        if ("FP32".equals(spec.datatype())) {
          checkFloat32(tensor, values);
        }
        numeric.put(tensor.name(), values);
        long[] exact = "INT64".equals(spec.datatype()) ? tensor.integers() : null;
        if (exact != null) {
          integers.put(tensor.name(), exact);
        }
      }
    }
    checkComplete(signature, numeric, text, model);
    return new InputBatch(Math.max(rows, 0), numeric, text, integers);
  }

  /**
   * Rejects a value beyond an FP32 input's range, whatever datatype the request sent it as, so that
   * the message shows the value as written rather than as the converted double.
   */
  private static void checkFloat32(Tensor tensor, double[] values) {
    for (int i = 0; i < values.length; i++) {
      if (Float.isInfinite((float) values[i])) {
        throw EvergreenException.invalid(
            tensor.label()
                + " takes FP32, but the value "
                + tensor.written(i)
                + " at "
                + position(tensor, i)
                + " is outside FP32's range of "
                + rangeText("FP32")
                + "; send a value within that range");
      }
    }
  }

  private static void checkComplete(
      Signature signature,
      Map<String, double[]> numeric,
      Map<String, String[]> text,
      ServableModel model) {
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
                + InferenceRequestDecoder.inputNames(signature)
                + ", and null data values mark missing values");
      }
    }
  }

  private static TensorSpec specOf(Signature signature, Tensor tensor, ServableModel model) {
    if (tensor.name() == null) {
      throw EvergreenException.invalid(
          "inputs["
              + tensor.index()
              + "] has no 'name'; name one of "
              + InferenceRequestDecoder.inputNames(signature));
    }
    for (TensorSpec spec : signature.inputs()) {
      if (spec.name().equals(tensor.name())) {
        return spec;
      }
    }
    throw EvergreenException.invalid(
        "unknown input '"
            + tensor.name()
            + "'; model '"
            + model.model()
            + "' version "
            + model.version()
            + " expects inputs "
            + InferenceRequestDecoder.inputNames(signature));
  }

  /** Checks the datatype against the input's, then shape and element count; returns the rows. */
  private static int checkShape(Tensor tensor, TensorSpec spec) {
    String datatype = tensor.datatype();
    if (datatype == null) {
      throw EvergreenException.invalid(tensor.label() + " has no 'datatype'; use FP64 or BYTES");
    }
    if (!DATATYPES.contains(datatype)) {
      throw EvergreenException.invalid(
          tensor.label()
              + " has the unknown datatype '"
              + InferenceRequestDecoder.abbreviate(datatype)
              + "'; use one of "
              + String.join(", ", DATATYPES));
    }
    if ("BYTES".equals(spec.datatype())) {
      checkTextDatatype(tensor);
    } else {
      checkNumericDatatype(tensor);
    }

    long[] shape = tensor.shape();
    if (shape == null) {
      throw EvergreenException.invalid(
          tensor.label() + " has no 'shape'; send " + expectedShapeText(spec.shape()));
    }
    tensor.checkEncoding();

    long elements = elementCount(shape);
    int count = tensor.count();
    if (elements != count) {
      throw EvergreenException.invalid(
          tensor.label()
              + " has shape "
              + Arrays.toString(shape)
              + ", which is "
              + (elements < 0 ? "more than " + Integer.MAX_VALUE : elements)
              + (elements == 1 ? " element" : " elements")
              + ", but its data has "
              + count
              + (count == 1 ? " value" : " values"));
    }

    if (!shapeFits(shape, spec.shape())) {
      throw EvergreenException.invalid(
          tensor.label()
              + " has shape "
              + Arrays.toString(shape)
              + ", but the model's input has shape "
              + spec.shape()
              + "; send "
              + expectedShapeText(spec.shape()));
    }
    return shape.length == 0 ? 1 : (int) shape[0];
  }

  /**
   * Returns whether a tensor's dimensions after the first match the input's, with -1 in the input
   * matching any size. When the input has one value per row, any shape with one element per row
   * fits: {@code [rows]}, {@code [rows, 1]}, and a scalar {@code []} as one row.
   */
  static boolean shapeFits(long[] shape, List<Long> specShape) {
    if (isOneValuePerRow(specShape)) {
      // [rows] or [rows, 1, ...]: compared by dimension, so that zero rows are checked too.
      for (int i = 1; i < shape.length; i++) {
        if (shape[i] != 1) {
          return false;
        }
      }
      return true;
    }
    List<Long> trailing = specShape.subList(1, specShape.size());
    if (shape.length != trailing.size() + 1) {
      return false;
    }
    for (int i = 0; i < trailing.size(); i++) {
      long expected = trailing.get(i);
      if (expected >= 0 && shape[i + 1] != expected) {
        return false;
      }
    }
    return true;
  }

  /**
   * Returns whether an input of this shape takes one value per row: {@code []}, {@code [-1]} or
   * {@code [-1, 1, ...]}. Any other input takes a tensor of at least two dimensions per batch.
   */
  static boolean isOneValuePerRow(List<Long> specShape) {
    return specShape.size() <= 1
        || specShape.subList(1, specShape.size()).stream().allMatch(dimension -> dimension == 1);
  }

  private static String expectedShapeText(List<Long> specShape) {
    if (specShape.size() <= 1) {
      return "[rows] or [rows, 1] for one value per row";
    }
    StringBuilder text = new StringBuilder("[rows");
    for (Long dimension : specShape.subList(1, specShape.size())) {
      text.append(", ").append(dimension < 0 ? "any" : dimension.toString());
    }
    return text.append("], the values of each row contiguous").toString();
  }

  /** Returns the product of the dimensions, or -1 when it exceeds {@code Integer.MAX_VALUE}. */
  static long elementCount(long[] shape) {
    long elements = 1;
    for (long dimension : shape) {
      if (dimension != 0 && elements > Integer.MAX_VALUE / dimension) {
        return -1;
      }
      elements *= dimension;
    }
    return elements;
  }

  private static void checkNumericDatatype(Tensor tensor) {
    if (!NUMERIC_DATATYPES.contains(tensor.datatype())) {
      throw EvergreenException.invalid(
          tensor.label()
              + " has datatype "
              + tensor.datatype()
              + " but the model expects numbers: send FP64, FP32, an integer datatype or BOOL");
    }
  }

  private static void checkTextDatatype(Tensor tensor) {
    if (!"BYTES".equals(tensor.datatype())) {
      throw EvergreenException.invalid(
          tensor.label()
              + " has datatype "
              + tensor.datatype()
              + " but the model expects strings: send BYTES");
    }
  }

  /**
   * Returns the value range of a numeric datatype as messages show it. FP32's bound is {@link
   * Float#MAX_VALUE} as Java prints it, and FP64's is {@link Double#MAX_VALUE}.
   */
  static String rangeText(String datatype) {
    BigInteger[] bounds = INTEGER_RANGES.get(datatype);
    if (bounds != null) {
      return bounds[0] + " to " + bounds[1];
    }
    String max = datatype.equals("FP32") ? "3.4028235E38" : Double.toString(Double.MAX_VALUE);
    return "-" + max + " to " + max;
  }

  /**
   * Returns the error for an element outside a range.
   *
   * @param value the element as the request wrote it, or its exact value
   * @param advice what to send instead
   */
  static EvergreenException outOfRange(
      Tensor tensor, String value, int index, String rangeText, String advice) {
    return EvergreenException.invalid(
        tensor.label()
            + " has datatype "
            + tensor.datatype()
            + " but the value "
            + value
            + " at "
            + position(tensor, index)
            + " is outside its range of "
            + rangeText
            + "; "
            + advice);
  }

  /**
   * Returns where an element sits in a tensor: its row-major index in {@code data}, and for a
   * tensor with several elements per row also the row and the indices within the row, such as
   * {@code data index 5 (row 1, column 1)}.
   */
  static String position(Tensor tensor, int index) {
    String flat = "data index " + index;
    long[] shape = tensor.shape();
    long elements = shape == null ? -1 : elementCount(shape);
    if (shape == null || shape.length < 2 || index >= elements) {
      return flat;
    }
    long perRow = elements / shape[0];
    if (perRow <= 1) {
      return flat;
    }
    StringBuilder text = new StringBuilder(flat).append(" (row ").append(index / perRow);
    if (shape.length == 2) {
      return text.append(", column ").append(index % perRow).append(')').toString();
    }
    long[] within = new long[shape.length - 1];
    long rest = index % perRow;
    for (int dimension = shape.length - 1; dimension >= 1; dimension--) {
      within[dimension - 1] = rest % shape[dimension];
      rest /= shape[dimension];
    }
    return text.append(", element ").append(Arrays.toString(within)).append(')').toString();
  }
}
