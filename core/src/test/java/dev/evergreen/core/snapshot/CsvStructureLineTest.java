package dev.evergreen.core.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.core.testing.TestPipelines;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Structure errors of CSV files (a wrong field count, an unclosed quote) name the physical line, as
 * an editor numbers it, also when quoted fields before it contain line breaks.
 */
class CsvStructureLineTest {
  static final String SOURCE = "source:\n  landing: landing\n";
  static final String LABEL = "label:\n  column: label\n";
  static final String FEATURES = "features:\n  categorical: [note]\n";

  @TempDir Path dir;

  static PipelineSpec spec() {
    return TestPipelines.of(SOURCE, "", LABEL, FEATURES, "");
  }

  /**
   * Returns the lines of a CSV file with columns id, note, label and 150 data rows. The note of
   * each row in {@code multiline} (0-based) is a quoted field of {@code breaks + 1} lines.
   */
  static List<String> lines(List<Integer> multiline, int breaks) {
    List<String> lines = new ArrayList<>(List.of("id,note,label"));
    for (int i = 0; i < 150; i++) {
      String note = multiline.contains(i) ? "\"a" + "\nb".repeat(breaks) + "\"" : "plain";
      lines.add(i + "," + note + "," + (i % 2));
    }
    // Split the joined text again, so that each element is one physical line.
    return new ArrayList<>(List.of(String.join("\n", lines).split("\n", -1)));
  }

  Path write(List<String> lines, String newline) throws IOException {
    return Files.writeString(
        dir.resolve("batch.csv"), String.join(newline, lines) + newline, StandardCharsets.UTF_8);
  }

  String rejection(Path file) {
    EvergreenException error = null;
    try {
      BatchFiles.read(file, spec(), dir.resolve("out.parquet"), null, 1);
    } catch (EvergreenException e) {
      error = e;
    }
    assertThat(error).as("reading %s must fail", file).isNotNull();
    assertThat(error.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    return error.getMessage();
  }

  @Test
  void shortRowAfterOneQuotedLineBreak() throws IOException {
    List<String> lines = lines(List.of(10), 1);
    lines.set(103 - 1, "100,short");

    String message = rejection(write(lines, "\n"));

    assertThat(message).contains("batch.csv:103:");
    assertThat(message).contains("2 fields, expected 3");
    assertThat(message).contains("100,short");
  }

  @Test
  void shortRowAfterThreeQuotedLineBreaks() throws IOException {
    List<String> lines = lines(List.of(10), 3);
    lines.set(91 - 1, "86,short");

    String message = rejection(write(lines, "\n"));

    assertThat(message).contains("batch.csv:91:");
    assertThat(message).contains("86,short");
  }

  @Test
  void unclosedQuoteAfterTwoLineBreaks() throws IOException {
    List<String> lines = lines(List.of(10, 20), 1);
    lines.set(64 - 1, "60,\"never closed,1");

    String message = rejection(write(lines, "\n"));

    // Column 4 is the opening quote of the second field.
    assertThat(message).contains("batch.csv:64:4:");
    assertThat(message).contains("never closed");
  }

  @Test
  void extraFieldWithCrLfLineEnds() throws IOException {
    List<String> lines = lines(List.of(3, 4), 2);
    lines.set(40 - 1, "33,x,1,extra");

    String message = rejection(write(lines, "\r\n"));

    // Column 8 is the first character of the extra field.
    assertThat(message).contains("batch.csv:40:8:");
    assertThat(message).contains("4 fields, expected 3");
  }

  @Test
  void shortRowAfterEmptyLines() throws IOException {
    List<String> lines = lines(List.of(1), 1);
    lines.add(10, "");
    lines.add(10, "");
    lines.set(30 - 1, "25,short");

    String message = rejection(write(lines, "\n"));

    assertThat(message).contains("batch.csv:30:");
  }

  @Test
  void shortRowWithoutHeader() throws IOException {
    List<String> lines = lines(List.of(5), 1);
    lines.removeFirst();
    lines.set(50 - 1, "48,short");
    PipelineSpec spec =
        TestPipelines.of(
            SOURCE + "  csv:\n    header: false\n",
            "",
            "label:\n  column: column2\n",
            "features:\n  categorical: [column1]\n",
            "");
    Path file = write(lines, "\n");

    EvergreenException error = null;
    try {
      BatchFiles.read(file, spec, dir.resolve("out.parquet"), null, 1);
    } catch (EvergreenException e) {
      error = e;
    }

    assertThat(error).isNotNull();
    assertThat(error.getMessage()).contains("batch.csv:50:");
  }

  @Test
  void physicalLineCountsOnlyQuotedBreaks() throws IOException {
    Path file =
        Files.writeString(
            dir.resolve("lines.csv"),
            "a,b\n\"x\ny\",1\n\n\"p\"\"\nq\",2\n3,4\n",
            StandardCharsets.UTF_8);

    assertThat(CsvFiles.physicalLine(file, 1)).isEqualTo(1);
    assertThat(CsvFiles.physicalLine(file, 2)).isEqualTo(2);
    assertThat(CsvFiles.physicalLine(file, 3)).isEqualTo(4);
    assertThat(CsvFiles.physicalLine(file, 4)).isEqualTo(5);
    assertThat(CsvFiles.physicalLine(file, 5)).isEqualTo(7);
  }
}
