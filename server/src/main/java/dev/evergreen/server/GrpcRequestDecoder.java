package dev.evergreen.server;

import com.google.protobuf.ByteString;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.TensorSpec;
import dev.evergreen.server.grpc.InferTensorContents;
import dev.evergreen.server.grpc.ModelInferRequest;
import dev.evergreen.server.grpc.ModelInferRequest.InferInputTensor;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the input tensors of an Open Inference Protocol gRPC {@code ModelInferRequest} and binds
 * them to a model's signature with {@link TensorBinding}.
 *
 * <p>Each tensor carries its elements either in the {@code InferTensorContents} field of its
 * datatype ({@code bool_contents} for BOOL, {@code int_contents} for INT8 to INT32, {@code
 * int64_contents}, {@code uint_contents} for UINT8 to UINT32, {@code uint64_contents}, {@code
 * fp32_contents}, {@code fp64_contents}, {@code bytes_contents} for BYTES), or, for every tensor of
 * the request at once, in {@code raw_input_contents}: little-endian elements without padding, a
 * BOOL as one byte 0 or 1, a BYTES element as a 4-byte little-endian length and then its bytes.
 * FP16 has no typed field and is accepted only raw. A NaN in a floating-point tensor is a missing
 * value, as JSON {@code null} is in the REST API. BYTES elements must be UTF-8.
 */
final class GrpcRequestDecoder {
  private GrpcRequestDecoder() {}

  /**
   * A decoded request.
   *
   * @param outputs names of the requested outputs, empty for all
   * @param raw whether the request sent {@code raw_input_contents}, so the response sends {@code
   *     raw_output_contents}
   */
  record Decoded(InputBatch batch, List<String> outputs, boolean raw) {}

  /**
   * Decodes and checks the inputs and requested outputs of a request.
   *
   * @throws EvergreenException INVALID_INPUT naming the input or output that does not fit the
   *     model's signature
   */
  static Decoded decode(ModelInferRequest request, ServableModel model) {
    int rawCount = request.getRawInputContentsCount();
    boolean raw = rawCount > 0;
    if (raw && rawCount != request.getInputsCount()) {
      throw EvergreenException.invalid(
          "the request has "
              + request.getInputsCount()
              + " inputs but "
              + rawCount
              + " raw_input_contents entries; send one entry per input, in the order of inputs");
    }
    List<GrpcTensor> tensors = new ArrayList<>(request.getInputsCount());
    for (int i = 0; i < request.getInputsCount(); i++) {
      InferInputTensor input = request.getInputs(i);
      GrpcTensor tensor = new GrpcTensor(i, input, raw ? request.getRawInputContents(i) : null);
      if (raw && input.hasContents()) {
        throw EvergreenException.invalid(
            tensor.label()
                + " sets contents although the request sends raw_input_contents; send every"
                + " input one way");
      }
      tensors.add(tensor);
    }
    InputBatch batch = TensorBinding.bind(tensors, model);
    List<String> outputs = new ArrayList<>(request.getOutputsCount());
    for (ModelInferRequest.InferRequestedOutputTensor output : request.getOutputsList()) {
      if (outputs.contains(output.getName())) {
        throw EvergreenException.invalid(
            "output '"
                + output.getName()
                + "' is requested more than once; request each output once");
      }
      outputs.add(output.getName());
    }
    checkOutputs(outputs, model);
    return new Decoded(batch, outputs, raw);
  }

  private static void checkOutputs(List<String> requested, ServableModel model) {
    List<String> names = model.signature().outputs().stream().map(TensorSpec::name).toList();
    for (String name : requested) {
      if (!names.contains(name)) {
        throw EvergreenException.invalid(
            "unknown output '"
                + InferenceRequestDecoder.abbreviate(name)
                + "'; the model returns "
                + String.join(", ", names));
      }
    }
  }

  /** One input tensor with its typed contents, or with its raw bytes when {@code raw} is set. */
  private static final class GrpcTensor implements TensorBinding.Tensor {
    private final int index;
    private final InferInputTensor input;
    private final ByteString raw;
    private final long[] shape;

    /** Decoded elements, set by {@link #decode()}: one of the two arrays. */
    private double[] numbers;

    private String[] texts;

    GrpcTensor(int index, InferInputTensor input, ByteString raw) {
      this.index = index;
      this.input = input;
      this.raw = raw;
      this.shape = new long[input.getShapeCount()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = input.getShape(i);
      }
    }

    @Override
    public int index() {
      return index;
    }

    @Override
    public String name() {
      return input.getName().isEmpty() ? null : input.getName();
    }

    @Override
    public String datatype() {
      return input.getDatatype().isEmpty() ? null : input.getDatatype();
    }

    @Override
    public long[] shape() {
      return shape;
    }

    @Override
    public void checkEncoding() {
      for (int i = 0; i < shape.length; i++) {
        if (shape[i] < 0) {
          throw EvergreenException.invalid(
              label()
                  + " has a shape with "
                  + shape[i]
                  + " at position "
                  + i
                  + "; each dimension must be an integer of at least 0");
        }
      }
      if (raw == null && datatype().equals("FP16")) {
        throw EvergreenException.invalid(
            label()
                + " has datatype FP16, which InferTensorContents has no field for; send it in"
                + " raw_input_contents, or send FP32");
      }
    }

    @Override
    public int count() {
      decode();
      return numbers != null ? numbers.length : texts.length;
    }

    @Override
    public double[] numbers() {
      decode();
      return numbers;
    }

    @Override
    public String[] texts() {
      decode();
      return texts;
    }

    /**
     * Returns the elements of an INT64 or UINT64 tensor as sent; UINT64 beyond 2^63 is negative.
     */
    @Override
    public long[] integers() {
      if (!datatype().equals("INT64") && !datatype().equals("UINT64")) {
        return null;
      }
      if (raw != null) {
        long[] values = new long[numbers.length];
        raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(values);
        return values;
      }
      InferTensorContents contents = input.getContents();
      List<Long> values =
          datatype().equals("INT64")
              ? contents.getInt64ContentsList()
              : contents.getUint64ContentsList();
      return values.stream().mapToLong(Long::longValue).toArray();
    }

    private void decode() {
      if (numbers != null || texts != null) {
        return;
      }
      if (raw != null) {
        decodeRaw();
      } else {
        decodeContents();
      }
      if (numbers != null) {
        rejectInfinities();
      }
    }

    /**
     * Rejects an infinite element, which JSON requests cannot send and no model input takes. NaN
     * stays a missing value.
     */
    private void rejectInfinities() {
      for (int i = 0; i < numbers.length; i++) {
        if (Double.isInfinite(numbers[i])) {
          throw EvergreenException.invalid(
              label()
                  + " has the value "
                  + numbers[i]
                  + " at element "
                  + i
                  + "; send a finite number, or NaN for a missing value");
        }
      }
    }

    private void decodeContents() {
      InferTensorContents contents = input.getContents();
      String field = fieldOf(datatype());
      checkOnlyField(contents, field);
      switch (datatype()) {
        case "BOOL" -> {
          numbers = new double[contents.getBoolContentsCount()];
          for (int i = 0; i < numbers.length; i++) {
            numbers[i] = contents.getBoolContents(i) ? 1 : 0;
          }
        }
        case "INT8", "INT16", "INT32" -> {
          numbers = new double[contents.getIntContentsCount()];
          for (int i = 0; i < numbers.length; i++) {
            numbers[i] = checkRange(contents.getIntContents(i), i);
          }
        }
        case "INT64" -> numbers = toDoubles(contents.getInt64ContentsList());
        case "UINT8", "UINT16", "UINT32" -> {
          numbers = new double[contents.getUintContentsCount()];
          for (int i = 0; i < numbers.length; i++) {
            numbers[i] = checkRange(Integer.toUnsignedLong(contents.getUintContents(i)), i);
          }
        }
        case "UINT64" -> {
          numbers = new double[contents.getUint64ContentsCount()];
          for (int i = 0; i < numbers.length; i++) {
            numbers[i] = unsignedToDouble(contents.getUint64Contents(i));
          }
        }
        case "FP32" -> {
          numbers = new double[contents.getFp32ContentsCount()];
          for (int i = 0; i < numbers.length; i++) {
            numbers[i] = contents.getFp32Contents(i);
          }
        }
        case "FP64" -> numbers = toDoubles(contents.getFp64ContentsList());
        case "BYTES" -> {
          texts = new String[contents.getBytesContentsCount()];
          for (int i = 0; i < texts.length; i++) {
            texts[i] = utf8(contents.getBytesContents(i).asReadOnlyByteBuffer(), i);
          }
        }
        default -> throw new IllegalStateException("datatype " + datatype() + " has no field");
      }
    }

    /** Rejects values in a field other than the datatype's, which would otherwise be ignored. */
    private void checkOnlyField(InferTensorContents contents, String field) {
      for (var entry : contents.getAllFields().entrySet()) {
        String name = entry.getKey().getName();
        if (!name.equals(field)) {
          throw EvergreenException.invalid(
              label()
                  + " has datatype "
                  + datatype()
                  + " but sends its values in contents."
                  + name
                  + "; send them in contents."
                  + field);
        }
      }
    }

    private static String fieldOf(String datatype) {
      return switch (datatype) {
        case "BOOL" -> "bool_contents";
        case "INT8", "INT16", "INT32" -> "int_contents";
        case "INT64" -> "int64_contents";
        case "UINT8", "UINT16", "UINT32" -> "uint_contents";
        case "UINT64" -> "uint64_contents";
        case "FP32" -> "fp32_contents";
        case "FP64" -> "fp64_contents";
        default -> "bytes_contents";
      };
    }

    private static double[] toDoubles(List<? extends Number> values) {
      double[] doubles = new double[values.size()];
      for (int i = 0; i < doubles.length; i++) {
        doubles[i] = values.get(i).doubleValue();
      }
      return doubles;
    }

    /** Returns a value of a narrow integer datatype, checked against the datatype's range. */
    private double checkRange(long value, int index) {
      BigInteger[] bounds = TensorBinding.INTEGER_RANGES.get(datatype());
      if (value < bounds[0].longValue() || value > bounds[1].longValue()) {
        throw TensorBinding.outOfRange(
            this,
            Long.toString(value),
            index,
            TensorBinding.rangeText(datatype()),
            "send a wider datatype such as FP64");
      }
      return value;
    }

    private static double unsignedToDouble(long value) {
      double high = (double) (value >>> 1) * 2.0;
      return value >= 0 ? value : high + (value & 1);
    }

    private String utf8(ByteBuffer bytes, int index) {
      try {
        return StandardCharsets.UTF_8.newDecoder().decode(bytes).toString();
      } catch (CharacterCodingException e) {
        throw EvergreenException.invalid(
            label()
                + " (BYTES) has an element at "
                + TensorBinding.position(this, index)
                + " that is not UTF-8; send UTF-8 text");
      }
    }

    private void decodeRaw() {
      ByteBuffer bytes = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
      if (datatype().equals("BYTES")) {
        texts = rawTexts(bytes);
        return;
      }
      int size = elementSize(datatype());
      if (bytes.remaining() % size != 0) {
        throw EvergreenException.invalid(
            label()
                + " has "
                + bytes.remaining()
                + " bytes of raw_input_contents, which is not a whole number of "
                + datatype()
                + " elements of "
                + size
                + " bytes");
      }
      numbers = new double[bytes.remaining() / size];
      for (int i = 0; i < numbers.length; i++) {
        numbers[i] = rawNumber(bytes, i);
      }
    }

    private double rawNumber(ByteBuffer bytes, int index) {
      return switch (datatype()) {
        case "BOOL" -> {
          byte value = bytes.get();
          if (value != 0 && value != 1) {
            throw EvergreenException.invalid(
                label()
                    + " (BOOL) has the byte "
                    + value
                    + " at "
                    + TensorBinding.position(this, index)
                    + "; send 1 for true and 0 for false");
          }
          yield value;
        }
        case "INT8" -> bytes.get();
        case "INT16" -> bytes.getShort();
        case "INT32" -> bytes.getInt();
        case "INT64" -> bytes.getLong();
        case "UINT8" -> Byte.toUnsignedInt(bytes.get());
        case "UINT16" -> Short.toUnsignedInt(bytes.getShort());
        case "UINT32" -> Integer.toUnsignedLong(bytes.getInt());
        case "UINT64" -> unsignedToDouble(bytes.getLong());
        case "FP16" -> Float.float16ToFloat(bytes.getShort());
        case "FP32" -> bytes.getFloat();
        case "FP64" -> bytes.getDouble();
        default -> throw new IllegalStateException("datatype " + datatype() + " is not numeric");
      };
    }

    private static int elementSize(String datatype) {
      return switch (datatype) {
        case "BOOL", "INT8", "UINT8" -> 1;
        case "INT16", "UINT16", "FP16" -> 2;
        case "INT32", "UINT32", "FP32" -> 4;
        default -> 8;
      };
    }

    /** Splits raw BYTES contents into elements, each a 4-byte little-endian length and data. */
    private String[] rawTexts(ByteBuffer bytes) {
      List<String> elements = new ArrayList<>();
      while (bytes.hasRemaining()) {
        int index = elements.size();
        if (bytes.remaining() < Integer.BYTES) {
          throw EvergreenException.invalid(
              label()
                  + " (BYTES) ends inside the 4-byte length of the element at data index "
                  + index
                  + " in raw_input_contents");
        }
        long length = Integer.toUnsignedLong(bytes.getInt());
        if (length > bytes.remaining()) {
          throw EvergreenException.invalid(
              label()
                  + " (BYTES) has an element of "
                  + length
                  + " bytes at data index "
                  + index
                  + " but only "
                  + bytes.remaining()
                  + " bytes of raw_input_contents remain");
        }
        ByteBuffer element = bytes.slice(bytes.position(), (int) length);
        bytes.position(bytes.position() + (int) length);
        elements.add(utf8(element, index));
      }
      return elements.toArray(String[]::new);
    }
  }
}
