package dev.evergreen.store.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MigrationsTest {
  @TempDir Path dir;

  @Test
  void migrationsRecordedOnceAcrossReopen() throws SQLException {
    Path file = dir.resolve("evergreen.db");
    List<Migrations.Migration> bundled = Migrations.bundled();

    SqliteMetadataStore.open(file).close();
    List<List<String>> first = migrationRows(file);
    SqliteMetadataStore.open(file).close();
    List<List<String>> second = migrationRows(file);

    assertThat(first).hasSize(bundled.size());
    for (int i = 0; i < bundled.size(); i++) {
      Migrations.Migration migration = bundled.get(i);
      assertThat(first.get(i))
          .containsExactly(
              Integer.toString(migration.version()),
              migration.description(),
              first.get(i).get(2),
              migration.checksum());
    }
    assertThat(second).isEqualTo(first);
    assertThat(first.get(0).get(1)).isEqualTo("initial schema");
  }

  @Test
  void indexListsEveryMigrationFile() throws Exception {
    Path folder = resourceFolder();
    List<String> files;
    try (Stream<Path> entries = Files.list(folder)) {
      files = entries.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".sql")).toList();
    }

    List<String> listed =
        Migrations.bundled().stream()
            .map(m -> "V" + m.version() + "__" + m.description().replace(' ', '_') + ".sql")
            .toList();

    assertThat(listed).containsExactlyInAnyOrderElementsOf(files);
  }

  @Test
  void schemaContainsExpectedTables() throws SQLException {
    Path file = dir.resolve("evergreen.db");
    SqliteMetadataStore.open(file).close();

    List<String> tables = new ArrayList<>();
    try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = raw.createStatement();
        ResultSet rows =
            statement.executeQuery("SELECT name FROM sqlite_master WHERE type = 'table'")) {
      while (rows.next()) {
        tables.add(rows.getString(1));
      }
    }

    assertThat(tables)
        .contains(
            "schema_migrations",
            "snapshots",
            "pipeline_state",
            "runs",
            "validation_reports",
            "registered_models",
            "model_versions",
            "aliases",
            "alias_moves",
            "deployment_events",
            "audit_log",
            "lineage_edges",
            "tokens");
  }

  @Test
  void newerSchemaVersionIsRejected() throws SQLException {
    Path file = dir.resolve("evergreen.db");
    SqliteMetadataStore.open(file).close();
    int newer = Migrations.bundled().size() + 1;
    execute(
        file,
        "INSERT INTO schema_migrations (version, description, applied_at, checksum)"
            + " VALUES ("
            + newer
            + ", 'from the future', 0, 'abc')");

    assertThatThrownBy(() -> SqliteMetadataStore.open(file))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFLICT))
        .hasMessageContaining(file.toAbsolutePath().toString())
        .hasMessageContaining("schema version " + newer)
        .hasMessageContaining("newer Evergreen");
  }

  @Test
  void changedChecksumIsRejected() throws SQLException {
    Path file = dir.resolve("evergreen.db");
    SqliteMetadataStore.open(file).close();
    execute(file, "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");

    assertThatThrownBy(() -> SqliteMetadataStore.open(file))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INTERNAL))
        .hasMessageContaining("V1")
        .hasMessageContaining("edited");
  }

  @Test
  void foreignDatabaseIsRejected() throws SQLException {
    Path file = dir.resolve("other.db");
    execute(file, "CREATE TABLE customers (id INTEGER PRIMARY KEY)");

    assertThatThrownBy(() -> SqliteMetadataStore.open(file))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT))
        .hasMessageContaining("customers");
  }

  @Test
  void fileThatIsNotSqliteIsRejected() throws Exception {
    Path file = dir.resolve("notes.db");
    Files.writeString(file, "these are notes, not a database\n".repeat(100));

    assertThatThrownBy(() -> SqliteMetadataStore.open(file))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(file.toAbsolutePath().toString());
  }

  @Test
  void concurrentFirstOpensMigrateOnce() throws Exception {
    Path file = dir.resolve("shared.db");
    int openers = 4;
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService executor = Executors.newFixedThreadPool(openers);
    try {
      List<Future<Void>> results = new ArrayList<>();
      for (int i = 0; i < openers; i++) {
        Callable<Void> open =
            () -> {
              start.await();
              SqliteMetadataStore.open(file).close();
              return null;
            };
        results.add(executor.submit(open));
      }
      start.countDown();
      for (Future<Void> result : results) {
        result.get(60, TimeUnit.SECONDS);
      }
    } finally {
      executor.shutdownNow();
    }

    assertThat(migrationRows(file)).hasSize(Migrations.bundled().size());
  }

  private static Path resourceFolder() throws URISyntaxException {
    return Path.of(Migrations.class.getResource(Migrations.FOLDER).toURI());
  }

  private static List<List<String>> migrationRows(Path file) throws SQLException {
    List<List<String>> rows = new ArrayList<>();
    try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = raw.createStatement();
        ResultSet result =
            statement.executeQuery(
                "SELECT version, description, applied_at, checksum FROM schema_migrations"
                    + " ORDER BY version")) {
      while (result.next()) {
        rows.add(
            List.of(
                result.getString(1),
                result.getString(2),
                result.getString(3),
                result.getString(4)));
      }
    }
    return rows;
  }

  private static void execute(Path file, String sql) throws SQLException {
    try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = raw.createStatement()) {
      statement.executeUpdate(sql);
    }
  }
}
