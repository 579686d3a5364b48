package dev.evergreen.core.profile;

import dev.evergreen.api.data.ColumnType;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Binary form of a {@link DatasetProfile}, version {@value #VERSION}. Integers are unsigned LEB128
 * varints, doubles are 8 bytes big-endian IEEE 754, and strings are a varint byte length followed
 * by UTF-8. The layout:
 *
 * <pre>
 * "EGPF" version:u8 rows:varint columns:varint column*
 * column    = name:string type:u8 rows nulls nans
 *             [moments kll]            integer, double, date, timestamp
 *             hll frequent
 *             [hours:varint*24 days:varint*7]   date, timestamp
 * moments   = count:varint mean:f64 m2:f64 min:f64 max:f64
 * kll       = k:varint count:varint levels:varint (size:varint item:f64*size)*levels
 * hll       = 0:u8 precision:u8 registers:u8[3072], 6 bits each, packed big-endian
 *           | 1:u8 precision:u8 set:varint (indexGap:varint value:u8)*set
 * frequent  = capacity:varint total:varint maxError:varint size:varint (value count:varint)*size
 * value     = string                 string, boolean
 *           | f64                    double
 *           | zigzag varint          integer, date (days), timestamp (microseconds)
 * </pre>
 *
 * The type byte is the ordinal of {@link ColumnType}. The sparse HyperLogLog form lists only
 * non-zero registers, by the gap to the previous index, and is written when it is smaller.
 */
public final class ProfileCodec {
  public static final int VERSION = 1;

  private static final byte[] MAGIC = {'E', 'G', 'P', 'F'};
  private static final int DENSE = 0;
  private static final int SPARSE = 1;
  private static final int DENSE_BYTES = HyperLogLog.REGISTERS * 6 / 8;

  private ProfileCodec() {}

  public static byte[] encode(DatasetProfile profile) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.write(MAGIC);
      out.writeByte(VERSION);
      varint(out, profile.rows());
      varint(out, profile.columns().size());
      for (ColumnSketch column : profile.columns()) {
        writeColumn(out, column);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /** Returns the serialised size of one column, for size checks. */
  public static int encodedSize(ColumnSketch column) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      writeColumn(out, column);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.size();
  }

  /**
   * Reads a profile.
   *
   * @throws IllegalArgumentException when the bytes are not a profile of this version or are
   *     truncated or inconsistent
   */
  public static DatasetProfile decode(byte[] bytes) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      byte[] magic = new byte[MAGIC.length];
      in.readFully(magic);
      if (!Arrays.equals(magic, MAGIC)) {
        throw new IllegalArgumentException("not an Evergreen profile: the magic bytes differ");
      }
      int version = in.readUnsignedByte();
      if (version != VERSION) {
        throw new IllegalArgumentException(
            "profile format version " + version + " is not supported; this build reads " + VERSION);
      }
      long rows = readVarint(in);
      int count = (int) readVarint(in);
      List<ColumnSketch> columns = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        columns.add(readColumn(in));
      }
      if (in.read() != -1) {
        throw new IllegalArgumentException("corrupt profile: bytes left after the last column");
      }
      return new DatasetProfile(rows, columns);
    } catch (EOFException e) {
      throw new IllegalArgumentException("corrupt profile: truncated", e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void writeColumn(DataOutputStream out, ColumnSketch column) throws IOException {
    string(out, column.name());
    out.writeByte(column.type().ordinal());
    varint(out, column.rows());
    varint(out, column.nulls());
    varint(out, column.nans());

    if (ColumnSketch.hasQuantiles(column.type())) {
      writeMoments(out, column.moments());
      writeKll(out, column.quantiles());
    }
    writeHyperLogLog(out, column.distinct());
    writeFrequent(out, column);

    if (ColumnSketch.hasCalendar(column.type())) {
      for (long hour : column.hours()) {
        varint(out, hour);
      }
      for (long day : column.days()) {
        varint(out, day);
      }
    }
  }

  private static ColumnSketch readColumn(DataInputStream in) throws IOException {
    String name = readString(in);
    int ordinal = in.readUnsignedByte();
    if (ordinal >= ColumnType.values().length) {
      throw new IllegalArgumentException("corrupt profile: unknown column type " + ordinal);
    }
    ColumnType type = ColumnType.values()[ordinal];
    long rows = readVarint(in);
    long nulls = readVarint(in);
    long nans = readVarint(in);

    Moments moments = null;
    KllSketch kll = null;
    if (ColumnSketch.hasQuantiles(type)) {
      moments = readMoments(in);
      kll = readKll(in);
    }
    HyperLogLog hll = readHyperLogLog(in);
    FrequentItems frequent = readFrequent(in, type);

    long[] hours = null;
    long[] days = null;
    if (ColumnSketch.hasCalendar(type)) {
      hours = readCounts(in, 24);
      days = readCounts(in, 7);
    }
    return new ColumnSketch(
        name, type, rows, nulls, nans, moments, kll, hll, frequent, hours, days);
  }

  private static void writeMoments(DataOutputStream out, Moments moments) throws IOException {
    varint(out, moments.count());
    out.writeDouble(moments.count() == 0 ? 0 : moments.mean());
    out.writeDouble(moments.m2());
    out.writeDouble(moments.min());
    out.writeDouble(moments.max());
  }

  private static Moments readMoments(DataInputStream in) throws IOException {
    return new Moments(
        readVarint(in), in.readDouble(), in.readDouble(), in.readDouble(), in.readDouble());
  }

  private static void writeKll(DataOutputStream out, KllSketch kll) throws IOException {
    varint(out, kll.k());
    varint(out, kll.count());
    varint(out, kll.levelCount());
    for (int h = 0; h < kll.levelCount(); h++) {
      double[] items = kll.level(h);
      varint(out, items.length);
      for (double item : items) {
        out.writeDouble(item);
      }
    }
  }

  private static KllSketch readKll(DataInputStream in) throws IOException {
    int k = (int) readVarint(in);
    long count = readVarint(in);
    int levels = (int) readVarint(in);
    List<double[]> items = new ArrayList<>();
    for (int h = 0; h < levels; h++) {
      double[] level = new double[(int) readVarint(in)];
      for (int i = 0; i < level.length; i++) {
        level[i] = in.readDouble();
      }
      items.add(level);
    }
    return KllSketch.of(k, count, items);
  }

  private static void writeFrequent(DataOutputStream out, ColumnSketch column) throws IOException {
    FrequentItems frequent = column.frequent();
    varint(out, frequent.capacity());
    varint(out, frequent.total());
    varint(out, frequent.maxError());
    List<FrequentItems.Item> items = frequent.items();
    varint(out, items.size());
    for (FrequentItems.Item item : items) {
      switch (column.type()) {
        case STRING, BOOLEAN -> string(out, (String) item.value());
        case DOUBLE -> out.writeDouble((Double) item.value());
        case INTEGER, DATE, TIMESTAMP -> zigzag(out, (Long) item.value());
      }
      varint(out, item.count());
    }
  }

  private static FrequentItems readFrequent(DataInputStream in, ColumnType type)
      throws IOException {
    int capacity = (int) readVarint(in);
    long total = readVarint(in);
    long maxError = readVarint(in);
    int size = (int) readVarint(in);
    List<FrequentItems.Item> items = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      Object value =
          switch (type) {
            case STRING, BOOLEAN -> readString(in);
            case DOUBLE -> in.readDouble();
            case INTEGER, DATE, TIMESTAMP -> readZigzag(in);
          };
      items.add(new FrequentItems.Item(value, readVarint(in)));
    }
    return FrequentItems.of(capacity, total, maxError, items);
  }

  private static long[] readCounts(DataInputStream in, int size) throws IOException {
    long[] counts = new long[size];
    for (int i = 0; i < size; i++) {
      counts[i] = readVarint(in);
    }
    return counts;
  }

  private static void writeHyperLogLog(DataOutputStream out, HyperLogLog hll) throws IOException {
    byte[] registers = hll.registers();
    ByteArrayOutputStream sparse = new ByteArrayOutputStream();
    DataOutputStream sparseOut = new DataOutputStream(sparse);
    int set = 0;
    int previous = 0;
    for (int i = 0; i < registers.length; i++) {
      if (registers[i] != 0) {
        varint(sparseOut, i - previous);
        sparseOut.writeByte(registers[i]);
        previous = i;
        set++;
      }
    }
    if (sparse.size() + 2 < DENSE_BYTES) {
      out.writeByte(SPARSE);
      out.writeByte(HyperLogLog.PRECISION);
      varint(out, set);
      sparse.writeTo(out);
      return;
    }
    out.writeByte(DENSE);
    out.writeByte(HyperLogLog.PRECISION);
    // Four 6-bit registers fill three bytes.
    for (int i = 0; i < registers.length; i += 4) {
      int packed =
          (registers[i] << 18)
              | (registers[i + 1] << 12)
              | (registers[i + 2] << 6)
              | registers[i + 3];
      out.writeByte(packed >>> 16);
      out.writeByte(packed >>> 8);
      out.writeByte(packed);
    }
  }

  private static HyperLogLog readHyperLogLog(DataInputStream in) throws IOException {
    int encoding = in.readUnsignedByte();
    int precision = in.readUnsignedByte();
    if (precision != HyperLogLog.PRECISION) {
      throw new IllegalArgumentException(
          "corrupt profile: HyperLogLog precision "
              + precision
              + ", expected "
              + HyperLogLog.PRECISION);
    }
    byte[] registers = new byte[HyperLogLog.REGISTERS];
    if (encoding == SPARSE) {
      int set = (int) readVarint(in);
      int index = 0;
      for (int i = 0; i < set; i++) {
        index += (int) readVarint(in);
        if (index >= registers.length) {
          throw new IllegalArgumentException("corrupt profile: HyperLogLog index " + index);
        }
        registers[index] = in.readByte();
      }
    } else if (encoding == DENSE) {
      for (int i = 0; i < registers.length; i += 4) {
        int packed =
            (in.readUnsignedByte() << 16) | (in.readUnsignedByte() << 8) | in.readUnsignedByte();
        registers[i] = (byte) ((packed >>> 18) & 0x3F);
        registers[i + 1] = (byte) ((packed >>> 12) & 0x3F);
        registers[i + 2] = (byte) ((packed >>> 6) & 0x3F);
        registers[i + 3] = (byte) (packed & 0x3F);
      }
    } else {
      throw new IllegalArgumentException("corrupt profile: HyperLogLog encoding " + encoding);
    }
    return new HyperLogLog(registers);
  }

  private static void varint(DataOutputStream out, long value) throws IOException {
    if (value < 0) {
      throw new IllegalArgumentException("cannot write negative varint " + value);
    }
    unsignedVarint(out, value);
  }

  private static void unsignedVarint(DataOutputStream out, long value) throws IOException {
    while ((value & ~0x7FL) != 0) {
      out.writeByte((int) ((value & 0x7F) | 0x80));
      value >>>= 7;
    }
    out.writeByte((int) value);
  }

  private static long readVarint(DataInputStream in) throws IOException {
    long value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      int b = in.readUnsignedByte();
      value |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return value;
      }
    }
    throw new IllegalArgumentException("corrupt profile: varint longer than 10 bytes");
  }

  private static void zigzag(DataOutputStream out, long value) throws IOException {
    unsignedVarint(out, (value << 1) ^ (value >> 63));
  }

  private static long readZigzag(DataInputStream in) throws IOException {
    long encoded = readVarint(in);
    return (encoded >>> 1) ^ -(encoded & 1);
  }

  private static void string(DataOutputStream out, String value) throws IOException {
    byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
    varint(out, utf8.length);
    out.write(utf8);
  }

  private static String readString(DataInputStream in) throws IOException {
    long length = readVarint(in);
    if (length > in.available()) {
      throw new IllegalArgumentException("corrupt profile: string of " + length + " bytes");
    }
    byte[] utf8 = new byte[(int) length];
    in.readFully(utf8);
    return new String(utf8, StandardCharsets.UTF_8);
  }
}
