package dev.evergreen.store.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.lineage.LineageEdge;
import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.api.security.Role;
import dev.evergreen.api.security.Token;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.core.store.DeploymentEvent;
import dev.evergreen.core.store.PipelineState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteMetadataStoreTest {
  @TempDir Path dir;

  private Path file;
  private SqliteMetadataStore store;

  @BeforeEach
  void openStore() {
    file = dir.resolve("nested/folders/evergreen.db");
    store = SqliteMetadataStore.open(file);
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  @Test
  void openCreatesParentFoldersAndWalMode() throws SQLException {
    assertThat(Files.isRegularFile(file)).isTrue();
    assertThat(store.file()).isEqualTo(file.toAbsolutePath());
    assertThat(queryText("PRAGMA journal_mode")).isEqualTo("wal");
  }

  @Test
  void connectionPragmasAreSet() {
    SqliteDatabase database = store.database();

    assertThat(database.pragma("journal_mode")).isEqualTo("wal");
    assertThat(database.pragma("synchronous")).as("2 is FULL").isEqualTo("2");
    assertThat(database.pragma("foreign_keys")).isEqualTo("1");
    assertThat(database.pragma("busy_timeout")).isEqualTo("30000");
  }

  @Test
  void snapshotRoundTrips() {
    Snapshot snapshot = Samples.snapshot("a");

    assertThat(store.insertSnapshot(snapshot)).isTrue();

    assertThat(store.findSnapshot(snapshot.id())).contains(snapshot);
    assertThat(store.findSnapshot(Samples.hex("missing"))).isEmpty();
  }

  @Test
  void insertSnapshotTwiceKeepsFirst() {
    Snapshot first = Samples.snapshot("a");
    Snapshot sameId =
        new Snapshot(
            first.id(),
            "/other/source.csv",
            first.artifactKey(),
            first.schema(),
            first.profile(),
            Map.of(),
            first.createdAt().plusSeconds(5));

    assertThat(store.insertSnapshot(first)).isTrue();
    assertThat(store.insertSnapshot(sameId)).isFalse();

    assertThat(store.findSnapshot(first.id())).contains(first);
  }

  @Test
  void pipelineStateSavedAndReplaced() {
    PipelineState state = Samples.pipelineState("flights");
    assertThat(store.findPipelineState("flights")).isEmpty();

    store.savePipelineState(state);
    assertThat(store.findPipelineState("flights")).contains(state);

    PipelineState replaced = new PipelineState("flights", Samples.hex("other"), List.of());
    store.savePipelineState(replaced);
    assertThat(store.findPipelineState("flights")).contains(replaced);
  }

  @Test
  void runInsertUpdateAndFind() {
    Run run = Samples.run("r1", "flights", RunStatus.RUNNING, Samples.T0);
    store.insertRun(run);
    assertThat(store.findRun(run.id())).contains(run);

    Run finished =
        new Run(
            run.id(),
            run.pipeline(),
            RunStatus.FINISHED,
            RunOutcome.PROMOTED,
            run.source(),
            run.snapshotId(),
            "challenger auc 0.74 beats champion auc 0.72",
            Map.of("auc", 0.74, "champion_auc", 0.72),
            Map.of("train", 3.5),
            run.provenance(),
            run.owner(),
            run.actor(),
            run.startedAt(),
            run.startedAt().plusSeconds(30));
    store.updateRun(finished);

    assertThat(store.findRun(run.id())).contains(finished);
    assertThat(store.findRun(Samples.runId("missing"))).isEmpty();
  }

  @Test
  void runWithNullFieldsRoundTrips() {
    Run scheduled =
        new Run(
            Samples.runId("n"),
            null,
            RunStatus.SCHEDULED,
            null,
            null,
            null,
            null,
            Map.of(),
            Map.of(),
            null,
            null,
            null,
            null,
            null);

    store.insertRun(scheduled);

    assertThat(store.findRun(scheduled.id())).contains(scheduled);
  }

  @Test
  void insertRunTwiceIsConflict() {
    Run run = Samples.run("r1", "flights", RunStatus.RUNNING, Samples.T0);
    store.insertRun(run);

    assertThatThrownBy(() -> store.insertRun(run))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFLICT))
        .hasMessageContaining(run.id());
  }

  @Test
  void updateMissingRunIsNotFound() {
    Run run = Samples.run("r1", "flights", RunStatus.RUNNING, Samples.T0);

    assertThatThrownBy(() -> store.updateRun(run))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.NOT_FOUND))
        .hasMessageContaining(run.id());
  }

  @Test
  void instantsKeepMillisecondsOnly() {
    Instant precise = Instant.parse("2024-02-29T23:59:59.123456789Z");
    Run run = Samples.run("p", "flights", RunStatus.RUNNING, precise);

    store.insertRun(run);

    assertThat(store.findRun(run.id()).orElseThrow().startedAt())
        .isEqualTo(Instant.parse("2024-02-29T23:59:59.123Z"));
  }

  @Test
  void listRunsNewestFirstWithFilterAndLimit() {
    Run oldest = Samples.run("a", "flights", RunStatus.FINISHED, Samples.T0);
    Run middle = Samples.run("b", "taxis", RunStatus.FAILED, Samples.T0.plusSeconds(60));
    Run newest = Samples.run("c", "flights", RunStatus.RUNNING, Samples.T0.plusSeconds(120));
    Run sameMillisLater = Samples.run("d", "flights", RunStatus.SCHEDULED, newest.startedAt());
    store.insertRun(newest);
    store.insertRun(oldest);
    store.insertRun(middle);
    store.insertRun(sameMillisLater);

    assertThat(store.listRuns(null, 10)).containsExactly(sameMillisLater, newest, middle, oldest);
    assertThat(store.listRuns("flights", 10)).containsExactly(sameMillisLater, newest, oldest);
    assertThat(store.listRuns(null, 2)).containsExactly(sameMillisLater, newest);
    assertThat(store.listRuns("none", 10)).isEmpty();
    assertThatThrownBy(() -> store.listRuns(null, 0))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT));
  }

  @Test
  void listRunsByStatusFilters() {
    Run running = Samples.run("a", "flights", RunStatus.RUNNING, Samples.T0.plusSeconds(1));
    Run scheduled = Samples.run("b", "flights", RunStatus.SCHEDULED, Samples.T0);
    Run finished = Samples.run("c", "flights", RunStatus.FINISHED, Samples.T0);
    store.insertRun(running);
    store.insertRun(scheduled);
    store.insertRun(finished);

    assertThat(store.listRunsByStatus(Set.of(RunStatus.RUNNING, RunStatus.SCHEDULED)))
        .containsExactly(scheduled, running);
    assertThat(store.listRunsByStatus(Set.of(RunStatus.FINISHED))).containsExactly(finished);
    assertThat(store.listRunsByStatus(Set.of(RunStatus.KILLED))).isEmpty();
    assertThat(store.listRunsByStatus(Set.of())).isEmpty();
  }

  @Test
  void validationReportSavedAndReplaced() {
    Run run = Samples.run("r", "flights", RunStatus.RUNNING, Samples.T0);
    store.insertRun(run);
    ValidationReport report = Samples.report("a");
    assertThat(store.findValidationReport(run.id())).isEmpty();

    store.saveValidationReport(run.id(), report);
    assertThat(store.findValidationReport(run.id())).contains(report);

    ValidationReport empty = new ValidationReport(Samples.hex("b"), null, List.of(), List.of());
    store.saveValidationReport(run.id(), empty);
    assertThat(store.findValidationReport(run.id())).contains(empty);
  }

  @Test
  void validationReportForMissingRunIsNotFound() {
    String runId = Samples.runId("missing");

    assertThatThrownBy(() -> store.saveValidationReport(runId, Samples.report("a")))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.NOT_FOUND))
        .hasMessageContaining(runId);
  }

  @Test
  void versionNumbersCountPerModel() {
    List<Integer> numbers = new ArrayList<>();
    for (String model : List.of("a", "b", "a", "a", "b", "c")) {
      numbers.add(store.insertModelVersion(Samples.modelVersion(model, model)).version());
    }

    assertThat(numbers).containsExactly(1, 1, 2, 3, 2, 1);
    assertThat(store.listModels()).containsExactly("a", "b", "c");
    assertThat(store.listModelVersions("a"))
        .extracting(ModelVersion::version)
        .containsExactly(1, 2, 3);
    assertThat(store.listModelVersions("none")).isEmpty();
  }

  @Test
  void modelVersionRoundTrips() {
    ModelVersion draft = Samples.modelVersion("flights-delay", "x");

    ModelVersion stored = store.insertModelVersion(draft);

    ModelVersion expected =
        new ModelVersion(
            draft.model(),
            1,
            draft.artifactKey(),
            draft.artifactSha256(),
            draft.runId(),
            draft.snapshotId(),
            draft.metrics(),
            draft.provenance(),
            draft.createdAt());
    assertThat(stored).isEqualTo(expected);
    assertThat(store.findModelVersion("flights-delay", 1)).contains(expected);
    assertThat(store.findModelVersion("flights-delay", 2)).isEmpty();
    assertThat(store.listModelVersions("flights-delay")).containsExactly(expected);
  }

  @Test
  void moveAliasSetsChangesAndDeletes() {
    store.insertModelVersion(Samples.modelVersion("m", "1"));
    store.insertModelVersion(Samples.modelVersion("m", "2"));
    AliasMove set = Samples.aliasMove("m", null, 1);
    AliasMove change = Samples.aliasMove("m", 1, 2);
    AliasMove delete = Samples.aliasMove("m", 2, null);

    store.moveAlias(set);
    assertThat(store.aliases("m")).containsExactly(Map.entry("champion", 1));
    store.moveAlias(change);
    assertThat(store.aliases("m")).containsExactly(Map.entry("champion", 2));
    store.moveAlias(new AliasMove("m", "challenger", null, 1, "bob", null, Samples.T0));
    assertThat(store.aliases("m"))
        .containsExactly(Map.entry("challenger", 1), Map.entry("champion", 2));
    store.moveAlias(delete);
    assertThat(store.aliases("m")).containsExactly(Map.entry("challenger", 1));

    assertThat(store.aliasHistory("m"))
        .containsExactly(
            set,
            change,
            new AliasMove("m", "challenger", null, 1, "bob", null, Samples.T0),
            delete);
    assertThat(store.aliasHistory("other")).isEmpty();
    assertThat(store.aliases("other")).isEmpty();
  }

  @Test
  void moveAliasToMissingVersionIsNotFound() {
    store.insertModelVersion(Samples.modelVersion("m", "1"));

    assertThatThrownBy(() -> store.moveAlias(Samples.aliasMove("m", null, 7)))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.NOT_FOUND))
        .hasMessageContaining("'m'")
        .hasMessageContaining("version 7");
    assertThatThrownBy(() -> store.moveAlias(Samples.aliasMove("unknown", null, 1)))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.NOT_FOUND))
        .hasMessageContaining("'unknown'");
    assertThat(store.aliases("m")).isEmpty();
    assertThat(store.aliasHistory("m")).isEmpty();
  }

  @Test
  void moveAliasFromStaleVersionIsConflict() {
    store.insertModelVersion(Samples.modelVersion("m", "1"));
    store.insertModelVersion(Samples.modelVersion("m", "2"));
    store.moveAlias(Samples.aliasMove("m", null, 1));

    assertThatThrownBy(() -> store.moveAlias(Samples.aliasMove("m", null, 2)))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFLICT))
        .hasMessageContaining("points to version 1");
    assertThat(store.aliases("m")).containsExactly(Map.entry("champion", 1));
    assertThat(store.aliasHistory("m")).hasSize(1);
  }

  @Test
  void deploymentEventsListedInOrder() {
    DeploymentEvent first = Samples.deploymentEvent("m", "e1", 1, null);
    DeploymentEvent second =
        new DeploymentEvent(
            "m/e2", "m", 1, 2, "rollback", "alice", null, Samples.T0.minusSeconds(1));
    DeploymentEvent other = Samples.deploymentEvent("n", "e3", 4, 3);
    store.insertDeploymentEvent(first);
    store.insertDeploymentEvent(other);
    store.insertDeploymentEvent(second);

    assertThat(store.listDeploymentEvents("m")).containsExactly(first, second);
    assertThat(store.listDeploymentEvents("n")).containsExactly(other);
    assertThatThrownBy(() -> store.insertDeploymentEvent(first))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFLICT))
        .hasMessageContaining("m/e1");
  }

  @Test
  void auditEntriesAppendAndPage() {
    assertThat(store.lastAuditEntry()).isEmpty();
    List<AuditEntry> entries = new ArrayList<>();
    String previous = "0".repeat(64);
    for (long sequence = 1; sequence <= 5; sequence++) {
      AuditEntry entry = Samples.auditEntry(sequence, previous);
      store.insertAuditEntry(entry);
      entries.add(entry);
      previous = entry.hash();
    }

    assertThat(store.lastAuditEntry()).contains(entries.get(4));
    assertThat(store.listAuditEntries(0, 100)).containsExactlyElementsOf(entries);
    assertThat(store.listAuditEntries(2, 2)).containsExactly(entries.get(2), entries.get(3));
    assertThat(store.listAuditEntries(5, 10)).isEmpty();
  }

  @Test
  void auditEntryDuplicateSequenceIsConflict() {
    store.insertAuditEntry(Samples.auditEntry(1, "0".repeat(64)));

    assertThatThrownBy(() -> store.insertAuditEntry(Samples.auditEntry(1, "0".repeat(64))))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFLICT));
  }

  @Test
  void auditEntryWithMicrosecondsIsRejected() {
    AuditEntry entry = Samples.auditEntry(1, "0".repeat(64));
    AuditEntry precise =
        new AuditEntry(
            1,
            entry.at().plusNanos(1_000),
            entry.actor(),
            entry.action(),
            entry.targets(),
            entry.details(),
            entry.previousHash(),
            entry.hash());

    assertThatThrownBy(() -> store.insertAuditEntry(precise))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT));
    assertThat(store.lastAuditEntry()).isEmpty();
  }

  @Test
  void auditLogRejectsUpdateAndDelete() throws SQLException {
    store.insertAuditEntry(Samples.auditEntry(1, "0".repeat(64)));

    try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = raw.createStatement()) {
      assertThatThrownBy(() -> statement.executeUpdate("UPDATE audit_log SET actor = 'mallory'"))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("append-only");
      assertThatThrownBy(() -> statement.executeUpdate("DELETE FROM audit_log"))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("append-only");
    }
    assertThat(store.lastAuditEntry()).contains(Samples.auditEntry(1, "0".repeat(64)));
  }

  @Test
  void lineageEdgesQueriedBothWays() {
    LineageEdge snapshotToRun = Samples.edge("snapshot", "s1", "run", "r1");
    LineageEdge runToVersion = Samples.edge("run", "r1", "model_version", "m:1");
    LineageEdge runToOther = Samples.edge("run", "r1", "model_version", "m:2");
    LineageEdge otherRun = Samples.edge("run", "r2", "model_version", "m:2");
    store.insertLineageEdge(snapshotToRun);
    store.insertLineageEdge(runToVersion);
    store.insertLineageEdge(runToOther);
    store.insertLineageEdge(otherRun);
    LineageEdge duplicate =
        new LineageEdge("run", "r1", "model_version", "m:1", Samples.T0.plusSeconds(9));
    store.insertLineageEdge(duplicate);

    assertThat(store.lineageEdgesFrom("run", "r1")).containsExactly(runToVersion, runToOther);
    assertThat(store.lineageEdgesTo("run", "r1")).containsExactly(snapshotToRun);
    assertThat(store.lineageEdgesTo("model_version", "m:2")).containsExactly(runToOther, otherRun);
    assertThat(store.lineageEdgesFrom("snapshot", "r1")).isEmpty();
  }

  @Test
  void tokensInsertFindListDelete() {
    Token admin = Samples.token("a1", Role.ADMIN);
    Token viewer = Samples.token("v1", Role.VIEWER);
    store.insertToken(admin);
    store.insertToken(viewer);

    assertThat(store.findTokenBySecretHash(viewer.secretSha256())).contains(viewer);
    assertThat(store.findTokenBySecretHash(Samples.hex("unknown"))).isEmpty();
    assertThat(store.listTokens()).containsExactly(admin, viewer);

    assertThat(store.deleteToken("a1")).isTrue();
    assertThat(store.deleteToken("a1")).isFalse();
    assertThat(store.listTokens()).containsExactly(viewer);
  }

  @Test
  void tokenWithSameSecretIsConflict() {
    Token first = Samples.token("a1", Role.ADMIN);
    store.insertToken(first);
    Token sameSecret = new Token("b2", "other", Role.VIEWER, first.secretSha256(), Samples.T0);
    Token sameId = Samples.token("a1", Role.VIEWER);
    Token sameIdOtherSecret =
        new Token("a1", "other", Role.VIEWER, Samples.hex("fresh"), Samples.T0);

    for (Token token : List.of(sameSecret, sameId, sameIdOtherSecret)) {
      assertThatThrownBy(() -> store.insertToken(token))
          .isInstanceOfSatisfying(
              EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFLICT));
    }
    assertThat(store.listTokens()).containsExactly(first);
  }

  @Test
  void dataSurvivesReopen() {
    Snapshot snapshot = Samples.snapshot("a");
    store.insertSnapshot(snapshot);
    ModelVersion version = store.insertModelVersion(Samples.modelVersion("m", "1"));
    store.close();

    store = SqliteMetadataStore.open(file);

    assertThat(store.findSnapshot(snapshot.id())).contains(snapshot);
    assertThat(store.findModelVersion("m", 1)).contains(version);
    assertThat(store.insertModelVersion(Samples.modelVersion("m", "2")).version()).isEqualTo(2);
  }

  @Test
  void closedStoreIsUnavailable() {
    store.close();

    assertThatThrownBy(() -> store.listModels())
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.UNAVAILABLE));
  }

  private String queryText(String sql) throws SQLException {
    try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = raw.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      rows.next();
      return rows.getString(1);
    }
  }
}
