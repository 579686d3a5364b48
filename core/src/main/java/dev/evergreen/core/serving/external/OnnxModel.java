package dev.evergreen.core.serving.external;

import ai.onnxruntime.MapInfo;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxMap;
import ai.onnxruntime.OnnxSequence;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.SequenceInfo;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.ValueInfo;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.TensorSpec;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * An ONNX model scored with ONNX Runtime. One session is opened per loaded version, with one
 * intra-op and one inter-op thread, so concurrent requests each use their own calling thread.
 *
 * <p>The served output is a tensor, or a sequence of maps from class label to probability as the
 * ZipMap operator of skl2onnx classifiers returns it. Map values are ordered by ascending key, so
 * column i is the i-th smallest class label.
 */
final class OnnxModel extends ExternalModel {
  @Override
  public String platform() {
    return "onnxruntime_onnx";
  }

  /**
   * Returns false, because ONNX Runtime passes a missing value into the graph as NaN, and a graph
   * without an imputer, such as a scikit-learn export of a bare estimator, then returns NaN.
   */
  @Override
  public boolean scoresMissingValues() {
    return false;
  }

  private static final Cleaner CLEANER = Cleaner.create();

  /** ONNX element type of each signature datatype. */
  private static final Map<String, OnnxJavaType> ELEMENT_TYPES =
      Map.of(
          "FP32", OnnxJavaType.FLOAT,
          "FP64", OnnxJavaType.DOUBLE,
          "INT64", OnnxJavaType.INT64,
          "INT32", OnnxJavaType.INT32,
          "BOOL", OnnxJavaType.BOOL,
          "BYTES", OnnxJavaType.STRING);

  private final OrtEnvironment environment;
  private final OrtSession session;
  private final boolean outputIsMaps;

  private OnnxModel(
      String model,
      int version,
      ExternalSignature declared,
      CheckSet checkSet,
      OrtEnvironment environment,
      OrtSession session,
      boolean outputIsMaps) {
    super(model, version, declared, checkSet);
    this.environment = environment;
    this.session = session;
    this.outputIsMaps = outputIsMaps;
  }

  /**
   * Opens a session on an ONNX model and checks the declared signature against the model's inputs
   * and output.
   *
   * @throws EvergreenException of kind INVALID_INPUT when ONNX Runtime cannot open the model or the
   *     signature does not match it, naming the input or output and both values
   */
  static OnnxModel open(
      String model, int version, byte[] file, ExternalSignature declared, CheckSet checkSet) {
    OrtEnvironment environment;
    try {
      environment = OrtEnvironment.getEnvironment();
    } catch (LinkageError e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "cannot load the ONNX Runtime native library on "
              + System.getProperty("os.name")
              + " "
              + System.getProperty("os.arch")
              + ": "
              + e,
          e);
    }
    OrtSession session;
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setIntraOpNumThreads(1);
      options.setInterOpNumThreads(1);
      options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      session = environment.createSession(file, options);
    } catch (OrtException e) {
      throw EvergreenException.invalid(
          "ONNX Runtime cannot open the model file: " + e.getMessage());
    }
    try {
      checkInputs(declared, session.getInputInfo());
      boolean maps = checkOutput(declared, session.getOutputInfo());
      OnnxModel loaded =
          new OnnxModel(model, version, declared, checkSet, environment, session, maps);
      // Releases the native session once the deployment manager drops this version.
      CLEANER.register(loaded, new SessionCloser(session));
      return loaded;
    } catch (OrtException | RuntimeException e) {
      closeQuietly(session);
      if (e instanceof EvergreenException evergreen) {
        throw evergreen;
      }
      throw EvergreenException.invalid(
          "ONNX Runtime cannot describe the model's inputs and outputs: " + e.getMessage());
    }
  }

  private static void checkInputs(ExternalSignature declared, Map<String, NodeInfo> actual) {
    Set<String> declaredNames = new TreeSet<>();
    declared.inputs().forEach(input -> declaredNames.add(input.name()));
    if (!declaredNames.equals(new TreeSet<>(actual.keySet()))) {
      throw EvergreenException.invalid(
          "the signature declares inputs "
              + declaredNames
              + " but the ONNX model has inputs "
              + new TreeSet<>(actual.keySet())
              + "; declare every model input by its name");
    }
    for (TensorSpec input : declared.inputs()) {
      ValueInfo info = actual.get(input.name()).getInfo();
      if (!(info instanceof TensorInfo tensor)) {
        throw EvergreenException.invalid(
            "input '" + input.name() + "' of the ONNX model is " + info + ", not a tensor");
      }
      checkTensor("input", input, tensor);
    }
  }

  /** Returns true when the output is a sequence of maps, false when it is a tensor. */
  private static boolean checkOutput(ExternalSignature declared, Map<String, NodeInfo> actual) {
    TensorSpec output = declared.output();
    NodeInfo node = actual.get(output.name());
    if (node == null) {
      throw EvergreenException.invalid(
          "output '"
              + output.name()
              + "' is declared but the ONNX model has outputs "
              + new TreeSet<>(actual.keySet()));
    }
    ValueInfo info = node.getInfo();
    if (info instanceof TensorInfo tensor) {
      checkTensor("output", output, tensor);
      return false;
    }
    if (info instanceof SequenceInfo sequence && sequence.isSequenceOfMaps()) {
      MapInfo map = sequence.mapInfo;
      OnnxJavaType expected = ELEMENT_TYPES.get(output.datatype());
      if (map.valueType != expected) {
        throw EvergreenException.invalid(
            "output '"
                + output.name()
                + "' is declared "
                + output.datatype()
                + " but the ONNX model returns maps with "
                + map.valueType
                + " values");
      }
      if (output.shape().size() != 2) {
        throw EvergreenException.invalid(
            "output '"
                + output.name()
                + "' is a sequence of maps in the ONNX model, so declare its shape as [-1, k]"
                + " with k the number of classes, not "
                + output.shape());
      }
      return true;
    }
    throw EvergreenException.invalid(
        "output '"
            + output.name()
            + "' of the ONNX model is "
            + info
            + "; Evergreen serves tensors and sequences of maps (ZipMap)");
  }

  private static void checkTensor(String role, TensorSpec spec, TensorInfo tensor) {
    OnnxJavaType expected = ELEMENT_TYPES.get(spec.datatype());
    if (tensor.type != expected) {
      throw EvergreenException.invalid(
          role
              + " '"
              + spec.name()
              + "' is declared "
              + spec.datatype()
              + " ("
              + expected
              + ") but the ONNX model has element type "
              + tensor.type);
    }
    long[] shape = tensor.getShape();
    boolean matches = shape.length == spec.shape().size() && shape.length > 0 && shape[0] < 0;
    for (int i = 1; matches && i < shape.length; i++) {
      // A negative size is a symbolic dimension, which accepts any declared size.
      matches = shape[i] < 0 || shape[i] == spec.shape().get(i);
    }
    if (!matches) {
      throw EvergreenException.invalid(
          role
              + " '"
              + spec.name()
              + "' is declared with shape "
              + spec.shape()
              + " but the ONNX model has shape "
              + Arrays.toString(shape)
              + " (-1 is a symbolic dimension); the first dimension must be the symbolic batch"
              + " dimension and the others must match");
    }
  }

  @Override
  public double[] predict(InputBatch batch) {
    int rows = batch.rows();
    Map<String, OnnxTensor> tensors = new HashMap<>();
    try {
      for (TensorSpec input : declared.inputs()) {
        tensors.put(input.name(), tensor(batch, input));
      }
      String outputName = declared.output().name();
      try (OrtSession.Result result = session.run(tensors, Set.of(outputName))) {
        OnnxValue value =
            result
                .get(outputName)
                .orElseThrow(() -> new IllegalStateException("no output " + outputName));
        int width = (int) ExternalSignature.valuesPerRow(declared.output());
        double[] values = outputIsMaps ? fromMaps(value, rows, width) : fromTensor(value);
        if (values.length != (long) rows * width) {
          throw new EvergreenException(
              ErrorKind.INTERNAL,
              "ONNX model returned "
                  + values.length
                  + " values in output '"
                  + outputName
                  + "' for "
                  + rows
                  + " rows of "
                  + width);
        }
        return selectColumn(values, rows);
      }
    } catch (OrtException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "ONNX Runtime failed to score model '"
              + model
              + "' version "
              + version
              + ": "
              + e.getMessage(),
          e);
    } finally {
      tensors.values().forEach(OnnxTensor::close);
      // Keeps the Cleaner from closing the session while this call still uses it.
      Reference.reachabilityFence(this);
    }
  }

  private OnnxTensor tensor(InputBatch batch, TensorSpec spec) throws OrtException {
    long[] shape = new long[spec.shape().size()];
    shape[0] = batch.rows();
    for (int i = 1; i < shape.length; i++) {
      shape[i] = spec.shape().get(i);
    }
    if ("BYTES".equals(spec.datatype())) {
      String[] values = text(batch, spec);
      for (int i = 0; i < values.length; i++) {
        if (values[i] == null) {
          throw EvergreenException.invalid(
              "input '"
                  + spec.name()
                  + "' has a missing value at element "
                  + i
                  + "; ONNX string tensors cannot contain missing values");
        }
      }
      return OnnxTensor.createTensor(environment, values, shape);
    }
    double[] values = numeric(batch, spec);
    return switch (spec.datatype()) {
      case "FP32" -> {
        float[] floats = new float[values.length];
        for (int i = 0; i < values.length; i++) {
          floats[i] = (float) values[i];
          if (Float.isInfinite(floats[i])) {
            // A finite double beyond the FP32 range would reach the model as infinity.
            throw EvergreenException.invalid(
                "input '"
                    + spec.name()
                    + "' (FP32) has the value "
                    + values[i]
                    + " at element "
                    + i
                    + ", outside the FP32 range; send a value from -3.4028235E38 to"
                    + " 3.4028235E38");
          }
        }
        yield OnnxTensor.createTensor(environment, FloatBuffer.wrap(floats), shape);
      }
      case "FP64" -> OnnxTensor.createTensor(environment, DoubleBuffer.wrap(values), shape);
      case "INT64" -> {
        long[] longs = new long[values.length];
        long[] exact = batch.integers().get(spec.name());
        for (int i = 0; i < values.length; i++) {
          // Integers beyond 2^53 reach the model as sent, not as their rounded doubles.
          longs[i] =
              exact != null && (double) exact[i] == values[i]
                  ? exact[i]
                  : integral(spec, values, i, Long.MIN_VALUE, Long.MAX_VALUE);
        }
        yield OnnxTensor.createTensor(environment, LongBuffer.wrap(longs), shape);
      }
      case "INT32" -> {
        int[] ints = new int[values.length];
        for (int i = 0; i < values.length; i++) {
          ints[i] = (int) integral(spec, values, i, Integer.MIN_VALUE, Integer.MAX_VALUE);
        }
        yield OnnxTensor.createTensor(environment, IntBuffer.wrap(ints), shape);
      }
      case "BOOL" -> {
        byte[] bools = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
          bools[i] = (byte) integral(spec, values, i, 0, 1);
        }
        yield OnnxTensor.createTensor(
            environment, ByteBuffer.wrap(bools), shape, OnnxJavaType.BOOL);
      }
      default -> throw new IllegalStateException("unchecked datatype " + spec.datatype());
    };
  }

  /** Returns values[i] as a long, rejecting missing, fractional and out-of-range values. */
  private static long integral(TensorSpec spec, double[] values, int i, long min, long max) {
    double value = values[i];
    String expected =
        spec.datatype().equals("BOOL")
            ? "send true or false (or 1 or 0)"
            : "send an integer from " + min + " to " + max;
    if (Double.isNaN(value)) {
      throw EvergreenException.invalid(
          "input '"
              + spec.name()
              + "' ("
              + spec.datatype()
              + ") has a missing value at element "
              + i
              + ", which integer and BOOL ONNX inputs cannot take; "
              + expected);
    }
    // (double) Long.MAX_VALUE is 2^63, one above the maximum, so the upper bound is exclusive.
    if (value != Math.rint(value) || value < min || value >= max + 1.0) {
      throw EvergreenException.invalid(
          "input '"
              + spec.name()
              + "' ("
              + spec.datatype()
              + ") has the value "
              + written(value)
              + " at element "
              + i
              + "; "
              + expected);
    }
    return (long) value;
  }

  /** Returns a number as a request would write it: whole numbers without a fraction. */
  private static String written(double value) {
    return value == Math.rint(value) && Math.abs(value) < 1e15
        ? Long.toString((long) value)
        : Double.toString(value);
  }

  private static double[] fromTensor(OnnxValue value) {
    if (!(value instanceof OnnxTensor tensor)) {
      throw new EvergreenException(
          ErrorKind.INTERNAL, "ONNX model returned " + value.getInfo() + " instead of a tensor");
    }
    OnnxJavaType type = tensor.getInfo().type;
    switch (type) {
      case FLOAT -> {
        FloatBuffer buffer = tensor.getFloatBuffer();
        double[] out = new double[buffer.remaining()];
        for (int i = 0; i < out.length; i++) {
          out[i] = buffer.get(i);
        }
        return out;
      }
      case DOUBLE -> {
        DoubleBuffer buffer = tensor.getDoubleBuffer();
        double[] out = new double[buffer.remaining()];
        buffer.get(out);
        return out;
      }
      case INT64 -> {
        LongBuffer buffer = tensor.getLongBuffer();
        double[] out = new double[buffer.remaining()];
        for (int i = 0; i < out.length; i++) {
          out[i] = buffer.get(i);
        }
        return out;
      }
      case INT32 -> {
        IntBuffer buffer = tensor.getIntBuffer();
        double[] out = new double[buffer.remaining()];
        for (int i = 0; i < out.length; i++) {
          out[i] = buffer.get(i);
        }
        return out;
      }
      default ->
          throw new EvergreenException(
              ErrorKind.INTERNAL, "ONNX model returned a tensor of unsupported type " + type);
    }
  }

  /** Flattens one map per row into values ordered by ascending key. */
  private static double[] fromMaps(OnnxValue value, int rows, int width) throws OrtException {
    if (!(value instanceof OnnxSequence sequence)) {
      throw new EvergreenException(
          ErrorKind.INTERNAL, "ONNX model returned " + value.getInfo() + " instead of maps");
    }
    List<? extends OnnxValue> maps = sequence.getValue();
    List<Double> out = new ArrayList<>(rows * width);
    for (int row = 0; row < maps.size(); row++) {
      Map<?, ?> map = ((OnnxMap) maps.get(row)).getValue();
      if (map.size() != width) {
        throw new EvergreenException(
            ErrorKind.INTERNAL,
            "ONNX model returned a map of "
                + map.size()
                + " classes for row "
                + row
                + " but the signature declares "
                + width);
      }
      new TreeMap<>(map).values().forEach(v -> out.add(((Number) v).doubleValue()));
    }
    return out.stream().mapToDouble(Double::doubleValue).toArray();
  }

  private static void closeQuietly(OrtSession session) {
    try {
      session.close();
    } catch (OrtException e) {
      // The session failed its checks and is discarded; a failed close leaks only native memory.
    }
  }

  @Override
  public String toString() {
    return "OnnxModel[" + model + " version " + version + "]";
  }

  /** Closes a session; holds no reference to the model, so the model can become unreachable. */
  private record SessionCloser(OrtSession session) implements Runnable {
    @Override
    public void run() {
      closeQuietly(session);
    }
  }
}
