package dev.evergreen.store.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunStatus;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteTransactionTest {
  private static final String GENESIS = ConcurrentWriter.GENESIS;

  @TempDir Path dir;

  private Path file;
  private SqliteMetadataStore store;

  @BeforeEach
  void openStore() {
    file = dir.resolve("evergreen.db");
    store = SqliteMetadataStore.open(file);
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  @Test
  void rollbackLeavesNothing() {
    Run run = Samples.run("r", "flights", RunStatus.RUNNING, Samples.T0);
    IllegalStateException failure = new IllegalStateException("training crashed");

    assertThatThrownBy(
            () ->
                store.inTransaction(
                    () -> {
                      store.insertRun(run);
                      store.insertSnapshot(Samples.snapshot("s"));
                      store.insertModelVersion(Samples.modelVersion("m", "1"));
                      store.moveAlias(Samples.aliasMove("m", null, 1));
                      store.insertAuditEntry(Samples.auditEntry(1, GENESIS));
                      store.insertLineageEdge(
                          Samples.edge("run", run.id(), "model_version", "m:1"));
                      throw failure;
                    }))
        .isSameAs(failure);

    assertThat(store.findRun(run.id())).isEmpty();
    assertThat(store.findSnapshot(Samples.hex("s"))).isEmpty();
    assertThat(store.listModels()).isEmpty();
    assertThat(store.aliasHistory("m")).isEmpty();
    assertThat(store.lastAuditEntry()).isEmpty();
    assertThat(store.lineageEdgesFrom("run", run.id())).isEmpty();
    assertThat(store.insertModelVersion(Samples.modelVersion("m", "1")).version()).isEqualTo(1);
  }

  @Test
  void transactionReturnsWorkResultAndCommits() {
    Run run = Samples.run("r", "flights", RunStatus.RUNNING, Samples.T0);

    String result =
        store.inTransaction(
            () -> {
              store.insertRun(run);
              return "done";
            });

    assertThat(result).isEqualTo("done");
    try (SqliteMetadataStore other = SqliteMetadataStore.open(file)) {
      assertThat(other.findRun(run.id())).contains(run);
    }
  }

  @Test
  void nestedTransactionsJoinOuter() {
    Run outer = Samples.run("outer", "flights", RunStatus.RUNNING, Samples.T0);
    Run inner = Samples.run("inner", "flights", RunStatus.RUNNING, Samples.T0);

    assertThatThrownBy(
            () ->
                store.inTransaction(
                    () -> {
                      store.insertRun(outer);
                      store.inTransaction(() -> store.insertRun(inner));
                      assertThat(store.findRun(inner.id())).isPresent();
                      throw new IllegalStateException("outer fails after inner returned");
                    }))
        .hasMessageContaining("outer fails");

    assertThat(store.findRun(outer.id())).isEmpty();
    assertThat(store.findRun(inner.id())).isEmpty();
  }

  @Test
  void nestedFailureRollsBackOnlyInner() {
    Run outer = Samples.run("outer", "flights", RunStatus.RUNNING, Samples.T0);
    Run inner = Samples.run("inner", "flights", RunStatus.RUNNING, Samples.T0);

    store.inTransaction(
        () -> {
          store.insertRun(outer);
          try {
            store.inTransaction(
                () -> {
                  store.insertRun(inner);
                  throw new IllegalArgumentException("inner fails");
                });
          } catch (IllegalArgumentException expected) {
            // The outer transaction goes on without the inner writes.
          }
        });

    assertThat(store.findRun(outer.id())).isPresent();
    assertThat(store.findRun(inner.id())).isEmpty();
  }

  @Test
  void uncommittedWritesInvisibleToOtherConnection() throws Exception {
    Run run = Samples.run("r", "flights", RunStatus.RUNNING, Samples.T0);
    try (SqliteMetadataStore other = SqliteMetadataStore.open(file)) {
      store.inTransaction(
          () -> {
            store.insertRun(run);
            assertThat(other.findRun(run.id())).isEmpty();
          });

      assertThat(other.findRun(run.id())).contains(run);
    }
  }

  @Test
  void writerWaitsForOtherConnectionsTransaction() throws Exception {
    Run first = Samples.run("first", "flights", RunStatus.RUNNING, Samples.T0);
    Run second = Samples.run("second", "flights", RunStatus.RUNNING, Samples.T0);
    CountDownLatch locked = new CountDownLatch(1);
    ExecutorService executor = Executors.newSingleThreadExecutor();
    try (SqliteMetadataStore other = SqliteMetadataStore.open(file)) {
      Future<?> holder =
          executor.submit(
              () ->
                  store.inTransaction(
                      () -> {
                        store.insertRun(first);
                        locked.countDown();
                        sleep(Duration.ofMillis(700));
                      }));
      assertThat(locked.await(10, TimeUnit.SECONDS)).isTrue();
      long start = System.nanoTime();

      other.insertRun(second);

      long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      holder.get(10, TimeUnit.SECONDS);
      assertThat(waitedMillis).isGreaterThan(300);
      assertThat(other.listRuns(null, 10)).hasSize(2);
    } finally {
      executor.shutdownNow();
    }
  }

  @Test
  void writeRetriesAfterBusyTimeout() throws Exception {
    Run run = Samples.run("late", "flights", RunStatus.RUNNING, Samples.T0);
    ExecutorService executor = Executors.newSingleThreadExecutor();
    try (SqliteMetadataStore impatient = SqliteMetadataStore.open(file, 100);
        Connection raw = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = raw.createStatement()) {
      statement.executeUpdate("BEGIN IMMEDIATE");
      long start = System.nanoTime();
      Future<?> insert = executor.submit(() -> impatient.insertRun(run));
      sleep(Duration.ofMillis(1_500));
      assertThat(insert.isDone()).as("insert waits while the lock is held").isFalse();
      statement.executeUpdate("COMMIT");

      insert.get(30, TimeUnit.SECONDS);

      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isGreaterThan(1_400);
      assertThat(store.findRun(run.id())).contains(run);
    } finally {
      executor.shutdownNow();
    }
  }

  @Test
  void changeCounterSeesOtherInstanceCommits() {
    try (SqliteMetadataStore other = SqliteMetadataStore.open(file)) {
      long initial = store.changeCounter();
      assertThat(store.changeCounter()).as("no commit in between").isEqualTo(initial);

      other.insertRun(Samples.run("a", "flights", RunStatus.RUNNING, Samples.T0));
      long afterOther = store.changeCounter();
      assertThat(afterOther).isNotEqualTo(initial);
      assertThat(store.changeCounter()).isEqualTo(afterOther);

      store.insertRun(Samples.run("b", "flights", RunStatus.RUNNING, Samples.T0));
      long afterOwn = store.changeCounter();
      assertThat(afterOwn).isNotEqualTo(afterOther);

      assertThatThrownBy(
              () ->
                  store.inTransaction(
                      () -> {
                        store.insertRun(Samples.run("c", "flights", RunStatus.RUNNING, Samples.T0));
                        throw new IllegalStateException("rolled back");
                      }))
          .isInstanceOf(IllegalStateException.class);
      assertThat(store.changeCounter()).as("after a rollback").isEqualTo(afterOwn);

      other.listRuns(null, 10);
      assertThat(store.changeCounter()).as("after a read elsewhere").isEqualTo(afterOwn);
    }
  }

  @Test
  void twoInstancesWriteConcurrentlyWithoutErrors() throws Exception {
    Duration duration = Duration.ofSeconds(3);
    ExecutorService executor = Executors.newFixedThreadPool(2);
    try (SqliteMetadataStore other = SqliteMetadataStore.open(file)) {
      Future<ConcurrentWriter.Result> first =
          executor.submit(() -> ConcurrentWriter.run(store, "first", 8, duration));
      Future<ConcurrentWriter.Result> second =
          executor.submit(() -> ConcurrentWriter.run(other, "second", 8, duration));
      ConcurrentWriter.Result firstResult = first.get(120, TimeUnit.SECONDS);
      ConcurrentWriter.Result secondResult = second.get(120, TimeUnit.SECONDS);

      assertThat(firstResult.errors()).isEmpty();
      assertThat(secondResult.errors()).isEmpty();
      assertThat(firstResult.writes()).isPositive();
      assertThat(secondResult.writes()).isPositive();
      assertAllWritesStored(firstResult.writes() + secondResult.writes());
    } finally {
      executor.shutdownNow();
    }
  }

  @Test
  void separateProcessWritesConcurrentlyWithoutErrors() throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Path output = dir.resolve("child.out");
    Process child =
        new ProcessBuilder(
                java.toString(),
                "-cp",
                childClassPath(),
                "--enable-native-access=ALL-UNNAMED",
                ConcurrentWriter.class.getName(),
                file.toString(),
                "3",
                "child",
                "4")
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .start();
    try {
      ConcurrentWriter.Result parent =
          ConcurrentWriter.run(store, "parent", 4, Duration.ofSeconds(3));
      assertThat(child.waitFor(120, TimeUnit.SECONDS)).isTrue();
      String childOutput = Files.readString(output);

      assertThat(child.exitValue()).as(childOutput).isZero();
      assertThat(parent.errors()).isEmpty();
      Matcher writes = Pattern.compile("writes (\\d+)").matcher(childOutput);
      assertThat(writes.find()).as(childOutput).isTrue();
      int childWrites = Integer.parseInt(writes.group(1));
      assertThat(childWrites).isPositive();
      assertAllWritesStored(parent.writes() + childWrites);
    } finally {
      child.destroyForcibly();
    }
  }

  /**
   * Returns the test class path with private copies of the Evergreen jars. Those jars come from the
   * local Maven repository, where a concurrent {@code mvn install} can rewrite them while the child
   * runs.
   */
  private String childClassPath() throws IOException {
    Path copies = Files.createDirectories(dir.resolve("classpath"));
    List<String> entries = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      Path path = Path.of(entry);
      if (entry.endsWith(".jar") && path.getFileName().toString().startsWith("evergreen-")) {
        Path copy = copies.resolve(path.getFileName());
        Files.copy(path, copy);
        entries.add(copy.toString());
      } else {
        entries.add(entry);
      }
    }
    return String.join(File.pathSeparator, entries);
  }

  /** Checks that every run and audit entry is stored and that the audit chain has no gap. */
  private void assertAllWritesStored(int writes) {
    assertThat(store.listRuns(null, Integer.MAX_VALUE)).hasSize(writes);
    List<AuditEntry> log = store.listAuditEntries(0, Integer.MAX_VALUE);
    assertThat(log).hasSize(writes);
    String previous = GENESIS;
    for (int i = 0; i < log.size(); i++) {
      assertThat(log.get(i).sequence()).isEqualTo(i + 1L);
      assertThat(log.get(i).previousHash()).isEqualTo(previous);
      previous = log.get(i).hash();
    }
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
