package dev.evergreen.core.snapshot;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.CsvSpec;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Reads what DuckDB's CSV reader cannot report by itself: the header line, the line on which a data
 * row starts, and the first byte that is not valid UTF-8. Quoting follows RFC 4180: fields may be
 * enclosed in {@code "}, and a {@code "} inside a quoted field is written twice.
 */
final class CsvFiles {
  /** Maximum length of a CSV line in bytes. DuckDB rejects longer lines. */
  static final int MAX_LINE_BYTES = 2_000_000;

  private static final byte QUOTE = '"';

  private CsvFiles() {}

  /** Returns DuckDB's name for the spec's encoding: {@code utf-8} or {@code latin-1}. */
  static String duckDbEncoding(CsvSpec csv) {
    String encoding = csv.encoding().toLowerCase(Locale.ROOT).replace("_", "-");
    return switch (encoding) {
      case "utf-8", "utf8" -> "utf-8";
      case "latin-1", "latin1", "iso-8859-1" -> "latin-1";
      default ->
          throw EvergreenException.invalid(
              "source.csv.encoding '"
                  + csv.encoding()
                  + "' is not supported; use utf-8 or latin-1");
    };
  }

  static Charset charset(CsvSpec csv) {
    return duckDbEncoding(csv).equals("utf-8")
        ? StandardCharsets.UTF_8
        : StandardCharsets.ISO_8859_1;
  }

  /**
   * Returns the column names: the fields of the first line, or {@code column0}, {@code column1},
   * ... when the file has no header line. Rejects an empty file, an empty or repeated name, and a
   * first line that cannot be decoded.
   */
  static List<String> columnNames(Path file, CsvSpec csv) throws IOException {
    if (Files.size(file) == 0) {
      throw EvergreenException.invalid(
          file
              + ": the file is empty (0 bytes). Check that the export that wrote it finished, then"
              + " ingest it again.");
    }
    byte[] line = firstLine(file);
    String text;
    try {
      text = decoder(charset(csv)).decode(ByteBuffer.wrap(line)).toString();
    } catch (CharacterCodingException e) {
      throw EvergreenException.invalid(
          file
              + ":1: the line is not valid "
              + csv.encoding()
              + ". Save the file as UTF-8, or set source.csv.encoding: latin-1 in the pipeline.");
    }
    if (text.startsWith("\uFEFF")) {
      text = text.substring(1);
    }
    if (text.endsWith("\r")) {
      text = text.substring(0, text.length() - 1);
    }
    List<String> fields = splitFields(text, csv.delimiter().charAt(0));
    if (!csv.header()) {
      List<String> names = new ArrayList<>();
      for (int i = 0; i < fields.size(); i++) {
        names.add("column" + i);
      }
      return names;
    }
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < fields.size(); i++) {
      String name = fields.get(i);
      if (name.isEmpty()) {
        throw EvergreenException.invalid(
            file
                + ":1: header field "
                + (i + 1)
                + " is empty. Give every column a name in the header line.");
      }
      // DuckDB compares identifiers without regard to case, so City and city are one name.
      if (!seen.add(name.toLowerCase(Locale.ROOT))) {
        throw EvergreenException.invalid(
            file
                + ":1: the header names column '"
                + name
                + "' twice (names that differ only in case count as the same). Rename one of"
                + " them so that every column name is unique.");
      }
    }
    return fields;
  }

  /**
   * Returns the 1-based line on which data row {@code row} (1-based, header not counted) starts.
   * Empty lines are skipped for files of more than one column, as DuckDB 1.5 skips them.
   */
  static long lineOfRow(Path file, CsvSpec csv, long row, int columnCount) {
    long targetRecord = row + (csv.header() ? 1 : 0);
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      long line = 1;
      long record = 0;
      long recordStartLine = 1;
      boolean inQuotes = false;
      boolean recordEmpty = true;
      int b;
      while ((b = in.read()) != -1) {
        if (b == QUOTE) {
          inQuotes = !inQuotes;
          recordEmpty = false;
        } else if (b == '\n') {
          if (!inQuotes) {
            if (!recordEmpty || columnCount == 1) {
              record++;
              if (record == targetRecord) {
                return recordStartLine;
              }
            }
            recordEmpty = true;
            recordStartLine = line + 1;
          }
          line++;
        } else if (b != '\r') {
          recordEmpty = false;
        }
      }
      return recordEmpty ? -1 : recordStartLine;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Returns the 1-based physical line, as an editor numbers it, on which line {@code logicalLine}
   * of DuckDB's CSV reader starts. DuckDB 1.5.6 numbers the lines of its errors by the line breaks
   * outside quoted fields, empty lines and the header line included, so every line break inside a
   * quoted field before the error shifts its number by one. Returns {@code logicalLine} when the
   * file has fewer lines.
   */
  static long physicalLine(Path file, long logicalLine) {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      long physical = 1;
      long logical = 1;
      boolean inQuotes = false;
      int b;
      while (logical < logicalLine && (b = in.read()) != -1) {
        if (b == QUOTE) {
          inQuotes = !inQuotes;
        } else if (b == '\n') {
          physical++;
          if (!inQuotes) {
            logical++;
          }
        }
      }
      return logical == logicalLine ? physical : logicalLine;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Describes the first byte sequence that is not valid UTF-8, such as {@code byte 0xE9 at line 2},
   * or returns null when the whole file is valid.
   */
  static String firstInvalidUtf8(Path file) throws IOException {
    CharsetDecoder decoder = decoder(StandardCharsets.UTF_8);
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      long lineNumber = 1;
      int b;
      while (true) {
        b = in.read();
        if (b == '\n' || b == -1) {
          byte[] bytes = line.toByteArray();
          String problem = invalidUtf8In(bytes, decoder);
          if (problem != null) {
            return problem + " at line " + lineNumber;
          }
          if (b == -1) {
            return null;
          }
          line.reset();
          lineNumber++;
        } else {
          line.write(b);
        }
      }
    }
  }

  private static String invalidUtf8In(byte[] bytes, CharsetDecoder decoder) {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    CoderResult result = decoder.reset().decode(in, CharBuffer.allocate(bytes.length + 1), true);
    if (!result.isError()) {
      return null;
    }
    byte[] offending = new byte[Math.min(result.length(), bytes.length - in.position())];
    System.arraycopy(bytes, in.position(), offending, 0, offending.length);
    return (offending.length == 1 ? "byte 0x" : "bytes 0x")
        + HexFormat.of().withUpperCase().formatHex(offending);
  }

  private static CharsetDecoder decoder(Charset charset) {
    return charset
        .newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
  }

  /** Returns the bytes of the first record, which may span lines inside quotes. */
  private static byte[] firstLine(Path file) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    boolean inQuotes = false;
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      int b;
      while ((b = in.read()) != -1) {
        if (b == QUOTE) {
          inQuotes = !inQuotes;
        } else if (b == '\n' && !inQuotes) {
          break;
        }
        line.write(b);
        if (line.size() > MAX_LINE_BYTES) {
          throw EvergreenException.invalid(
              file
                  + ":1: the first line is longer than "
                  + MAX_LINE_BYTES
                  + " bytes. Check that the file is a CSV file and that every quote is closed.");
        }
      }
    }
    if (inQuotes) {
      throw EvergreenException.invalid(
          file
              + ":1: the header line has a quoted field that is never closed. Add the closing"
              + " quote (\").");
    }
    return line.toByteArray();
  }

  /** A 1-based line and character column in a file. */
  record Position(long line, long column) {}

  /**
   * Finds where the record that starts on {@code line} breaks the CSV structure: the first quote
   * that is never closed, else the first character of field {@code expectedFields + 1}, else (too
   * few fields) the end of the record. Returns null when the record is well formed or cannot be
   * read. Columns count characters after decoding, so a UTF-8 {@code é} is one column.
   */
  static Position problemPosition(Path file, CsvSpec csv, long line, int expectedFields) {
    char delimiter = csv.delimiter().charAt(0);
    try (Reader in =
        new BufferedReader(
            new InputStreamReader(
                Files.newInputStream(file),
                charset(csv).newDecoder().onMalformedInput(CodingErrorAction.REPLACE)),
            1 << 16)) {
      long current = 1;
      int c;
      while (current < line && (c = in.read()) != -1) {
        if (c == '\n') {
          current++;
        }
      }
      if (current < line) {
        return null;
      }
      long column = 1;
      int fields = 1;
      boolean inQuotes = false;
      boolean fieldStart = true;
      boolean closedQuote = false;
      Position openQuote = null;
      long read = 0;
      while ((c = in.read()) != -1 && read++ < MAX_LINE_BYTES) {
        if (c == '\uFEFF' && current == 1 && column == 1) {
          continue;
        }
        if (inQuotes) {
          if (c == '"') {
            inQuotes = false;
            closedQuote = true;
            column++;
            continue;
          }
        } else if (c == '"' && (fieldStart || closedQuote)) {
          // A quote right after a closing quote is an escaped quote inside the same field.
          inQuotes = true;
          if (fieldStart) {
            openQuote = new Position(current, column);
          }
        } else if (c == delimiter) {
          fields++;
          if (fields == expectedFields + 1) {
            return new Position(current, column + 1);
          }
          fieldStart = true;
          closedQuote = false;
          column++;
          continue;
        } else if (c == '\n' || c == '\r') {
          return fields < expectedFields ? new Position(current, column) : null;
        }
        fieldStart = false;
        closedQuote = false;
        if (c == '\n') {
          current++;
          column = 1;
        } else {
          column++;
        }
      }
      if (inQuotes) {
        return openQuote;
      }
      return fields < expectedFields ? new Position(current, column) : null;
    } catch (IOException e) {
      return null;
    }
  }

  /** Splits one record into fields, removing enclosing quotes and undoubling inner quotes. */
  static List<String> splitFields(String record, char delimiter) {
    List<String> fields = new ArrayList<>();
    StringBuilder field = new StringBuilder();
    boolean inQuotes = false;
    for (int i = 0; i < record.length(); i++) {
      char c = record.charAt(i);
      if (inQuotes) {
        if (c == '"' && i + 1 < record.length() && record.charAt(i + 1) == '"') {
          field.append('"');
          i++;
        } else if (c == '"') {
          inQuotes = false;
        } else {
          field.append(c);
        }
      } else if (c == '"') {
        inQuotes = true;
      } else if (c == delimiter) {
        fields.add(field.toString());
        field.setLength(0);
      } else {
        field.append(c);
      }
    }
    fields.add(field.toString());
    return fields;
  }
}
