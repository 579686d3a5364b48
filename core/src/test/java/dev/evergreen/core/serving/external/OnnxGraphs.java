package dev.evergreen.core.serving.external;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Small ONNX models written in the protobuf wire format of {@code onnx.proto} (IR version 7, opset
 * 13), so tests can score graphs that the Python-made fixtures do not cover without needing Python.
 * Inputs and outputs have shape {@code [N]}, or {@code [N, 2]} in {@link #idOffsetPairs}.
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

  /**
   * Signature of {@link #flightColumnSum}: the four inputs of {@code flights-xgboost.json}, all
   * FP64, and output {@code probability}, so the XGBoost fixture can load with the same signature.
   */
  public static final String FLIGHT_COLUMNS_SIGNATURE =
      """
      {"inputs": [{"name": "distance", "datatype": "FP64", "shape": [-1]},
                  {"name": "hour", "datatype": "FP64", "shape": [-1]},
                  {"name": "day_of_week", "datatype": "FP64", "shape": [-1]},
                  {"name": "day_of_month", "datatype": "FP64", "shape": [-1]}],
       "output": {"name": "probability", "datatype": "FP64", "shape": [-1]}}
      """;

  /** Signature of {@link #idOffset}: input {@code id} (INT64), output {@code offset} (FP64). */
  public static final String ID_OFFSET_SIGNATURE =
      """
      {"inputs": [{"name": "id", "datatype": "INT64", "shape": [-1]}],
       "output": {"name": "offset", "datatype": "FP64", "shape": [-1]}}
      """;

  /** Signature of {@link #idOffsetPairs}: two ids per row in, two offsets per row out. */
  public static final String ID_OFFSET_PAIRS_SIGNATURE =
      """
      {"inputs": [{"name": "id", "datatype": "INT64", "shape": [-1, 2]}],
       "output": {"name": "offset", "datatype": "FP64", "shape": [-1, 2]}}
      """;

  /** 2^53, the base {@link #idOffset} subtracts. */
  public static final long ID_BASE = 1L << 53;

  /** ONNX {@code TensorProto.DataType} of 64-bit floats. */
  private static final int DOUBLE = 11;

  /** ONNX {@code TensorProto.DataType} of 64-bit integers. */
  private static final int INT64 = 7;

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

  /**
   * Returns a model that scores {@code distance + hour + day_of_week + day_of_month} without an
   * imputer, so a missing (NaN) value gives NaN. Its inputs are those of the XGBoost fixture {@code
   * flights-xgboost.json}, which scores missing values, so it can run as that model's canary.
   */
  public static byte[] flightColumnSum() {
    return model(
        List.of(
            node("Add", List.of("distance", "hour"), "distance_hour"),
            node("Add", List.of("distance_hour", "day_of_week"), "distance_hour_day"),
            node("Add", List.of("distance_hour_day", "day_of_month"), "probability")),
        List.of(
            vector("distance", DOUBLE),
            vector("hour", DOUBLE),
            vector("day_of_week", DOUBLE),
            vector("day_of_month", DOUBLE)),
        vector("probability", DOUBLE));
  }

  /**
   * Returns a model whose output is {@code id - 2^53} as a double, computed in 64-bit integers, so
   * it shows whether an {@code id} beyond 2^53 reached the model exactly: 2^53 + 1 scores 1, while
   * its rounded double, 2^53, scores 0.
   */
  public static byte[] idOffset() {
    return idOffset(List.of());
  }

  /** Returns {@link #idOffset} for inputs and outputs of shape {@code [N, 2]}. */
  public static byte[] idOffsetPairs() {
    return idOffset(List.of(2L));
  }

  private static byte[] idOffset(List<Long> rowShape) {
    // TensorProto: data_type (2) and raw_data (9), 8 little-endian bytes; a scalar.
    byte[] base = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(ID_BASE).array();
    Message baseTensor = new Message().varint(2, INT64).bytes(9, base);
    // AttributeProto: name (1), i (3), t (5), type (20): INT = 2, TENSOR = 4.
    Message value = new Message().string(1, "value").bytes(5, baseTensor.toBytes()).varint(20, 4);
    Message to = new Message().string(1, "to").varint(3, DOUBLE).varint(20, 2);
    byte[] constant =
        new Message()
            .string(2, "base")
            .string(3, "base")
            .string(4, "Constant")
            .bytes(5, value.toBytes())
            .toBytes();
    byte[] cast =
        new Message()
            .string(1, "difference")
            .string(2, "offset")
            .string(3, "offset")
            .string(4, "Cast")
            .bytes(5, to.toBytes())
            .toBytes();
    return model(
        List.of(constant, node("Sub", List.of("id", "base"), "difference"), cast),
        List.of(tensor("id", INT64, rowShape)),
        tensor("offset", DOUBLE, rowShape));
  }

  private static byte[] model(List<byte[]> nodes) {
    return model(
        nodes,
        List.of(vector("distance", DOUBLE), vector("hour", DOUBLE)),
        vector("score", DOUBLE));
  }

  private static byte[] model(List<byte[]> nodes, List<byte[]> inputs, byte[] output) {
    Message graph = new Message();
    for (byte[] node : nodes) {
      graph.bytes(1, node);
    }
    graph.string(2, "evergreen_test_graph");
    for (byte[] input : inputs) {
      graph.bytes(11, input);
    }
    graph.bytes(12, output);
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

  /** Returns a {@code ValueInfoProto} of a tensor of shape {@code [N]} and an ONNX data type. */
  private static byte[] vector(String name, int dataType) {
    return tensor(name, dataType, List.of());
  }

  /** Returns a {@code ValueInfoProto} of a tensor of shape {@code [N, rowShape...]}. */
  private static byte[] tensor(String name, int dataType, List<Long> rowShape) {
    Message shape = new Message().bytes(1, new Message().string(2, "N").toBytes());
    for (long dimension : rowShape) {
      shape.bytes(1, new Message().varint(1, dimension).toBytes());
    }
    Message tensor = new Message().varint(1, dataType).bytes(2, shape.toBytes());
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
