package dev.evergreen.core.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestPipelines;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Parquet columns of nested types (struct, map, list), which a snapshot cannot store, are rejected
 * with the file, the column, its type and the next step, whether or not data.columns declares them.
 */
class NestedParquetColumnTest {
  static final String SOURCE = "source:\n  landing: landing\n";
  static final String LABEL = "label:\n  column: label\n";
  static final String FEATURES = "features:\n  numeric: [amount]\n";

  @TempDir Path dir;

  static PipelineSpec spec(String column, String type) {
    String data = column == null ? "" : "data:\n  columns:\n    " + column + ": " + type + "\n";
    return TestPipelines.of(SOURCE, data, LABEL, FEATURES, "");
  }

  /** Writes a Parquet file with columns amount, label and {@code nested}, a SQL expression. */
  Path parquet(String nested) {
    Path file = dir.resolve("batch.parquet");
    TestDuckDb.execute(
        "COPY (SELECT i::DOUBLE AS amount, (i % 2)::BIGINT AS label, "
            + nested
            + " AS nested FROM range(10) t(i)) TO "
            + TestDuckDb.path(file)
            + " (FORMAT parquet)");
    return file;
  }

  /** Reads the file as a snapshot would and returns the message of the rejection. */
  String rejection(Path file, PipelineSpec spec) {
    EvergreenException error = null;
    try {
      BatchFiles.read(file, spec, dir.resolve("out.parquet"), null, 1);
    } catch (EvergreenException e) {
      error = e;
    }
    assertThat(error).as("reading %s must fail", file).isNotNull();
    assertThat(error.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    return error.getMessage();
  }

  @Test
  void structDeclaredStringRejected() {
    Path file = parquet("{'code': i, 'name': 'x'}");

    String message = rejection(file, spec("nested", "string"));

    assertThat(message).startsWith(file.toAbsolutePath() + ": column 'nested'");
    assertThat(message).contains("Parquet type STRUCT(code BIGINT, \"name\" VARCHAR) (a struct)");
    assertThat(message).contains("data.columns declares it as string");
    assertThat(message).contains("as JSON text");
    assertThat(message).contains("remove it from the file and from data.columns");
  }

  @Test
  void mapDeclaredStringRejected() {
    Path file = parquet("MAP {'k': i}");

    String message = rejection(file, spec("nested", "string"));

    assertThat(message).contains("column 'nested'");
    assertThat(message).contains("MAP(VARCHAR, BIGINT) (a map)");
    assertThat(message).contains("data.columns declares it as string");
  }

  @Test
  void listDeclaredStringRejected() {
    Path file = parquet("[i, i + 1]");

    String message = rejection(file, spec("nested", "string"));

    assertThat(message).contains("column 'nested'");
    assertThat(message).contains("BIGINT[] (a list)");
    assertThat(message).contains("data.columns declares it as string");
  }

  @Test
  void structDeclaredIntegerRejected() {
    Path file = parquet("{'code': i}");

    String message = rejection(file, spec("nested", "integer"));

    assertThat(message).contains("column 'nested'");
    assertThat(message).contains("(a struct)");
    assertThat(message).contains("does not convert structs to integer");
    assertThat(message).doesNotContain("JSON");
  }

  @Test
  void structRejectedWhenReadInPlace() {
    Path file = parquet("{'code': i}");

    EvergreenException error = null;
    try {
      BatchFiles.check(file, spec("nested", "string"), null, 1, (batch, connection, t) -> batch);
    } catch (EvergreenException e) {
      error = e;
    }

    assertThat(error).isNotNull();
    assertThat(error.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    assertThat(error.getMessage()).contains("column 'nested'").contains("(a struct)");
  }

  @Test
  void undeclaredStructNamesItsKind() {
    Path file = parquet("{'code': i}");

    String message = rejection(file, spec(null, null));

    assertThat(message).contains("column 'nested'");
    assertThat(message).contains("STRUCT(code BIGINT) (a struct)");
    assertThat(message).contains("or remove it from the file.");
  }
}
