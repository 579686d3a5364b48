package dev.evergreen.core.snapshot;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Profile;
import dev.evergreen.api.data.Schema;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.core.data.DuckDb;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Reads a batch file as a snapshot would store it, without storing anything: for checking a file
 * from the command line before it is delivered.
 */
public final class BatchFiles {
  private BatchFiles() {}

  /**
   * Reads {@code file} with the same checks, types and pseudonymisation as {@link
   * SnapshotService#ingest}, writes its rows in file order to {@code parquet} and returns a
   * snapshot record that is not stored: its {@code id} is the SHA-256 of the file's bytes, not of
   * its content as a snapshot's id, and its {@code artifactKey} is the Parquet path.
   *
   * @param pseudonymKey HMAC key for columns tagged {@code direct_identifier}, null when not
   *     configured
   * @throws EvergreenException {@link ErrorKind#INVALID_INPUT} when the file cannot be read or does
   *     not fit the pipeline
   */
  public static Snapshot read(
      Path file, PipelineSpec spec, Path parquet, byte[] pseudonymKey, int threads) {
    return load(
        file,
        spec,
        pseudonymKey,
        threads,
        true,
        (batch, connection, table) -> {
          writeParquet(connection, table, parquet);
          return new Snapshot(
              batch.id(),
              batch.source(),
              parquet.toString(),
              batch.schema(),
              batch.profile(),
              batch.tags(),
              batch.createdAt());
        });
  }

  /**
   * Reads {@code file} into DuckDB with the same checks, types and pseudonymisation as {@link
   * #read}, and returns what {@code check} returns for the loaded rows. Nothing is written: the
   * rows are checked in place and dropped with the connection when {@code check} returns. For a
   * Parquet file, {@code check} gets a view over the file instead of a table (see {@link
   * BatchLoader}), unless pseudonymisation has to replace values.
   *
   * <p>The snapshot record passed to {@code check} differs from the one {@link #read} returns: its
   * {@code artifactKey} is null, and its profile holds only the row count and each column's null
   * count, without the extremes, moments, distinct counts and top values that a stored snapshot
   * has.
   *
   * @param pseudonymKey HMAC key for columns tagged {@code direct_identifier}, null when not
   *     configured
   * @throws EvergreenException {@link ErrorKind#INVALID_INPUT} when the file cannot be read or does
   *     not fit the pipeline, {@link ErrorKind#INTERNAL} when {@code check} throws an {@link
   *     SQLException}
   */
  public static <T> T check(
      Path file, PipelineSpec spec, byte[] pseudonymKey, int threads, LoadedBatchCheck<T> check) {
    return load(file, spec, pseudonymKey, threads, false, check);
  }

  /**
   * Writes the rows of {@code table} in file order, which is {@code rowid} order, to the Parquet
   * file {@code parquet}. The {@code rowid} column of a view from {@link #check} is not written.
   *
   * @throws IllegalArgumentException when DuckDB would read {@code parquet} as a glob pattern
   */
  public static void writeParquet(Connection connection, String table, Path parquet)
      throws SQLException {
    try (Statement statement = connection.createStatement()) {
      String columns = hasRowidColumn(connection, table) ? "* EXCLUDE (rowid)" : "*";
      statement.execute(
          "COPY (SELECT "
              + columns
              + " FROM "
              + table
              + " ORDER BY rowid) TO "
              + DuckDb.path(parquet)
              + " (FORMAT parquet)");
    }
  }

  /**
   * Returns true when {@code rowid} is a real column of {@code table}, as in a view over a Parquet
   * file, rather than DuckDB's row id.
   */
  private static boolean hasRowidColumn(Connection connection, String table) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = 'rowid'")) {
      statement.setString(1, table);
      try (ResultSet result = statement.executeQuery()) {
        result.next();
        return result.getLong(1) > 0;
      }
    }
  }

  /** A check of a batch loaded into a DuckDB table or view. */
  @FunctionalInterface
  public interface LoadedBatchCheck<T> {
    /**
     * Checks {@code table}, a table or view, on {@code connection}. Its {@code rowid + 1} is the
     * 1-based row number in the file's order.
     */
    T check(Snapshot batch, Connection connection, String table) throws SQLException;
  }

  /**
   * Loads and pseudonymises {@code file}, profiles it fully when {@code fullProfile} is true, and
   * runs {@code check} on the loaded rows. When {@code fullProfile} is false, it counts rows and
   * nulls only and reads a Parquet file in place.
   */
  private static <T> T load(
      Path file,
      PipelineSpec spec,
      byte[] pseudonymKey,
      int threads,
      boolean fullProfile,
      LoadedBatchCheck<T> check) {
    Path source = file.toAbsolutePath().normalize();
    if (!Files.isRegularFile(source)) {
      throw EvergreenException.invalid(source + ": file not found. Check the path.");
    }
    boolean csv = isCsv(source, spec);
    // The content hash of a stored snapshot reads every row in Java, which takes seconds on
    // millions of rows. A file that is only checked is named by the hash of its bytes instead,
    // computed on another thread while DuckDB opens the file and reads its metadata.
    CompletableFuture<String> id = sha256Async(source);
    try (Connection connection = DuckDb.open(threads)) {
      BatchLoader loader = new BatchLoader(connection, source, csv, spec, !fullProfile);
      Schema schema = loader.load();
      List<String> tagged = Pseudonymizer.taggedColumns(schema, spec, pseudonymKey, source);
      if (!tagged.isEmpty()) {
        loader.materialize();
      }
      schema = Pseudonymizer.apply(connection, BatchLoader.TABLE, schema, tagged, pseudonymKey);
      Profile profile =
          fullProfile
              ? Profiler.of(connection, BatchLoader.TABLE, schema)
              : Profiler.counts(connection, BatchLoader.TABLE, schema);
      Snapshot batch =
          new Snapshot(
              sha256(id),
              source.toString(),
              null,
              schema,
              profile,
              spec.data().personalData(),
              Instant.now());
      return check.check(batch, connection, BatchLoader.TABLE);
    } catch (SQLException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "DuckDB failed while reading " + source + ": " + CsvErrors.firstLine(e.getMessage()),
          e);
    } catch (IOException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL, "cannot read " + source + ": " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      // DuckDb.path rejects file names that DuckDB would read as a glob pattern.
      throw new EvergreenException(ErrorKind.INVALID_INPUT, e.getMessage(), e);
    }
  }

  /** Returns true for CSV: {@code source.format} when set, else the file extension. */
  private static boolean isCsv(Path file, PipelineSpec spec) {
    String format = spec.source() == null ? null : spec.source().format();
    if (format != null) {
      return format.equalsIgnoreCase("csv");
    }
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    if (name.endsWith(".csv")) {
      return true;
    }
    if (name.endsWith(".parquet")) {
      return false;
    }
    throw EvergreenException.invalid(
        file + ": cannot tell the format from the file name; name the file *.csv or *.parquet.");
  }

  /**
   * Starts computing the SHA-256 of {@code file} on a new daemon thread. A failure to read the file
   * is thrown by {@link #sha256(CompletableFuture)}.
   */
  private static CompletableFuture<String> sha256Async(Path file) {
    CompletableFuture<String> hash = new CompletableFuture<>();
    Thread.ofPlatform()
        .name("evergreen-sha256")
        .daemon()
        .start(
            () -> {
              try {
                hash.complete(fileSha256(file));
              } catch (IOException | RuntimeException e) {
                hash.completeExceptionally(e);
              }
            });
    return hash;
  }

  /** Waits for the hash that {@link #sha256Async} computes and returns it. */
  private static String sha256(CompletableFuture<String> hash) throws IOException {
    try {
      return hash.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while hashing the file", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      if (e.getCause() instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  private static String fileSha256(Path file) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
      in.transferTo(OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(digest.digest());
  }
}
