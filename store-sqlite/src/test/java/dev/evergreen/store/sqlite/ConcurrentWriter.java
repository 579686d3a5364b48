package dev.evergreen.store.sqlite;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.run.RunStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Writes runs and audit entries from several threads for a while, as a server or CLI process would.
 * Tests run it in-process and as a separate JVM against the same database file.
 */
final class ConcurrentWriter {
  static final String GENESIS = "0".repeat(64);

  /** Counts of a finished write session. */
  record Result(int writes, List<Throwable> errors) {}

  private ConcurrentWriter() {}

  /**
   * Usage: {@code ConcurrentWriter <database file> <seconds> <worker name> <threads>}. Prints
   * {@code writes <n>} and exits with 1 when any write failed.
   */
  public static void main(String[] args) throws Exception {
    Path file = Path.of(args[0]);
    Duration duration = Duration.ofSeconds(Long.parseLong(args[1]));
    try (SqliteMetadataStore store = SqliteMetadataStore.open(file)) {
      Result result = run(store, args[2], Integer.parseInt(args[3]), duration);
      for (Throwable error : result.errors()) {
        error.printStackTrace();
      }
      System.out.println("writes " + result.writes());
      System.exit(result.errors().isEmpty() ? 0 : 1);
    }
  }

  /** Each thread inserts a run and appends an audit entry, repeatedly until the time is up. */
  static Result run(SqliteMetadataStore store, String name, int threads, Duration duration)
      throws Exception {
    AtomicInteger writes = new AtomicInteger();
    List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
    ExecutorService executor = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> workers = new ArrayList<>();
      long deadline = System.nanoTime() + duration.toNanos();
      for (int t = 0; t < threads; t++) {
        String worker = name + "-thread" + t;
        workers.add(
            executor.submit(
                () -> {
                  for (int i = 0; System.nanoTime() < deadline; i++) {
                    try {
                      store.insertRun(
                          Samples.run(
                              worker + "-" + i,
                              worker,
                              RunStatus.RUNNING,
                              Samples.T0.plusMillis(i)));
                      appendAudit(store, worker);
                      writes.incrementAndGet();
                    } catch (Throwable e) {
                      errors.add(e);
                    }
                  }
                }));
      }
      for (Future<?> worker : workers) {
        worker.get(duration.toSeconds() + 60, TimeUnit.SECONDS);
      }
    } finally {
      executor.shutdownNow();
    }
    return new Result(writes.get(), List.copyOf(errors));
  }

  /** Appends an entry the way an audit log does: read the last entry and insert the next one. */
  static void appendAudit(SqliteMetadataStore store, String actor) {
    store.inTransaction(
        () -> {
          AuditEntry last = store.lastAuditEntry().orElse(null);
          long sequence = last == null ? 1 : last.sequence() + 1;
          String previous = last == null ? GENESIS : last.hash();
          store.insertAuditEntry(
              new AuditEntry(
                  sequence,
                  Samples.T0,
                  actor,
                  "run.started",
                  Map.of("pipeline", actor),
                  Map.of(),
                  previous,
                  Samples.hex(sequence + previous)));
        });
  }
}
