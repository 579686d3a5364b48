package dev.evergreen.core.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.data.ColumnType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DuckDbTest {
  @TempDir Path dir;

  static String single(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
      result.next();
      return result.getString(1);
    }
  }

  @Test
  void openAppliesThreadsMemoryAndTimeZone() throws SQLException {
    try (Connection connection = DuckDb.open(2, "512MiB")) {
      assertThat(single(connection, "SELECT current_setting('threads')")).isEqualTo("2");
      assertThat(single(connection, "SELECT current_setting('memory_limit')"))
          .isEqualTo("512.0 MiB");
      assertThat(single(connection, "SELECT current_setting('TimeZone')")).isEqualTo("UTC");
    }
  }

  @Test
  void openRejectsInvalidLimits() {
    assertThatThrownBy(() -> DuckDb.open(0, "1GB")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> DuckDb.open(1, "1GB'; SELECT 1; --"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("memory limit");
  }

  @Test
  void identifierQuotesHostileColumnName() throws SQLException {
    String name = "a\"; DROP TABLE t; --";
    try (Connection connection = DuckDb.open(1);
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE TABLE t (" + DuckDb.identifier(name) + " VARCHAR)");
      statement.execute(
          "INSERT INTO t VALUES (" + DuckDb.literal("it's '); DROP TABLE t; --") + ")");

      assertThat(single(connection, "SELECT " + DuckDb.identifier(name) + " FROM t"))
          .isEqualTo("it's '); DROP TABLE t; --");
      assertThat(single(connection, "SELECT column_name FROM duckdb_columns()")).isEqualTo(name);
    }
  }

  @Test
  void literalCarriesNulCharacters() throws SQLException {
    String value = "A\0T'L\0";
    try (Connection connection = DuckDb.open(1);
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE TABLE t (v VARCHAR)");
      statement.execute("INSERT INTO t VALUES (" + DuckDb.literal(value) + "), ('ATL')");

      assertThat(single(connection, "SELECT length(" + DuckDb.literal(value) + ")")).isEqualTo("6");
      assertThat(
              single(
                  connection,
                  "SELECT count(*) FROM t WHERE v IN (" + DuckDb.literal(value) + ", 'BOS')"))
          .isEqualTo("1");
    }
  }

  @Test
  void pathQuotesApostropheInFolder() throws IOException, SQLException {
    Path folder = Files.createDirectories(dir.resolve("it's here"));
    Path file = Files.writeString(folder.resolve("a.csv"), "x\n1\n");
    try (Connection connection = DuckDb.open(1)) {
      assertThat(single(connection, "SELECT count(*) FROM read_csv(" + DuckDb.path(file) + ")"))
          .isEqualTo("1");
    }
  }

  @Test
  void pathRejectsGlobCharacters() {
    assertThatThrownBy(() -> DuckDb.path(dir.resolve("*.csv")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("rename");
    assertThatThrownBy(() -> DuckDb.path(dir.resolve("batch[1].csv")))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void identifierRejectsNul() {
    assertThatThrownBy(() -> DuckDb.identifier("a\0b"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void columnTypesMapDuckDbTypes() {
    assertThat(ColumnTypes.fromDuckDb("UBIGINT")).contains(ColumnType.INTEGER);
    assertThat(ColumnTypes.fromDuckDb("DECIMAL(18,3)")).contains(ColumnType.DOUBLE);
    assertThat(ColumnTypes.fromDuckDb("FLOAT")).contains(ColumnType.DOUBLE);
    assertThat(ColumnTypes.fromDuckDb("TIMESTAMP WITH TIME ZONE")).contains(ColumnType.TIMESTAMP);
    assertThat(ColumnTypes.fromDuckDb("TIMESTAMP_NS")).contains(ColumnType.TIMESTAMP);
    assertThat(ColumnTypes.fromDuckDb("VARCHAR")).contains(ColumnType.STRING);
    assertThat(ColumnTypes.fromDuckDb("INTEGER[]")).isEmpty();
    assertThat(ColumnTypes.fromDuckDb("BLOB")).isEmpty();
  }
}
