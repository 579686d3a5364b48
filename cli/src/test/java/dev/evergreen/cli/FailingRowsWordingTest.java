package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.validation.Anomaly;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code evergreen validate} and the run report describe failing rows in the same words: 286 nulls
 * in a 2,000-row batch read "286 failing rows, 14.3%", never "in 286 rows".
 */
class FailingRowsWordingTest {
  static final String WORDING = "(286 failing rows, 14.3%)";

  @TempDir Path dir;

  @Test
  void validateOutputCountsFailingRowsWithShare() throws Exception {
    StringBuilder csv = new StringBuilder("id,income\n");
    for (int i = 1; i <= 2_000; i++) {
      csv.append(i).append(',').append(i <= 286 ? "" : Integer.toString(i)).append('\n');
    }
    Path data = Files.writeString(dir.resolve("batch.csv"), csv);
    Path constraints =
        Files.writeString(
            dir.resolve("constraints.yaml"),
            "validation:\n  rules:\n    - column: income\n      notNull: true\n");
    StringWriter out = new StringWriter();

    int exit =
        Main.commandLine()
            .setOut(new PrintWriter(out, true))
            .setErr(new PrintWriter(new StringWriter(), true))
            .execute("validate", "--schema", constraints.toString(), data.toString());

    assertThat(exit).isEqualTo(ValidateCommand.EXIT_REJECTED);
    assertThat(out.toString()).contains("observed 286 nulls " + WORDING);
  }

  @Test
  void runReportUsesSameWording() {
    Anomaly anomaly =
        new Anomaly(
            "income",
            "not_null",
            dev.evergreen.api.validation.Severity.ERROR,
            "no nulls",
            "286 nulls",
            286,
            java.util.List.of(1L, 2L, 3L, 4L, 5L),
            0.143);

    assertThat(anomaly.describe()).contains("observed 286 nulls " + WORDING);
    assertThat(anomaly.describe()).doesNotContain("in 286 rows");
  }

  @Test
  void singleRowAndTinyShareWording() {
    assertThat(Anomaly.failingRowsText(1, 0.25)).isEqualTo("1 failing row, 25%");
    assertThat(Anomaly.failingRowsText(1, 1e-8)).isEqualTo("1 failing row, < 0.0001%");
    assertThat(Anomaly.failingRowsText(2, 1.0 / 3)).isEqualTo("2 failing rows, 33.3333%");
    assertThat(Anomaly.failingRowsText(7, null)).isEqualTo("7 failing rows");
  }
}
