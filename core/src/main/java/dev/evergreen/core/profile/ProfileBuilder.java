package dev.evergreen.core.profile;

import static dev.evergreen.core.data.DuckDb.identifier;

import dev.evergreen.api.data.Column;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.Schema;
import dev.evergreen.core.data.ColumnTypes;
import dev.evergreen.core.data.DuckDb;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

/**
 * Builds a {@link DatasetProfile} in one pass over the rows: a single {@code SELECT} whose result
 * set is read row by row, each value added to its column's sketches. Reading a Parquet file uses a
 * connection with DuckDB's streaming results, so memory stays bounded by the sketches and DuckDB's
 * read buffers, whatever the file size.
 */
public final class ProfileBuilder {
  private ProfileBuilder() {}

  /**
   * Profiles a Parquet file, whose columns have the types of {@code schema}.
   *
   * @param threads DuckDB threads
   */
  public static DatasetProfile ofParquet(Path parquet, Schema schema, int threads)
      throws SQLException {
    try (Connection connection = openStreaming(threads)) {
      return ofQuery(connection, "read_parquet(" + DuckDb.path(parquet) + ")", schema.columns());
    }
  }

  /**
   * Profiles a Parquet file with the column types read from the file; columns of types Evergreen
   * does not store, such as lists, are left out.
   */
  public static DatasetProfile ofParquet(Path parquet, int threads) throws SQLException {
    try (Connection connection = openStreaming(threads)) {
      String source = "read_parquet(" + DuckDb.path(parquet) + ")";
      List<Column> columns = new ArrayList<>();
      try (Statement statement = connection.createStatement();
          ResultSet result = statement.executeQuery("DESCRIBE SELECT * FROM " + source)) {
        while (result.next()) {
          Optional<ColumnType> type = ColumnTypes.fromDuckDb(result.getString("column_type"));
          if (type.isPresent()) {
            columns.add(new Column(result.getString("column_name"), type.get()));
          }
        }
      }
      return ofQuery(connection, source, columns);
    }
  }

  /** Profiles a table or table function of an open connection. */
  public static DatasetProfile ofTable(Connection connection, String table, Schema schema)
      throws SQLException {
    return ofQuery(connection, table, schema.columns());
  }

  private static DatasetProfile ofQuery(Connection connection, String from, List<Column> columns)
      throws SQLException {
    List<ColumnSketch> sketches = new ArrayList<>();
    StringBuilder sql = new StringBuilder("SELECT 1");
    for (Column column : columns) {
      sketches.add(new ColumnSketch(column.name(), column.type()));
      sql.append(", ").append(valueExpression(identifier(column.name()), column.type()));
    }
    sql.append(" FROM ").append(from);
    ColumnType[] types = columns.stream().map(Column::type).toArray(ColumnType[]::new);
    long rows = 0;
    try (Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql.toString())) {
      while (result.next()) {
        rows++;
        for (int i = 0; i < types.length; i++) {
          add(result, i + 2, types[i], sketches.get(i));
        }
      }
    }
    return new DatasetProfile(rows, sketches);
  }

  /** Returns the SQL that reads a column in the form {@link #add} expects. */
  private static String valueExpression(String column, ColumnType type) {
    return switch (type) {
      case INTEGER -> "CAST(" + column + " AS BIGINT)";
      case DOUBLE -> "CAST(" + column + " AS DOUBLE)";
      case DATE -> "datediff('day', DATE '1970-01-01', " + column + ")";
      case TIMESTAMP -> "epoch_us(CAST(" + column + " AS TIMESTAMP))";
      case BOOLEAN, STRING -> "CAST(" + column + " AS VARCHAR)";
    };
  }

  private static void add(ResultSet result, int index, ColumnType type, ColumnSketch sketch)
      throws SQLException {
    switch (type) {
      case INTEGER, DATE, TIMESTAMP -> {
        long value = result.getLong(index);
        if (result.wasNull()) {
          sketch.addNull();
        } else if (type == ColumnType.INTEGER) {
          sketch.addInteger(value);
        } else if (type == ColumnType.DATE) {
          sketch.addDate(value);
        } else {
          sketch.addTimestamp(value);
        }
      }
      case DOUBLE -> {
        double value = result.getDouble(index);
        if (result.wasNull()) {
          sketch.addNull();
        } else {
          sketch.addDouble(value);
        }
      }
      case BOOLEAN, STRING -> {
        String value = result.getString(index);
        if (value == null) {
          sketch.addNull();
        } else {
          sketch.addText(value);
        }
      }
    }
  }

  /**
   * Opens an in-memory database with streaming results and the session settings of {@link
   * DuckDb#open(int)}: preserved row order, UTC time zone and the default memory limit.
   */
  private static Connection openStreaming(int threads) throws SQLException {
    if (threads < 1) {
      throw new IllegalArgumentException("DuckDB threads must be at least 1, got " + threads);
    }
    Properties properties = new Properties();
    properties.setProperty("jdbc_stream_results", "true");
    Connection connection = DriverManager.getConnection("jdbc:duckdb:", properties);
    try (Statement statement = connection.createStatement()) {
      statement.execute("SET threads = " + threads);
      statement.execute("SET memory_limit = " + DuckDb.literal(DuckDb.DEFAULT_MEMORY_LIMIT));
      // Row order decides the KLL compactions, so the same file always gives the same profile.
      statement.execute("SET preserve_insertion_order = true");
      statement.execute("SET TimeZone = 'UTC'");
      statement.execute("SET enable_progress_bar = false");
    } catch (SQLException | RuntimeException e) {
      connection.close();
      throw e;
    }
    return connection;
  }
}
