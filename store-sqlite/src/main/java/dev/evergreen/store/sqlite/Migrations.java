package dev.evergreen.store.sqlite;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Versioned schema migrations. Each migration is an SQL resource {@code V<n>__<description>.sql} in
 * {@value #FOLDER}, listed in order in {@code index.txt} there. Pending migrations are applied in
 * one transaction and recorded in {@code schema_migrations} with the SHA-256 of their text.
 */
final class Migrations {
  private static final Logger log = LoggerFactory.getLogger(Migrations.class);

  static final String FOLDER = "/dev/evergreen/store/sqlite/migration/";

  private static final Pattern FILE_NAME = Pattern.compile("V([1-9][0-9]*)__([a-z0-9_]+)\\.sql");

  /**
   * One bundled migration.
   *
   * @param checksum hex SHA-256 of the SQL text with line endings normalized to {@code \n}
   */
  record Migration(int version, String description, String sql, String checksum) {}

  private record Applied(int version, String description, String checksum) {}

  private Migrations() {}

  /** Reads the migrations bundled with this version of Evergreen, oldest first. */
  static List<Migration> bundled() {
    List<Migration> migrations = new ArrayList<>();
    for (String line : resourceText(FOLDER + "index.txt").split("\n")) {
      String name = line.strip();
      if (name.isEmpty() || name.startsWith("#")) {
        continue;
      }
      Matcher matcher = FILE_NAME.matcher(name);
      if (!matcher.matches()) {
        throw new EvergreenException(
            ErrorKind.INTERNAL,
            "migration index lists '" + name + "', which is not named V<n>__<description>.sql");
      }
      int version = Integer.parseInt(matcher.group(1));
      if (version != migrations.size() + 1) {
        throw new EvergreenException(
            ErrorKind.INTERNAL,
            "migration index lists "
                + name
                + " at position "
                + (migrations.size() + 1)
                + "; versions must count 1, 2, 3 without gaps");
      }
      String sql = resourceText(FOLDER + name).replace("\r\n", "\n");
      migrations.add(new Migration(version, matcher.group(2).replace('_', ' '), sql, sha256(sql)));
    }
    return List.copyOf(migrations);
  }

  /**
   * Applies pending migrations. Rejects a database written by a newer Evergreen, and one whose
   * applied migrations differ from the bundled ones.
   */
  static void apply(SqliteDatabase database) {
    List<Migration> bundled = bundled();
    database.write(
        "apply schema migrations",
        connection -> {
          prepareTable(connection, database);
          Map<Integer, Applied> applied = appliedMigrations(connection);
          check(database, bundled, applied);
          for (Migration migration : bundled) {
            if (!applied.containsKey(migration.version())) {
              run(connection, migration);
              log.info(
                  "applied schema migration V{} ({}) to metadata database {}",
                  migration.version(),
                  migration.description(),
                  database.file());
            }
          }
          return null;
        });
  }

  private static void prepareTable(Connection connection, SqliteDatabase database)
      throws SQLException {
    List<String> tables = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                    + " AND name NOT LIKE 'sqlite_%' ORDER BY name")) {
      while (rows.next()) {
        tables.add(rows.getString(1));
      }
    }
    if (tables.contains("schema_migrations")) {
      return;
    }
    if (!tables.isEmpty()) {
      throw new EvergreenException(
          ErrorKind.INVALID_INPUT,
          "file "
              + database.file()
              + " is an SQLite database with tables "
              + tables
              + " but no schema_migrations table, so it is not an Evergreen metadata database;"
              + " pass the path of an Evergreen database or of a new file");
    }
    try (Statement statement = connection.createStatement()) {
      statement.executeUpdate(
          "CREATE TABLE schema_migrations ("
              + " version INTEGER PRIMARY KEY,"
              + " description TEXT NOT NULL,"
              + " applied_at INTEGER NOT NULL,"
              + " checksum TEXT NOT NULL)");
    }
  }

  private static Map<Integer, Applied> appliedMigrations(Connection connection)
      throws SQLException {
    Map<Integer, Applied> applied = new LinkedHashMap<>();
    try (Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT version, description, checksum FROM schema_migrations ORDER BY version")) {
      while (rows.next()) {
        Applied row = new Applied(rows.getInt(1), rows.getString(2), rows.getString(3));
        applied.put(row.version(), row);
      }
    }
    return applied;
  }

  private static void check(
      SqliteDatabase database, List<Migration> bundled, Map<Integer, Applied> applied) {
    int newestKnown = bundled.size();
    int newestApplied = applied.keySet().stream().mapToInt(Integer::intValue).max().orElse(0);
    if (newestApplied > newestKnown) {
      throw new EvergreenException(
          ErrorKind.CONFLICT,
          "metadata database "
              + database.file()
              + " has schema version "
              + newestApplied
              + ", but this version of Evergreen supports schema versions up to "
              + newestKnown
              + "; it was written by a newer Evergreen. Upgrade Evergreen, or pass a different"
              + " database");
    }
    for (Applied row : applied.values()) {
      Migration migration = bundled.get(row.version() - 1);
      if (!migration.checksum().equals(row.checksum())) {
        throw new EvergreenException(
            ErrorKind.INTERNAL,
            "schema migration V"
                + row.version()
                + " ("
                + row.description()
                + ") was applied to metadata database "
                + database.file()
                + " with checksum "
                + row.checksum()
                + ", but the bundled migration has checksum "
                + migration.checksum()
                + ". A released migration must not change; restore its original text and add"
                + " the change as a new migration");
      }
    }
  }

  private static void run(Connection connection, Migration migration) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      // sqlite-jdbc 3.54 runs executeUpdate through sqlite3_exec, which runs every statement of
      // the script, unlike execute, which runs only the first.
      statement.executeUpdate(migration.sql());
    }
    try (PreparedStatement insert =
        connection.prepareStatement(
            "INSERT INTO schema_migrations (version, description, applied_at, checksum)"
                + " VALUES (?, ?, ?, ?)")) {
      insert.setInt(1, migration.version());
      insert.setString(2, migration.description());
      insert.setLong(3, Instant.now().toEpochMilli());
      insert.setString(4, migration.checksum());
      insert.executeUpdate();
    }
  }

  private static String resourceText(String name) {
    try (InputStream in = Migrations.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new EvergreenException(
            ErrorKind.INTERNAL,
            "resource " + name + " is missing from the evergreen-store-sqlite jar; rebuild it");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL, "cannot read resource " + name + ": " + e.getMessage(), e);
    }
  }

  private static String sha256(String text) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }
}
