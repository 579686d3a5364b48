package dev.evergreen.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.TensorSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One multi-dimensional input of a KServe V1 or MLflow request, read from one JSON value per row,
 * each a nested array such as {@code [5.1, 3.5, 1.4, 0.2]} for an input of shape {@code [-1, 4]}.
 *
 * <p>The tensor's shape is the row count followed by the shape of the rows, so {@link
 * TensorBinding#bind} checks it against the signature as it checks a V2 tensor. Every row needs the
 * same shape, and the nested arrays of one level need the same length. The leaves follow the
 * tabular rules: numbers, booleans (as 1 and 0) and null for a numeric input, strings and null for
 * a {@code BYTES} input, where null is a missing value.
 */
final class NestedTensor implements TensorBinding.Tensor {
  private final int index;
  private final TensorSpec spec;
  private final JsonNode[] rows;
  private final String[] locations;
  private final long[] shape;

  /**
   * Reads the rows of one input.
   *
   * @param index position of the input in the signature
   * @param rows one JSON value per row, none of them null
   * @param locations where each row's value sits in the request, for error messages
   * @throws EvergreenException INVALID_INPUT for a ragged array or rows of different shapes
   */
  NestedTensor(int index, TensorSpec spec, JsonNode[] rows, String[] locations) {
    this.index = index;
    this.spec = spec;
    this.rows = rows;
    this.locations = locations;
    this.shape = batchShape();
  }

  /**
   * Returns the shape of an empty batch: no rows, and the signature's other dimensions, with 0 for
   * a dimension of any size.
   */
  static long[] emptyShape(TensorSpec spec) {
    long[] shape = new long[Math.max(spec.shape().size(), 1)];
    for (int i = 1; i < shape.length; i++) {
      shape[i] = Math.max(spec.shape().get(i), 0);
    }
    return shape;
  }

  private long[] batchShape() {
    if (rows.length == 0) {
      return emptyShape(spec);
    }
    long[] rowShape = rowShape(rows[0], locations[0]);
    for (int row = 1; row < rows.length; row++) {
      long[] other = rowShape(rows[row], locations[row]);
      if (!Arrays.equals(other, rowShape)) {
        throw EvergreenException.invalid(
            label()
                + " needs the same shape in every row, but "
                + locations[0]
                + " has shape "
                + Arrays.toString(rowShape)
                + " and "
                + locations[row]
                + " has shape "
                + Arrays.toString(other)
                + "; the model's input has shape "
                + spec.shape());
      }
    }
    long[] batch = new long[rowShape.length + 1];
    batch[0] = rows.length;
    System.arraycopy(rowShape, 0, batch, 1, rowShape.length);
    return batch;
  }

  /** Returns the dimensions of a nested array, {@code []} for a single value. */
  private long[] rowShape(JsonNode value, String where) {
    if (!value.isArray()) {
      return new long[0];
    }
    if (value.isEmpty()) {
      return new long[] {0};
    }
    long[] inner = rowShape(value.get(0), where + "[0]");
    for (int i = 1; i < value.size(); i++) {
      long[] other = rowShape(value.get(i), where + "[" + i + "]");
      if (!Arrays.equals(other, inner)) {
        throw EvergreenException.invalid(
            where
                + " is a ragged array: "
                + where
                + "[0] has shape "
                + Arrays.toString(inner)
                + " but "
                + where
                + "["
                + i
                + "] has shape "
                + Arrays.toString(other)
                + "; "
                + label()
                + " has shape "
                + spec.shape()
                + ", so every nested array of one level needs the same length");
      }
    }
    long[] shape = new long[inner.length + 1];
    shape[0] = value.size();
    System.arraycopy(inner, 0, shape, 1, inner.length);
    return shape;
  }

  @Override
  public int index() {
    return index;
  }

  @Override
  public String name() {
    return spec.name();
  }

  /** Returns the signature's datatype, because JSON values carry none. */
  @Override
  public String datatype() {
    return spec.datatype();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  @Override
  public void checkEncoding() {}

  @Override
  public int count() {
    long count = TensorBinding.elementCount(shape);
    return count < 0 ? Integer.MAX_VALUE : (int) count;
  }

  @Override
  public double[] numbers() {
    List<JsonNode> leaves = leaves();
    double[] values = new double[leaves.size()];
    for (int i = 0; i < values.length; i++) {
      JsonNode leaf = leaves.get(i);
      if (leaf.isNull()) {
        values[i] = Double.NaN;
      } else if (leaf.isNumber()) {
        values[i] = TabularDecoder.inRange(leaf.doubleValue(), leaf.asText(), spec, location(i));
      } else if (leaf.isBoolean()) {
        values[i] = leaf.booleanValue() ? 1 : 0;
      } else {
        throw EvergreenException.invalid(
            location(i)
                + " is "
                + TabularDecoder.describe(leaf)
                + " but "
                + label()
                + " takes numbers; send a number, or null for a missing value");
      }
    }
    return values;
  }

  @Override
  public long[] integers() {
    return TabularDecoder.largeIntegers(leaves());
  }

  @Override
  public String[] texts() {
    List<JsonNode> leaves = leaves();
    String[] values = new String[leaves.size()];
    for (int i = 0; i < values.length; i++) {
      JsonNode leaf = leaves.get(i);
      if (leaf.isTextual()) {
        values[i] = leaf.asText();
      } else if (!leaf.isNull()) {
        throw EvergreenException.invalid(
            location(i)
                + " is "
                + TabularDecoder.describe(leaf)
                + " but "
                + label()
                + " takes strings; send a string, or null for a missing value");
      }
    }
    return values;
  }

  /** Returns the leaves of every row in row-major order. */
  private List<JsonNode> leaves() {
    List<JsonNode> leaves = new ArrayList<>(count());
    for (JsonNode row : rows) {
      addLeaves(row, leaves);
    }
    return leaves;
  }

  private static void addLeaves(JsonNode value, List<JsonNode> leaves) {
    if (!value.isArray()) {
      leaves.add(value);
      return;
    }
    for (JsonNode element : value) {
      addLeaves(element, leaves);
    }
  }

  /**
   * Returns where the leaf at a row-major position sits in the request, such as {@code
   * instances[3].features[2]}. Every row has the same shape, so the position splits into the row
   * and the indices within it.
   */
  private String location(int leaf) {
    int[] indices = new int[shape.length];
    int rest = leaf;
    for (int dimension = shape.length - 1; dimension >= 0; dimension--) {
      indices[dimension] = (int) (rest % shape[dimension]);
      rest /= (int) shape[dimension];
    }
    StringBuilder text = new StringBuilder(locations[indices[0]]);
    for (int dimension = 1; dimension < indices.length; dimension++) {
      text.append('[').append(indices[dimension]).append(']');
    }
    return text.toString();
  }
}
