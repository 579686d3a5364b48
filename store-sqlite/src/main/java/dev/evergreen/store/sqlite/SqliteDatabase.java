package dev.evergreen.store.sqlite;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteException;

/**
 * One SQLite connection shared by the threads of a store, with transactions that take the write
 * lock at their start and retry while another connection holds it.
 *
 * <p>A {@link ReentrantLock} serializes the use of the connection, so a thread inside {@link
 * #inTransaction} has the connection to itself until the outermost call returns. The outermost call
 * runs {@code BEGIN IMMEDIATE ... COMMIT}. Nested calls run inside a savepoint: they join the outer
 * transaction, and when one throws, only its own writes are rolled back before the exception
 * propagates.
 */
final class SqliteDatabase implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SqliteDatabase.class);

  /** How long SQLite itself waits for a lock held by another connection, by default. */
  static final int BUSY_TIMEOUT_MILLIS = 30_000;

  /**
   * Further attempts after SQLite returned SQLITE_BUSY despite the busy timeout, for example when
   * the lock holder ran longer than the timeout.
   */
  private static final int BUSY_RETRIES = 8;

  private static final long FIRST_BACKOFF_MILLIS = 50;
  private static final long MAX_BACKOFF_MILLIS = 2_000;

  /** SQLite primary result code SQLITE_BUSY; extended codes share its low byte. */
  private static final int SQLITE_BUSY = 5;

  /** Work on the connection that may throw {@link SQLException}. */
  @FunctionalInterface
  interface SqlWork<T> {
    T run(Connection connection) throws SQLException;
  }

  private final Path file;
  private final Connection connection;
  private final int busyTimeoutMillis;
  private final ReentrantLock lock = new ReentrantLock();

  /** Open transaction levels of the thread that holds {@link #lock}: 0 outside a transaction. */
  private int depth;

  private long localCommits;
  private long lastDataVersion;
  private long changes;
  private boolean closed;

  private SqliteDatabase(Path file, Connection connection, int busyTimeoutMillis) {
    this.file = file;
    this.connection = connection;
    this.busyTimeoutMillis = busyTimeoutMillis;
  }

  /** Opens or creates the database file and configures the connection. */
  static SqliteDatabase open(Path file, int busyTimeoutMillis) {
    Path absolute = file.toAbsolutePath().normalize();
    try {
      Path parent = absolute.getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
    } catch (IOException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "cannot create the folder of metadata database "
              + absolute
              + ": "
              + e
              + "; check that the path is writable",
          e);
    }
    Connection connection = connect(absolute, busyTimeoutMillis);
    SqliteDatabase database = new SqliteDatabase(absolute, connection, busyTimeoutMillis);
    try {
      database.configure();
    } catch (RuntimeException e) {
      database.close();
      throw e;
    }
    return database;
  }

  private static Connection connect(Path file, int busyTimeoutMillis) {
    SQLiteConfig config = new SQLiteConfig();
    // Set when the connection opens, so that it covers the pragmas below as well.
    config.setBusyTimeout(busyTimeoutMillis);
    try {
      return DriverManager.getConnection("jdbc:sqlite:" + file, config.toProperties());
    } catch (SQLException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL, "cannot open metadata database " + file + ": " + e.getMessage(), e);
    }
  }

  private void configure() {
    withBusyRetry(
        "configure the connection",
        connection -> {
          try (Statement statement = connection.createStatement()) {
            String mode = queryText(statement, "PRAGMA journal_mode=WAL");
            if (!"wal".equalsIgnoreCase(mode)) {
              throw new EvergreenException(
                  ErrorKind.INTERNAL,
                  "metadata database "
                      + file
                      + " cannot use write-ahead logging (journal mode is '"
                      + mode
                      + "'); place it on a local file system");
            }
            // FULL syncs the WAL on every commit. NORMAL would be faster, but a commit could then
            // be lost on power failure, and losing a promoted version or an audit entry after a
            // crash is worse than slower writes.
            statement.executeUpdate("PRAGMA synchronous=FULL");
            statement.executeUpdate("PRAGMA foreign_keys=ON");
            statement.executeUpdate("PRAGMA busy_timeout=" + busyTimeoutMillis);
            lastDataVersion = queryLong(statement, "PRAGMA data_version");
          }
          return null;
        });
  }

  Path file() {
    return file;
  }

  /** Returns the value of a pragma on this connection, such as {@code foreign_keys}. */
  String pragma(String name) {
    return read(
        "read pragma " + name,
        connection -> {
          try (Statement statement = connection.createStatement()) {
            return queryText(statement, "PRAGMA " + name);
          }
        });
  }

  /**
   * Runs work in a transaction. The outermost call commits when the work returns and rolls back
   * when it throws. A nested call on the same thread joins it through a savepoint.
   */
  <T> T inTransaction(Supplier<T> work) {
    lock.lock();
    try {
      checkOpen();
      return depth == 0 ? runOutermost(work) : runNested(work);
    } finally {
      lock.unlock();
    }
  }

  /** Runs work on the connection inside a transaction, translating {@link SQLException}. */
  <T> T write(String operation, SqlWork<T> work) {
    return inTransaction(() -> call(operation, work));
  }

  /**
   * Runs read-only work on the connection. Outside a transaction each statement reads its own
   * snapshot of the database, so work of several statements should run inside {@link
   * #inTransaction}.
   */
  <T> T read(String operation, SqlWork<T> work) {
    lock.lock();
    try {
      checkOpen();
      if (depth > 0) {
        return call(operation, work);
      }
      // A read outside a transaction changes nothing, so repeating it after SQLITE_BUSY is safe.
      return withBusyRetry(operation, work);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns a value that changes after every commit to the database, by this connection or any
   * other. {@code PRAGMA data_version} changes only on commits of other connections, so commits of
   * this connection are counted separately.
   */
  long changeCounter() {
    lock.lock();
    try {
      checkOpen();
      long dataVersion =
          call(
              "read the data version",
              connection -> {
                try (Statement statement = connection.createStatement()) {
                  return queryLong(statement, "PRAGMA data_version");
                }
              });
      if (dataVersion != lastDataVersion) {
        lastDataVersion = dataVersion;
        changes++;
      }
      return changes + localCommits;
    } finally {
      lock.unlock();
    }
  }

  private <T> T runOutermost(Supplier<T> work) {
    withBusyRetry("begin a transaction", connection -> execute("BEGIN IMMEDIATE"));
    depth = 1;
    T result;
    try {
      result = work.get();
    } catch (Throwable failure) {
      depth = 0;
      rollback(failure);
      throw failure;
    }
    try {
      // In WAL mode a commit does not wait for readers, but SQLITE_BUSY leaves the transaction
      // open, so repeating the commit is safe.
      withBusyRetry("commit a transaction", connection -> execute("COMMIT"));
    } catch (RuntimeException failure) {
      depth = 0;
      rollback(failure);
      throw failure;
    }
    depth = 0;
    localCommits++;
    return result;
  }

  private <T> T runNested(Supplier<T> work) {
    String savepoint = "level" + depth;
    call("create savepoint " + savepoint, connection -> execute("SAVEPOINT " + savepoint));
    depth++;
    T result;
    try {
      result = work.get();
    } catch (Throwable failure) {
      depth--;
      try {
        execute("ROLLBACK TO " + savepoint);
        execute("RELEASE " + savepoint);
      } catch (SQLException e) {
        failure.addSuppressed(e);
      }
      throw failure;
    }
    depth--;
    call("release savepoint " + savepoint, connection -> execute("RELEASE " + savepoint));
    return result;
  }

  private void rollback(Throwable failure) {
    try {
      execute("ROLLBACK");
    } catch (SQLException e) {
      // Some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM) make SQLite roll back by itself,
      // and then there is no transaction left to roll back.
      if (e.getMessage() == null || !e.getMessage().contains("no transaction is active")) {
        failure.addSuppressed(e);
        log.error("rollback failed on metadata database {}", file, e);
      }
    }
  }

  private Void execute(String sql) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.executeUpdate(sql);
    }
    return null;
  }

  private <T> T call(String operation, SqlWork<T> work) {
    try {
      return work.run(connection);
    } catch (SQLException e) {
      throw failure(operation, e);
    }
  }

  private <T> T withBusyRetry(String operation, SqlWork<T> work) {
    long backoff = FIRST_BACKOFF_MILLIS;
    for (int attempt = 0; ; attempt++) {
      try {
        return work.run(connection);
      } catch (SQLException e) {
        if (!isBusy(e) || attempt >= BUSY_RETRIES) {
          throw failure(operation, e);
        }
        long sleep = backoff + ThreadLocalRandom.current().nextLong(backoff);
        log.warn(
            "metadata database {} is locked by another connection ({}); retrying to {} in {} ms,"
                + " attempt {} of {}",
            file,
            e.getMessage(),
            operation,
            sleep,
            attempt + 1,
            BUSY_RETRIES);
        sleep(sleep, operation, e);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
      }
    }
  }

  private void sleep(long millis, String operation, SQLException cause) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException interrupted) {
      Thread.currentThread().interrupt();
      throw new EvergreenException(
          ErrorKind.UNAVAILABLE,
          "interrupted while waiting to " + operation + " on metadata database " + file,
          cause);
    }
  }

  static boolean isBusy(SQLException e) {
    if (e instanceof SQLiteException sqlite) {
      return (sqlite.getResultCode().code & 0xff) == SQLITE_BUSY;
    }
    return (e.getErrorCode() & 0xff) == SQLITE_BUSY;
  }

  private EvergreenException failure(String operation, SQLException e) {
    if (isBusy(e)) {
      return new EvergreenException(
          ErrorKind.UNAVAILABLE,
          "cannot "
              + operation
              + ": metadata database "
              + file
              + " stayed locked by another process; retry when its current command has finished",
          e);
    }
    return new EvergreenException(
        ErrorKind.INTERNAL,
        "cannot " + operation + " in metadata database " + file + ": " + e.getMessage(),
        e);
  }

  private static String queryText(Statement statement, String sql) throws SQLException {
    try (ResultSet rows = statement.executeQuery(sql)) {
      return rows.next() ? rows.getString(1) : null;
    }
  }

  private static long queryLong(Statement statement, String sql) throws SQLException {
    try (ResultSet rows = statement.executeQuery(sql)) {
      if (!rows.next()) {
        throw new SQLException(sql + " returned no row");
      }
      return rows.getLong(1);
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new EvergreenException(
          ErrorKind.UNAVAILABLE, "metadata database " + file + " is closed; open it again");
    }
  }

  @Override
  public void close() {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      connection.close();
    } catch (SQLException e) {
      log.warn("closing metadata database {} failed", file, e);
    } finally {
      lock.unlock();
    }
  }
}
