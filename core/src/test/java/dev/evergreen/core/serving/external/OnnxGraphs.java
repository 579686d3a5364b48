package dev.evergreen.core.serving.external;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Small ONNX models written in the protobuf wire format of {@code onnx.proto} (IR version 7, opset
 * 13), so tests can score graphs that the Python-made fixtures do not cover without needing Python.
 * Every input and the output are FP64 tensors of shape {@code [N]}.
 */
public final class OnnxGraphs {
  /**
   * Signature of {@link #expSum}: inputs {@code distance} and {@code hour}, output {@code score}.
   */
  public static final String EXP_SUM_SIGNATURE =
      """
      {"inputs": [{"name": "distance", "datatype": "FP64", "shape": [-1]},
                  {"name": "hour", "datatype": "FP64", "shape": [-1]}],
       "output": {"name": "score", "datatype": "FP64", "shape": [-1]}}
      """;

  /** ONNX {@code TensorProto.DataType} of 64-bit floats. */
  private static final int DOUBLE = 11;

  private OnnxGraphs() {}

  /**
   * Returns a model that scores {@code exp(distance) + hour}, as a scikit-learn export without an
   * imputer would: a missing (NaN) value gives NaN, and {@code distance} above about 709.8 gives
   * positive infinity.
   */
  public static byte[] expSum() {
    return model(
        List.of(
            node("Exp", List.of("distance"), "exp_distance"),
            node("Add", List.of("exp_distance", "hour"), "score")));
  }

  /**
   * Returns a model that scores {@code exp(distance) + hour} after replacing each missing (NaN)
   * value by 0, as a graph with an imputer does, so it returns finite scores for missing values.
   */
  public static byte[] imputedExpSum() {
    return model(
        List.of(
            node("IsNaN", List.of("distance"), "distance_missing"),
            node("IsNaN", List.of("hour"), "hour_missing"),
            constantZero("zero"),
            node("Where", List.of("distance_missing", "zero", "distance"), "distance_filled"),
            node("Where", List.of("hour_missing", "zero", "hour"), "hour_filled"),
            node("Exp", List.of("distance_filled"), "exp_distance"),
            node("Add", List.of("exp_distance", "hour_filled"), "score")));
  }

  private static byte[] model(List<byte[]> nodes) {
    Message graph = new Message();
    for (byte[] node : nodes) {
      graph.bytes(1, node);
    }
    graph.string(2, "evergreen_test_graph");
    graph.bytes(11, vector("distance"));
    graph.bytes(11, vector("hour"));
    graph.bytes(12, vector("score"));
    Message opset = new Message().string(1, "").varint(2, 13);
    return new Message()
        .varint(1, 7)
        .string(2, "evergreen-tests")
        .bytes(7, graph.toBytes())
        .bytes(8, opset.toBytes())
        .toBytes();
  }

  private static byte[] node(String operator, List<String> inputs, String output) {
    Message node = new Message();
    for (String input : inputs) {
      node.string(1, input);
    }
    return node.string(2, output).string(3, output).string(4, operator).toBytes();
  }

  /** Returns a {@code Constant} node with a scalar double 0 as its {@code value} attribute. */
  private static byte[] constantZero(String output) {
    // TensorProto: data_type (2) and one packed double_data (10) element. Without dims it is a
    // scalar.
    Message zero = new Message().varint(2, DOUBLE).bytes(10, new byte[8]);
    // AttributeProto: name (1), t (5), type (20) TENSOR = 4.
    Message attribute = new Message().string(1, "value").bytes(5, zero.toBytes()).varint(20, 4);
    return new Message()
        .string(2, output)
        .string(3, output)
        .string(4, "Constant")
        .bytes(5, attribute.toBytes())
        .toBytes();
  }

  /** Returns a {@code ValueInfoProto} of a double tensor of shape {@code [N]}. */
  private static byte[] vector(String name) {
    Message dimension = new Message().string(2, "N");
    Message shape = new Message().bytes(1, dimension.toBytes());
    Message tensor = new Message().varint(1, DOUBLE).bytes(2, shape.toBytes());
    Message type = new Message().bytes(1, tensor.toBytes());
    return new Message().string(1, name).bytes(2, type.toBytes()).toBytes();
  }

  /** One protobuf message, written field by field. */
  private static final class Message {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Message varint(int field, long value) {
      writeVarint((long) field << 3);
      writeVarint(value);
      return this;
    }

    Message bytes(int field, byte[] value) {
      writeVarint(((long) field << 3) | 2);
      writeVarint(value.length);
      out.writeBytes(value);
      return this;
    }

    Message string(int field, String value) {
      return bytes(field, value.getBytes(StandardCharsets.UTF_8));
    }

    byte[] toBytes() {
      return out.toByteArray();
    }

    private void writeVarint(long value) {
      while ((value & ~0x7FL) != 0) {
        out.write((int) ((value & 0x7F) | 0x80));
        value >>>= 7;
      }
      out.write((int) value);
    }
  }
}
