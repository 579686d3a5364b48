package dev.evergreen.core.data;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.regex.Pattern;

/**
 * Opens in-memory DuckDB connections with explicit resource limits and quotes names and paths for
 * SQL text. DuckDB cannot bind identifiers or the paths of table functions and {@code COPY} as
 * parameters, so every name and path that reaches SQL goes through {@link #identifier} or {@link
 * #literal}.
 */
public final class DuckDb {
  /** Memory limit used when the caller has no reason to choose another. */
  public static final String DEFAULT_MEMORY_LIMIT = "2GB";

  private static final Pattern MEMORY_LIMIT =
      Pattern.compile("[0-9]+(\\.[0-9]+)?\\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)");

  // Characters that DuckDB's file readers expand as glob patterns.
  private static final Pattern GLOB = Pattern.compile("[*?\\[\\]{}]");

  private DuckDb() {}

  /**
   * Opens an in-memory database that uses at most {@code threads} threads and {@code memoryLimit}
   * of memory (DuckDB syntax such as {@code 2GB} or {@code 512MiB}). The session time zone is UTC,
   * so casts between {@code TIMESTAMP WITH TIME ZONE} and {@code TIMESTAMP} give UTC wall-clock
   * time, and insertion order is preserved, so a table created from a file keeps the file's row
   * order.
   */
  public static Connection open(int threads, String memoryLimit) throws SQLException {
    if (threads < 1) {
      throw new IllegalArgumentException("DuckDB threads must be at least 1, got " + threads);
    }
    if (memoryLimit == null || !MEMORY_LIMIT.matcher(memoryLimit).matches()) {
      throw new IllegalArgumentException(
          "invalid DuckDB memory limit '" + memoryLimit + "'; use a size such as 2GB or 512MiB");
    }
    Connection connection = DriverManager.getConnection("jdbc:duckdb:");
    try (Statement statement = connection.createStatement()) {
      statement.execute("SET threads = " + threads);
      statement.execute("SET memory_limit = " + literal(memoryLimit));
      statement.execute("SET preserve_insertion_order = true");
      statement.execute("SET TimeZone = 'UTC'");
      statement.execute("SET enable_progress_bar = false");
    } catch (SQLException | RuntimeException e) {
      connection.close();
      throw e;
    }
    return connection;
  }

  /** Opens a database with {@link #DEFAULT_MEMORY_LIMIT}. */
  public static Connection open(int threads) throws SQLException {
    return open(threads, DEFAULT_MEMORY_LIMIT);
  }

  /** Quotes a column or table name: {@code a"b} becomes {@code "a""b"}. */
  public static String identifier(String name) {
    checkNoNul(name, "identifier");
    return '"' + name.replace("\"", "\"\"") + '"';
  }

  /**
   * Quotes a string literal: {@code it's} becomes {@code 'it''s'}. A NUL character, which a literal
   * cannot hold, is spliced in with {@code chr(0)}: {@code a\0b} becomes {@code ('a' || chr(0) ||
   * 'b')}, so that values read from data, where NUL can occur, stay usable in rules.
   */
  public static String literal(String text) {
    if (text.indexOf('\0') < 0) {
      return quote(text);
    }
    StringBuilder spliced = new StringBuilder("(");
    String[] parts = text.split("\0", -1);
    for (int i = 0; i < parts.length; i++) {
      if (i > 0) {
        spliced.append(" || chr(0) || ");
      }
      spliced.append(quote(parts[i]));
    }
    return spliced.append(')').toString();
  }

  private static String quote(String text) {
    return '\'' + text.replace("'", "''") + '\'';
  }

  /**
   * Quotes the absolute form of a file path as a literal for {@code read_csv}, {@code read_parquet}
   * and {@code COPY}. Paths with glob characters are rejected, because the readers would expand
   * them and could read other files than the one named.
   */
  public static String path(Path file) {
    String text = file.toAbsolutePath().normalize().toString();
    if (GLOB.matcher(text).find()) {
      throw new IllegalArgumentException(
          "file path "
              + text
              + " contains one of the characters * ? [ ] { }, which DuckDB reads as a pattern;"
              + " rename the file or its folder");
    }
    return literal(text);
  }

  private static void checkNoNul(String text, String kind) {
    if (text.indexOf('\0') >= 0) {
      throw new IllegalArgumentException(kind + " contains a NUL character: " + text);
    }
  }
}
