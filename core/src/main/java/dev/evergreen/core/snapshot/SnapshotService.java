package dev.evergreen.core.snapshot;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Profile;
import dev.evergreen.api.data.Schema;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.data.DuckDb;
import dev.evergreen.core.store.ArtifactStore;
import dev.evergreen.core.store.MetadataStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a batch file into an immutable, content-addressed snapshot. It reads the CSV or Parquet
 * file with DuckDB, checks and types its columns and pseudonymises direct identifiers. Then it
 * computes the id and the profile, stores the rows as Parquet in the artifact store and records the
 * snapshot with an audit entry. A file that fails a check stores nothing.
 */
public final class SnapshotService {
  private static final Logger log = LoggerFactory.getLogger(SnapshotService.class);

  private final MetadataStore store;
  private final ArtifactStore artifacts;
  private final AuditLog audit;
  private final Clock clock;
  private final byte[] pseudonymKey;
  private final int threads;

  /**
   * @param pseudonymKey HMAC key for columns tagged {@code direct_identifier}, null when not
   *     configured; it is never logged or stored
   * @param threads DuckDB threads
   */
  public SnapshotService(
      MetadataStore store,
      ArtifactStore artifacts,
      AuditLog audit,
      Clock clock,
      byte[] pseudonymKey,
      int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    this.store = store;
    this.artifacts = artifacts;
    this.audit = audit;
    this.clock = clock;
    this.pseudonymKey = pseudonymKey == null ? null : pseudonymKey.clone();
    this.threads = threads;
  }

  /**
   * Ingests one batch file. The same content ingested again returns the stored snapshot with {@code
   * created} false and stores nothing new.
   *
   * @throws EvergreenException {@link ErrorKind#INVALID_INPUT} when the file cannot be read or does
   *     not fit the pipeline; the message names the file, the line or row, the column and value,
   *     and the next step
   */
  public SnapshotResult ingest(Path file, PipelineSpec spec, String actor) {
    Path source = file.toAbsolutePath().normalize();
    if (!Files.isRegularFile(source)) {
      throw EvergreenException.invalid(
          source + ": file not found. Check the path, or wait until the file has been written.");
    }
    boolean csv = isCsv(source, spec);
    try (Connection connection = DuckDb.open(threads)) {
      Schema schema = new BatchLoader(connection, source, csv, spec).load();
      List<String> tagged = Pseudonymizer.taggedColumns(schema, spec, pseudonymKey, source);
      schema = Pseudonymizer.apply(connection, BatchLoader.TABLE, schema, tagged, pseudonymKey);
      String id = ContentHash.of(connection, BatchLoader.TABLE, schema);

      Optional<Snapshot> existing = store.findSnapshot(id);
      if (existing.isPresent()) {
        log.info(
            "snapshot {} already stored; {} adds nothing new", existing.get().shortId(), source);
        return new SnapshotResult(existing.get(), false);
      }
      String artifactKey = writeParquet(connection);
      Profile profile =
          Profiler.of(connection, BatchLoader.TABLE, schema, artifacts, artifactKey, threads);
      Snapshot snapshot =
          new Snapshot(
              id,
              source.toString(),
              artifactKey,
              schema,
              profile,
              spec.data().personalData(),
              clock.instant().truncatedTo(ChronoUnit.MILLIS));
      return record(snapshot, actor);
    } catch (SQLException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "DuckDB failed while ingesting " + source + ": " + CsvErrors.firstLine(e.getMessage()),
          e);
    } catch (IOException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL, "cannot ingest " + source + ": " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      // DuckDb.path rejects file names that DuckDB would read as a glob pattern.
      throw new EvergreenException(ErrorKind.INVALID_INPUT, e.getMessage(), e);
    }
  }

  /** Returns a local path of the snapshot's Parquet file, downloading it first if needed. */
  public Path parquetOf(Snapshot snapshot) {
    try {
      return artifacts.localPath(snapshot.artifactKey());
    } catch (IOException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "cannot read the Parquet file "
              + snapshot.artifactKey()
              + " of snapshot "
              + snapshot.shortId()
              + ": "
              + e.getMessage(),
          e);
    }
  }

  private SnapshotResult record(Snapshot snapshot, String actor) {
    boolean created =
        store.inTransaction(
            () -> {
              if (!store.insertSnapshot(snapshot)) {
                return false;
              }
              audit.append(
                  actor,
                  AuditActions.SNAPSHOT_CREATED,
                  Map.of("snapshot", snapshot.id()),
                  Map.of(
                      "source", snapshot.source(),
                      "artifact", snapshot.artifactKey(),
                      "rows", Long.toString(snapshot.profile().rowCount())));
              return true;
            });
    if (!created) {
      // Another process stored the same content between the lookup and the insert.
      Snapshot stored = store.findSnapshot(snapshot.id()).orElse(snapshot);
      return new SnapshotResult(stored, false);
    }
    log.info(
        "snapshot {} created from {}: {} rows, {} columns",
        snapshot.shortId(),
        snapshot.source(),
        snapshot.profile().rowCount(),
        snapshot.schema().columns().size());
    return new SnapshotResult(snapshot, true);
  }

  /** Writes the table as Parquet in row order and stores the file; returns its artifact key. */
  private String writeParquet(Connection connection) throws SQLException, IOException {
    Path temporary = Files.createTempFile("evergreen-snapshot-", ".parquet");
    try {
      try (Statement statement = connection.createStatement()) {
        statement.execute(
            "COPY (SELECT * FROM "
                + BatchLoader.TABLE
                + " ORDER BY rowid) TO "
                + DuckDb.path(temporary)
                + " (FORMAT parquet, COMPRESSION zstd)");
      }
      return artifacts.put(temporary);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  private static boolean isCsv(Path file, PipelineSpec spec) {
    String format = spec.source().format();
    if (format == null) {
      String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
      if (name.endsWith(".csv")) {
        return true;
      }
      if (name.endsWith(".parquet")) {
        return false;
      }
      throw EvergreenException.invalid(
          file
              + ": cannot tell the format from the file name; name the file *.csv or *.parquet, or"
              + " set source.format to csv or parquet in the pipeline.");
    }
    return switch (format.toLowerCase(Locale.ROOT)) {
      case "csv" -> true;
      case "parquet" -> false;
      default ->
          throw EvergreenException.invalid(
              "source.format '" + format + "' is not supported; use csv or parquet.");
    };
  }
}
