package dev.evergreen.core.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.pipeline.ConstraintsSpec;
import dev.evergreen.api.pipeline.FeaturesSpec;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.PipelineSpecs;
import dev.evergreen.api.pipeline.SourceSpec;
import dev.evergreen.core.data.DuckDb;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link BatchFiles#check} reading a Parquet file in place through a view. */
class BatchFilesInPlaceTest {
  @TempDir Path dir;

  /**
   * Writes 30,000 rows in row groups of 4,096 rows: {@code id} 1 to 30,000 as INTEGER, {@code
   * amount} as {@code id / 4.0} and {@code code} as A, B or C. {@code extra} is added as further
   * columns of the select list.
   */
  Path parquet(String name, String extra) throws SQLException {
    Path file = dir.resolve(name);
    try (Connection connection = DuckDb.open(1);
        Statement statement = connection.createStatement()) {
      statement.execute(
          "COPY (SELECT CAST(i AS INTEGER) AS id, i / 4.0 AS amount,"
              + " chr(65 + CAST(i % 3 AS INTEGER)) AS code"
              + extra
              + " FROM range(1, 30001) r(i) ORDER BY i) TO "
              + DuckDb.path(file)
              + " (FORMAT parquet, ROW_GROUP_SIZE 4096)");
    }
    return file;
  }

  PipelineSpec spec(Path file, String data) throws IOException {
    Path path = Files.writeString(dir.resolve("constraints.yaml"), data, StandardCharsets.UTF_8);
    ConstraintsSpec loaded = PipelineSpecs.loadConstraints(path);
    return new PipelineSpec(
        "constraints",
        new SourceSpec(null, file.toString(), null, loaded.csv(), null),
        loaded.data(),
        null,
        new FeaturesSpec(null, null, null, null),
        null,
        null,
        loaded.validation(),
        null,
        null);
  }

  static boolean isView(Connection connection, String name) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet result =
            statement.executeQuery(
                "SELECT count(*) FROM duckdb_views() WHERE view_name = " + DuckDb.literal(name))) {
      result.next();
      return result.getLong(1) == 1;
    }
  }

  static List<String> strings(Connection connection, String sql) throws SQLException {
    List<String> values = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
      while (result.next()) {
        values.add(result.getString(1));
      }
    }
    return values;
  }

  @Test
  void checkReadsParquetAsViewWithConversions() throws Exception {
    Path file = parquet("batch.parquet", "");
    PipelineSpec spec = spec(file, "data:\n  columns:\n    id: integer\n    amount: double\n");

    List<String> rows =
        BatchFiles.check(
            file,
            spec,
            null,
            2,
            (batch, connection, table) -> {
              assertThat(isView(connection, table)).isTrue();
              assertThat(batch.schema().column("id").orElseThrow().type())
                  .isEqualTo(ColumnType.INTEGER);
              assertThat(batch.profile().rowCount()).isEqualTo(30_000);
              assertThat(strings(connection, "SELECT typeof(id) FROM " + table + " LIMIT 1"))
                  .containsExactly("BIGINT");
              return strings(
                  connection,
                  "SELECT (rowid + 1) || ':' || id || ':' || code FROM "
                      + table
                      + " WHERE id % 9000 = 0 OR id = 4097 ORDER BY rowid");
            });

    assertThat(rows)
        .containsExactly("4097:4097:C", "9000:9000:A", "18000:18000:A", "27000:27000:A");
  }

  @Test
  void checkInPlaceRejectsValueOfWrongType() throws Exception {
    Path file = parquet("batch.parquet", "");
    PipelineSpec spec = spec(file, "data:\n  columns:\n    amount: integer\n");

    assertThatThrownBy(() -> BatchFiles.check(file, spec, null, 2, (batch, c, t) -> batch))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(": row 1: column 'amount' has the value '0.25")
        .satisfies(
            e -> assertThat(((EvergreenException) e).kind()).isEqualTo(ErrorKind.INVALID_INPUT));
  }

  @Test
  void checkLoadsTableWhenFileHasRowNumberColumn() throws Exception {
    Path file = parquet("numbered.parquet", ", 30001 - i AS file_row_number");
    PipelineSpec spec = spec(file, "data:\n  columns:\n    id: integer\n");

    List<String> rows =
        BatchFiles.check(
            file,
            spec,
            null,
            2,
            (batch, connection, table) -> {
              assertThat(isView(connection, table)).isFalse();
              return strings(
                  connection,
                  "SELECT (rowid + 1) || ':' || file_row_number FROM "
                      + table
                      + " WHERE id IN (1, 30000) ORDER BY rowid");
            });

    assertThat(rows).containsExactly("1:30000", "30000:1");
  }

  @Test
  void writeParquetFromViewLeavesOutRowid() throws Exception {
    Path file = parquet("batch.parquet", "");
    Path copy = dir.resolve("copy.parquet");
    PipelineSpec spec = spec(file, "data:\n  columns:\n    id: integer\n");

    BatchFiles.check(
        file,
        spec,
        null,
        2,
        (batch, connection, table) -> {
          BatchFiles.writeParquet(connection, table, copy);
          return null;
        });

    try (Connection connection = DuckDb.open(1)) {
      String read = "read_parquet(" + DuckDb.path(copy) + ")";
      assertThat(
              strings(connection, "SELECT column_name FROM (DESCRIBE SELECT * FROM " + read + ")"))
          .containsExactly("id", "amount", "code");
      assertThat(
              strings(
                  connection,
                  "SELECT count(*) FILTER (WHERE id <> file_row_number + 1) FROM read_parquet("
                      + DuckDb.path(copy)
                      + ", file_row_number = true)"))
          .containsExactly("0");
    }
  }

  @Test
  void checkInPlacePseudonymisesTaggedColumn() throws Exception {
    Path file = parquet("batch.parquet", "");
    PipelineSpec spec =
        spec(
            file,
            "data:\n  columns:\n    id: integer\n  personalData:\n    code: direct_identifier\n");
    byte[] key = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    List<String> rows =
        BatchFiles.check(
            file,
            spec,
            key,
            2,
            (batch, connection, table) -> {
              assertThat(isView(connection, table)).isFalse();
              return strings(
                  connection,
                  "SELECT (rowid + 1) || ':' || id || ':' || (code IN ('A', 'B', 'C')) FROM "
                      + table
                      + " WHERE id IN (1, 29999) ORDER BY rowid");
            });

    assertThat(rows).containsExactly("1:1:false", "29999:29999:false");
  }
}
