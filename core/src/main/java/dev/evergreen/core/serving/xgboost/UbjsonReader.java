package dev.evergreen.core.serving.xgboost;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.EvergreenException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reader for Universal Binary JSON (UBJSON draft 12, https://ubjson.org), the binary form of the
 * model that XGBoost writes for {@code save_model("m.ubj")} and {@code toByteArray("ubj")}.
 *
 * <p>Values become Jackson nodes so that JSON and UBJSON models share one extraction path. Float32
 * values ({@code d}) become {@code FloatNode}s, so no precision is lost. Numbers are big-endian as
 * the specification requires. Both untyped containers and optimized containers ({@code $} type and
 * {@code #} count) are read.
 */
final class UbjsonReader {
  /** Maximum container nesting. XGBoost models nest about 8 levels deep. */
  private static final int MAX_DEPTH = 64;

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private final byte[] data;
  private int position;

  private UbjsonReader(byte[] data) {
    this.data = data;
  }

  /** Reads one UBJSON value that spans the whole input. */
  static JsonNode read(byte[] data) {
    UbjsonReader reader = new UbjsonReader(data);
    JsonNode value = reader.readValue(reader.readMarkerSkippingNoOp(), 0);
    reader.skipNoOps();
    if (reader.position != data.length) {
      throw reader.invalid(
          "unexpected data after the top-level value ("
              + (data.length - reader.position)
              + " bytes left)");
    }
    return value;
  }

  private JsonNode readValue(byte marker, int depth) {
    return switch (marker) {
      case 'Z' -> NODES.nullNode();
      case 'T' -> NODES.booleanNode(true);
      case 'F' -> NODES.booleanNode(false);
      case 'i' -> NODES.numberNode(readInt8());
      case 'U' -> NODES.numberNode(readUint8());
      case 'I' -> NODES.numberNode(readInt16());
      case 'l' -> NODES.numberNode(readInt32());
      case 'L' -> NODES.numberNode(readInt64());
      case 'd' -> NODES.numberNode(Float.intBitsToFloat(readInt32()));
      case 'D' -> NODES.numberNode(Double.longBitsToDouble(readInt64()));
      case 'H' -> readHighPrecision();
      case 'C' -> NODES.textNode(String.valueOf((char) readUint8()));
      case 'S' -> NODES.textNode(readString());
      case '[' -> readArray(depth + 1);
      case '{' -> readObject(depth + 1);
      default -> throw invalidMarker(marker, position - 1);
    };
  }

  private ArrayNode readArray(int depth) {
    checkDepth(depth);
    ArrayNode array = NODES.arrayNode();
    byte type = readContainerType();
    int count = readContainerCount(type);
    if (count >= 0) {
      for (int i = 0; i < count; i++) {
        array.add(readValue(type != 0 ? type : readMarkerSkippingNoOp(), depth));
      }
      return array;
    }
    while (true) {
      byte marker = readMarkerSkippingNoOp();
      if (marker == ']') {
        return array;
      }
      array.add(readValue(marker, depth));
    }
  }

  private ObjectNode readObject(int depth) {
    checkDepth(depth);
    ObjectNode object = NODES.objectNode();
    byte type = readContainerType();
    int count = readContainerCount(type);
    if (count >= 0) {
      for (int i = 0; i < count; i++) {
        String key = readKey(readMarkerSkippingNoOp());
        object.set(key, readValue(type != 0 ? type : readMarkerSkippingNoOp(), depth));
      }
      return object;
    }
    while (true) {
      byte marker = readMarkerSkippingNoOp();
      if (marker == '}') {
        return object;
      }
      String key = readKey(marker);
      object.set(key, readValue(readMarkerSkippingNoOp(), depth));
    }
  }

  /** Reads the {@code $} type of an optimized container, or returns 0 when there is none. */
  private byte readContainerType() {
    if (peek() != '$') {
      return 0;
    }
    position++;
    int typePosition = position;
    byte type = readByte();
    if ("ZTFiUIlLdDHCS[{".indexOf(type) < 0) {
      throw invalidMarker(type, typePosition);
    }
    if (peek() != '#') {
      throw invalid("a container type '$' must be followed by a count '#'");
    }
    return type;
  }

  /** Reads the {@code #} count of an optimized container, or returns -1 when there is none. */
  private int readContainerCount(byte type) {
    if (peek() != '#') {
      return -1;
    }
    position++;
    int countPosition = position;
    long count = readLength(readByte());
    // Every element takes at least one byte unless the type makes it empty, so a count above the
    // bytes left can only come from a damaged file and must not size an allocation.
    boolean emptyElements = type == 'Z' || type == 'T' || type == 'F';
    if (count > data.length - position && !(emptyElements && count <= 1 << 20)) {
      position = countPosition;
      throw invalid(
          "container count "
              + count
              + " exceeds the "
              + remaining()
              + " bytes left (truncated file?)");
    }
    return (int) count;
  }

  private String readKey(byte lengthMarker) {
    return decodeUtf8(readLength(lengthMarker));
  }

  private String readString() {
    return decodeUtf8(readLength(readMarkerSkippingNoOp()));
  }

  private JsonNode readHighPrecision() {
    int start = position;
    String text = readString();
    try {
      return NODES.numberNode(new BigDecimal(text));
    } catch (NumberFormatException e) {
      position = start;
      throw invalid("high-precision number '" + text + "' is not a decimal number");
    }
  }

  private long readLength(byte marker) {
    int markerPosition = position - 1;
    long length =
        switch (marker) {
          case 'i' -> readInt8();
          case 'U' -> readUint8();
          case 'I' -> readInt16();
          case 'l' -> readInt32();
          case 'L' -> readInt64();
          default -> {
            position = markerPosition;
            throw invalid(
                "expected an integer type marker (i, U, I, l, L) for a length, found "
                    + describe(marker));
          }
        };
    if (length < 0 || length > Integer.MAX_VALUE) {
      position = markerPosition;
      throw invalid("length " + length + " is negative or too large");
    }
    return length;
  }

  private String decodeUtf8(long length) {
    if (length > remaining()) {
      throw invalid(
          "string of "
              + length
              + " bytes exceeds the "
              + remaining()
              + " bytes left (truncated file?)");
    }
    int start = position;
    position += (int) length;
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(data, start, (int) length))
          .toString();
    } catch (CharacterCodingException e) {
      position = start;
      throw invalid("string is not valid UTF-8");
    }
  }

  private byte readMarkerSkippingNoOp() {
    skipNoOps();
    return readByte();
  }

  private void skipNoOps() {
    while (position < data.length && data[position] == 'N') {
      position++;
    }
  }

  private byte peek() {
    require(1);
    return data[position];
  }

  private byte readByte() {
    require(1);
    return data[position++];
  }

  private int readInt8() {
    return readByte();
  }

  private int readUint8() {
    return readByte() & 0xFF;
  }

  private int readInt16() {
    require(2);
    int value = (data[position] << 8) | (data[position + 1] & 0xFF);
    position += 2;
    return (short) value;
  }

  private int readInt32() {
    require(4);
    int value = 0;
    for (int i = 0; i < 4; i++) {
      value = (value << 8) | (data[position + i] & 0xFF);
    }
    position += 4;
    return value;
  }

  private long readInt64() {
    require(8);
    long value = 0;
    for (int i = 0; i < 8; i++) {
      value = (value << 8) | (data[position + i] & 0xFF);
    }
    position += 8;
    return value;
  }

  private void require(int bytes) {
    if (remaining() < bytes) {
      throw invalid("the data ends early (truncated file?): " + bytes + " more bytes expected");
    }
  }

  private int remaining() {
    return data.length - position;
  }

  private void checkDepth(int depth) {
    if (depth > MAX_DEPTH) {
      throw invalid("containers nest deeper than " + MAX_DEPTH + " levels");
    }
  }

  private EvergreenException invalidMarker(byte marker, int markerPosition) {
    position = markerPosition;
    return invalid("unknown type marker " + describe(marker));
  }

  private static String describe(byte marker) {
    return marker >= 0x20 && marker < 0x7F
        ? "'" + (char) marker + "' (0x" + Integer.toHexString(marker & 0xFF) + ")"
        : "0x" + Integer.toHexString(marker & 0xFF);
  }

  private EvergreenException invalid(String problem) {
    return EvergreenException.invalid(
        "XGBoost UBJSON model is invalid at byte offset "
            + position
            + ": "
            + problem
            + ". Save the model again with save_model(\"model.ubj\") or"
            + " Booster.toByteArray(\"ubj\").");
  }
}
