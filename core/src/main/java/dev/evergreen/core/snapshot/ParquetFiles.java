package dev.evergreen.core.snapshot;

import dev.evergreen.api.EvergreenException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;

/**
 * Checks the frame of a Parquet file before DuckDB reads it, so that an empty, foreign or cut-off
 * file gets a message that names the file and the problem instead of a DuckDB-internal one.
 *
 * <p>A Parquet file starts with the 4 magic bytes {@code PAR1} and ends with the footer: the file
 * metadata, its length as a 4-byte little-endian integer, and {@code PAR1} again, as
 * https://parquet.apache.org/docs/file-format describes. So the smallest possible file has 12
 * bytes. A file with an encrypted footer uses {@code PARE} in place of {@code PAR1}.
 */
final class ParquetFiles {
  private static final byte[] MAGIC = "PAR1".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] ENCRYPTED_MAGIC = "PARE".getBytes(StandardCharsets.US_ASCII);

  /** Bytes of the leading magic, the footer length and the trailing magic. */
  static final int FRAME_BYTES = 12;

  /** First line of DuckDB's JDBC message when a statement failed before it ran. */
  private static final String DRIVER_PHRASE = "unsuccessful or closed pending query result";

  private static final String NEXT_STEP =
      " Check that the export that wrote it finished, then ingest it again.";

  private ParquetFiles() {}

  /**
   * Checks that {@code file} is framed as a Parquet file: not empty, {@code PAR1} at its start and
   * end, and a footer that fits in the file.
   *
   * @throws EvergreenException INVALID_INPUT naming the file, what is wrong and the next step
   */
  static void checkFrame(Path file) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = channel.size();
      if (size == 0) {
        throw EvergreenException.invalid(file + ": the file is empty (0 bytes)." + NEXT_STEP);
      }
      byte[] head = read(channel, 0, (int) Math.min(MAGIC.length, size));
      if (Arrays.equals(head, ENCRYPTED_MAGIC)) {
        throw EvergreenException.invalid(
            file
                + ": the Parquet file has an encrypted footer (magic bytes PARE), which Evergreen"
                + " cannot read. Write the batch without Parquet encryption.");
      }
      if (!Arrays.equals(head, MAGIC)) {
        throw notParquet(file);
      }
      if (size < FRAME_BYTES) {
        throw truncated(file, size, "it is shorter than the 12 bytes of the smallest Parquet file");
      }
      ByteBuffer tail = ByteBuffer.wrap(read(channel, size - 8, 8)).order(ByteOrder.LITTLE_ENDIAN);
      byte[] trailing = Arrays.copyOfRange(tail.array(), 4, 8);
      if (!Arrays.equals(trailing, MAGIC)) {
        throw truncated(file, size, "it does not end with the magic bytes PAR1 of the footer");
      }
      long footer = Integer.toUnsignedLong(tail.getInt(0));
      if (footer > size - FRAME_BYTES) {
        throw truncated(
            file,
            size,
            "its footer claims "
                + footer
                + " bytes of metadata, more than the file holds between its magic bytes");
      }
    }
  }

  /**
   * Returns the part of a DuckDB error message that describes the file. When DuckDB 1.5's JDBC
   * driver fails a statement early, its first line is a driver phrase ("Attempting to execute an
   * unsuccessful or closed pending query result") and the reader's own error follows on a line that
   * starts with {@code Error: }.
   */
  static String reason(String message) {
    if (message == null) {
      return "unknown error";
    }
    List<String> lines = message.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    if (lines.isEmpty()) {
      return "unknown error";
    }
    if (!lines.get(0).contains(DRIVER_PHRASE)) {
      return lines.get(0);
    }
    for (String line : lines.subList(1, lines.size())) {
      if (line.startsWith("Error: ")) {
        String cause = line.substring("Error: ".length()).strip();
        return "its metadata cannot be decoded (" + cause.replaceAll("[:\\s]+$", "") + ")";
      }
    }
    return "its metadata cannot be decoded";
  }

  private static byte[] read(FileChannel channel, long position, int length) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(length);
    while (buffer.hasRemaining()) {
      if (channel.read(buffer, position + buffer.position()) < 0) {
        break;
      }
    }
    return Arrays.copyOf(buffer.array(), buffer.position());
  }

  private static EvergreenException notParquet(Path file) {
    return EvergreenException.invalid(
        file
            + ": not a Parquet file: it does not start with the magic bytes PAR1."
            + " Check that the file was written as Parquet, or set source.format to csv if it is a"
            + " CSV file.");
  }

  private static EvergreenException truncated(Path file, long size, String problem) {
    return EvergreenException.invalid(
        file
            + ": the Parquet file is truncated or damaged ("
            + size
            + " bytes): "
            + problem
            + "."
            + NEXT_STEP);
  }
}
