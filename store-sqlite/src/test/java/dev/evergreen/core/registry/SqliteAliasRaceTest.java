package dev.evergreen.core.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.lineage.LineageService;
import dev.evergreen.store.sqlite.SqliteMetadataStore;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two registries over one SQLite file, each with its own connection as two processes have, moving
 * the champion alias from the version both read.
 */
class SqliteAliasRaceTest {
  private static final String MODEL = "m";
  private static final int ROUNDS = 20;

  @TempDir Path dir;

  private static ModelRegistry registry(SqliteMetadataStore store) {
    Clock clock = Clock.systemUTC();
    return new ModelRegistry(
        store, new AuditLog(store, clock), new LineageService(store, clock), clock);
  }

  private static ModelVersion draft(int number) {
    return new ModelVersion(
        MODEL,
        0,
        "models/m/" + number,
        "ab".repeat(32),
        null,
        "snapshot-" + number,
        Map.of("auc", 0.8),
        null,
        Instant.ofEpochMilli(1_000L * number));
  }

  @Test
  void onlyOneOfTwoRacingMovesWins() throws Exception {
    Path database = dir.resolve("evergreen.db");
    ExecutorService threads = Executors.newFixedThreadPool(2);
    try (SqliteMetadataStore firstStore = SqliteMetadataStore.open(database);
        SqliteMetadataStore secondStore = SqliteMetadataStore.open(database)) {
      ModelRegistry first = registry(firstStore);
      ModelRegistry second = registry(secondStore);
      for (int number = 1; number <= 2 * ROUNDS + 1; number++) {
        first.register(draft(number), "setup");
      }
      first.moveAlias(MODEL, Aliases.CHAMPION, 1, "setup", "first champion");
      int champion = 1;

      for (int round = 0; round < ROUNDS; round++) {
        int compared = champion;
        int mine = 2 + 2 * round;
        int theirs = mine + 1;
        CyclicBarrier start = new CyclicBarrier(2);
        Future<Boolean> firstMoved =
            threads.submit(() -> tryMove(first, start, compared, mine, "first"));
        Future<Boolean> secondMoved =
            threads.submit(() -> tryMove(second, start, compared, theirs, "second"));
        boolean firstWon = firstMoved.get(30, TimeUnit.SECONDS);
        boolean secondWon = secondMoved.get(30, TimeUnit.SECONDS);

        assertThat(firstWon ^ secondWon).as("round %d: exactly one move wins", round).isTrue();
        champion = firstWon ? mine : theirs;
        assertThat(second.aliases(MODEL)).containsEntry(Aliases.CHAMPION, champion);
      }
      List<Integer> targets =
          first.aliasHistory(MODEL).stream()
              .filter(move -> move.alias().equals(Aliases.CHAMPION))
              .map(move -> move.toVersion())
              .toList();
      assertThat(targets).hasSize(ROUNDS + 1).endsWith(champion);
    } finally {
      threads.shutdownNow();
    }
  }

  /** Moves the champion from {@code compared} to {@code version}; false when the other moved it. */
  private static boolean tryMove(
      ModelRegistry registry, CyclicBarrier start, int compared, int version, String actor)
      throws Exception {
    start.await(10, TimeUnit.SECONDS);
    try {
      registry.moveAliasFrom(
          MODEL, Aliases.CHAMPION, compared, version, actor, "beat version " + compared);
      return true;
    } catch (EvergreenException e) {
      assertThat(e.kind()).isEqualTo(ErrorKind.CONFLICT);
      return false;
    }
  }

  @Test
  void staleExpectationNamesWhoMovedTheAlias() {
    try (SqliteMetadataStore store = SqliteMetadataStore.open(dir.resolve("evergreen.db"))) {
      ModelRegistry registry = registry(store);
      registry.register(draft(1), "setup");
      registry.register(draft(2), "setup");
      registry.moveAlias(MODEL, Aliases.CHAMPION, 1, "setup", "first champion");
      registry.moveAlias(MODEL, Aliases.CHAMPION, 2, "ci-job", "run 7: auc 0.91 beat 0.90");

      assertThatThrownBy(
              () -> registry.moveAliasFrom(MODEL, Aliases.CHAMPION, 1, 1, "late-run", "stale"))
          .isInstanceOf(EvergreenException.class)
          .hasMessage(
              "alias 'champion' of model 'm' points at version 2, no longer at version 1 (moved"
                  + " by ci-job: run 7: auc 0.91 beat 0.90)");
      assertThat(registry.aliases(MODEL)).containsEntry(Aliases.CHAMPION, 2);
    }
  }
}
