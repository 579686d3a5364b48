package dev.evergreen.core.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.core.testing.TestPipelines;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CSV columns whose values are numbers for more rows than DuckDB's sniffer samples and then text.
 * Each file has more than 30,000 rows, so that the change lies beyond the 20,480-row sample.
 */
class LateTypeChangeTest {
  static final String SOURCE = "source:\n  landing: landing\n";
  static final String LABEL = "label:\n  column: label\n";
  static final String FEATURES = "features:\n  categorical: [city]\n";

  @TempDir Path dir;

  static PipelineSpec spec(String data) {
    return TestPipelines.of(SOURCE, data, LABEL, FEATURES, "");
  }

  /**
   * Writes a CSV file with columns id, city, label, code. Row {@code i} (1-based) has code {@code
   * i}, except row {@code textRow}, whose code is {@code text}.
   */
  Path csv(int rows, int textRow, String text) throws IOException {
    StringBuilder csv = new StringBuilder("id,city,label,code\n");
    for (int i = 1; i <= rows; i++) {
      csv.append(i).append(",Paris,").append(i % 2).append(',');
      csv.append(i == textRow ? text : Integer.toString(i)).append('\n');
    }
    return Files.writeString(dir.resolve("batch.csv"), csv, StandardCharsets.UTF_8);
  }

  Snapshot read(Path file, PipelineSpec spec) {
    return BatchFiles.read(file, spec, dir.resolve("out.parquet"), null, 1);
  }

  String rejection(Path file, PipelineSpec spec) {
    Throwable error = catchThrowable(() -> read(file, spec));
    assertThat(error).isInstanceOf(EvergreenException.class);
    return error.getMessage();
  }

  @Test
  void undeclaredIntegersThenNaRejected() throws IOException {
    Path file = csv(30_001, 30_001, "n/a");

    String message = rejection(file, spec(""));

    assertThat(message).startsWith(file.toAbsolutePath() + ":30002: ");
    assertThat(message).contains("column 'code' (field 4)");
    assertThat(message).contains("value 'n/a'");
    assertThat(message).contains("after 30000 rows of numbers");
    assertThat(message).contains("data.columns.code: string");
  }

  @Test
  void undeclaredTextInMiddleRejected() throws IOException {
    Path file = csv(40_000, 25_000, "12abc");

    String message = rejection(file, spec(""));

    assertThat(message).startsWith(file.toAbsolutePath() + ":25001: ");
    assertThat(message).contains("column 'code'");
    assertThat(message).contains("value '12abc'");
  }

  @Test
  void undeclaredTextJustAfterSampleRejected() throws IOException {
    Path file = csv(30_000, (int) BatchLoader.SNIFF_SAMPLE_ROWS + 1, "x");

    String message = rejection(file, spec(""));

    assertThat(message).startsWith(file.toAbsolutePath() + ":20482: ");
  }

  @Test
  void lastSampleRowTextKeptAsString() throws IOException {
    Path file = csv(30_000, (int) BatchLoader.SNIFF_SAMPLE_ROWS, "x");

    Snapshot snapshot = read(file, spec(""));

    assertThat(snapshot.schema().column("code").get().type()).isEqualTo(ColumnType.STRING);
  }

  @Test
  void declaredStringAcceptsLateText() throws IOException {
    Path file = csv(30_001, 30_001, "n/a");

    Snapshot snapshot = read(file, spec("data:\n  columns:\n    code: string\n"));

    assertThat(snapshot.schema().column("code").get().type()).isEqualTo(ColumnType.STRING);
    assertThat(snapshot.profile().rowCount()).isEqualTo(30_001);
  }

  @Test
  void declaredIntegerNamesLineColumnValue() throws IOException {
    Path file = csv(30_001, 30_001, "12abc");

    String message = rejection(file, spec("data:\n  columns:\n    code: integer\n"));

    assertThat(message).startsWith(file.toAbsolutePath() + ":30002: ");
    assertThat(message).contains("column 'code'");
    assertThat(message).contains("value '12abc'");
    assertThat(message).contains("not a valid integer");
    assertThat(message).contains("data.columns declares 'code' as integer");
  }

  @Test
  void declaredIntegerRejectsLateDecimal() throws IOException {
    Path file = csv(30_001, 30_001, "1.5");

    String message = rejection(file, spec("data:\n  columns:\n    code: integer\n"));

    assertThat(message).startsWith(file.toAbsolutePath() + ":30002: ");
    assertThat(message).contains("value '1.5'");
  }

  @Test
  void undeclaredLateDecimalBecomesDouble() throws IOException {
    Path file = csv(30_001, 30_001, "1.5");

    Snapshot snapshot = read(file, spec(""));

    assertThat(snapshot.schema().column("code").get().type()).isEqualTo(ColumnType.DOUBLE);
  }

  @Test
  void undeclaredLateEmptyFieldStaysInteger() throws IOException {
    Path file = csv(30_001, 30_001, "");

    Snapshot snapshot = read(file, spec(""));

    assertThat(snapshot.schema().column("code").get().type()).isEqualTo(ColumnType.INTEGER);
    assertThat(snapshot.profile().column("code").get().nullCount()).isEqualTo(1);
  }

  @Test
  void undeclaredEarlyTextKeptAsString() throws IOException {
    Path file = csv(30_000, 100, "n/a");

    Snapshot snapshot = read(file, spec(""));

    assertThat(snapshot.schema().column("code").get().type()).isEqualTo(ColumnType.STRING);
  }

  @Test
  void lateTextAfterMultiLineFieldCountsLines() throws IOException {
    StringBuilder csv = new StringBuilder("id,city,label,code\n");
    csv.append("1,\"Paris\nNord\",0,1\n");
    for (int i = 2; i <= 30_000; i++) {
      csv.append(i).append(",Paris,0,").append(i).append('\n');
    }
    csv.append("30001,Rome,1,n/a\n");
    Path file = Files.writeString(dir.resolve("quoted.csv"), csv, StandardCharsets.UTF_8);

    String message = rejection(file, spec(""));

    // The quoted field of row 1 spans lines 2 and 3, so row 30,001 starts on line 30,003.
    assertThat(message).startsWith(file.toAbsolutePath() + ":30003: ");
  }

  @Test
  void lateTextWithoutHeaderNamesGeneratedColumn() throws IOException {
    StringBuilder csv = new StringBuilder();
    for (int i = 1; i <= 30_000; i++) {
      csv.append(i).append(",Paris,0,").append(i * 0.25).append('\n');
    }
    csv.append("30001,Rome,1,unknown\n");
    Path file = Files.writeString(dir.resolve("plain.csv"), csv, StandardCharsets.UTF_8);
    PipelineSpec spec =
        TestPipelines.of(
            "source:\n  landing: landing\n  csv:\n    header: false\n",
            "",
            "label:\n  column: column2\n",
            "features:\n  categorical: [column1]\n",
            "");

    String message = rejection(file, spec);

    assertThat(message).startsWith(file.toAbsolutePath() + ":30001: ");
    assertThat(message).contains("column 'column3' (field 4)");
    assertThat(message).contains("value 'unknown'");
  }

  @Test
  void twoLateColumnsNameEarliestFirst() throws IOException {
    StringBuilder csv = new StringBuilder("id,city,label,code,amount\n");
    for (int i = 1; i <= 31_000; i++) {
      csv.append(i).append(",Paris,0,");
      csv.append(i == 30_500 ? "X" : Integer.toString(i)).append(',');
      csv.append(i == 30_100 ? "n/a" : i + ".5").append('\n');
    }
    Path file = Files.writeString(dir.resolve("two.csv"), csv, StandardCharsets.UTF_8);

    String message = rejection(file, spec(""));

    assertThat(message).startsWith(file.toAbsolutePath() + ":30101: ");
    assertThat(message).contains("column 'amount' (field 5)");
    assertThat(message).contains("later in the file: code.");
  }

  @Test
  void numericFeatureWithLateTextNamesRole() {
    PipelineSpec spec = TestPipelines.of(SOURCE, "", LABEL, "features:\n  numeric: [code]\n", "");

    assertThatThrownBy(() -> read(csv(30_001, 30_001, "n/a"), spec))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(":30002: ")
        .hasMessageContaining("value 'n/a'")
        .hasMessageContaining("a numeric feature");
  }
}
