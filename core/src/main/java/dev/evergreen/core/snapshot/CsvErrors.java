package dev.evergreen.core.snapshot;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.CsvSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns the errors of DuckDB's CSV reader into messages that name the file, the line and the next
 * step. Lines are physical lines, as an editor numbers them, also after quoted fields that contain
 * line breaks. A wrong field count or an unclosed quote is located as {@code file:line:column}, the
 * 1-based character column where the extra field, the missing field or the unclosed quote starts.
 * The patterns match the error texts of DuckDB 1.5.6; an error that matches none keeps DuckDB's
 * first line.
 */
final class CsvErrors {
  private static final Pattern LINE = Pattern.compile("CSV Error on Line: (\\d+)");
  private static final Pattern ORIGINAL = Pattern.compile("Original Line: ([^\\n]*)");
  private static final Pattern FIELD_COUNT =
      Pattern.compile("Expected Number of Columns: (\\d+) Found: (\\d+)");
  private static final Pattern LINE_SIZE =
      Pattern.compile("Maximum line size of (\\d+) bytes exceeded\\. Actual Size:\\s*(\\d+) bytes");

  private CsvErrors() {}

  static EvergreenException translate(
      SQLException error, Path file, CsvSpec csv, List<String> columns) {
    String message = error.getMessage() == null ? "" : error.getMessage();
    Matcher line = LINE.matcher(message);
    String where = file.toString();
    if (line.find()) {
      long physical = CsvFiles.physicalLine(file, Long.parseLong(line.group(1)));
      where = file + ":" + physical;
      if (message.contains("unterminated quote") || FIELD_COUNT.matcher(message).find()) {
        CsvFiles.Position position = CsvFiles.problemPosition(file, csv, physical, columns.size());
        if (position != null) {
          where = file + ":" + position.line() + ":" + position.column();
        }
      }
    }
    Matcher original = ORIGINAL.matcher(message);
    String text = original.find() ? " (" + BatchLoader.shorten(original.group(1)) + ")" : "";

    Matcher fieldCount = FIELD_COUNT.matcher(message);
    if (fieldCount.find()) {
      return EvergreenException.invalid(
          where
              + ": the line has "
              + fieldCount.group(2)
              + " fields, expected "
              + fieldCount.group(1)
              + " like the header ("
              + String.join(", ", columns)
              + ")"
              + text
              + ". Correct the line, and enclose fields that contain the delimiter '"
              + csv.delimiter()
              + "' in double quotes.");
    }
    if (message.contains("unterminated quote")) {
      return EvergreenException.invalid(
          where
              + ": a quoted field that starts on this line is never closed"
              + text
              + ". Add the closing double quote, and write a double quote inside a quoted field"
              + " as two double quotes.");
    }
    if (message.contains("Invalid unicode")) {
      String bytes = invalidBytes(file);
      return EvergreenException.invalid(
          where
              + ": the line is not valid UTF-8"
              + (bytes == null ? "" : " (" + bytes + ")")
              + ". Save the file as UTF-8, or set source.csv.encoding: latin-1 in the pipeline if"
              + " the file is Latin-1.");
    }
    Matcher lineSize = LINE_SIZE.matcher(message);
    if (lineSize.find()) {
      return EvergreenException.invalid(
          where
              + ": the line is "
              + lineSize.group(2)
              + " bytes long, more than the limit of "
              + lineSize.group(1)
              + " bytes. A field this long usually comes from a quote that is never closed or"
              + " from binary data; correct the line or remove the field.");
    }
    return EvergreenException.invalid(
        where
            + ": cannot read the file as CSV: "
            + firstLine(message)
            + text
            + ". Check the delimiter ('"
            + csv.delimiter()
            + "'), header ("
            + csv.header()
            + ") and encoding ("
            + csv.encoding()
            + ") in source.csv.");
  }

  private static String invalidBytes(Path file) {
    try {
      return CsvFiles.firstInvalidUtf8(file);
    } catch (IOException e) {
      return null;
    }
  }

  /** Returns the first line of a DuckDB message without its error class prefix. */
  static String firstLine(String message) {
    if (message == null) {
      return "unknown error";
    }
    String first = message.lines().findFirst().orElse("").strip();
    return first.replaceFirst("^[A-Za-z ]+Error: ", "");
  }
}
