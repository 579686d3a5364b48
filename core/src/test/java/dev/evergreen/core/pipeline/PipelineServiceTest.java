package dev.evergreen.core.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestEvergreens;
import dev.evergreen.core.testing.TestPipelines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PipelineServiceTest {
  @TempDir Path work;

  private Evergreen evergreen;
  private Path pipelineFile;

  @BeforeEach
  void open() throws Exception {
    evergreen = TestEvergreens.open(work);
    pipelineFile = work.resolve("pipeline").resolve("flights.yaml");
    Files.createDirectories(pipelineFile.getParent());
    Files.writeString(
        pipelineFile,
        TestPipelines.flightsYaml("validation:\n  inferRules: true\n")
            .replace("landing: landing", "landing: landing\n  stableSeconds: 0"));
  }

  @AfterEach
  void close() {
    evergreen.close();
  }

  @Test
  void queuedRunStaysScheduledAfterStop() throws Exception {
    evergreen.pipelines().register(pipelineFile);
    evergreen.pipelines().stopStartingRuns();

    SubmittedRun queued = evergreen.pipelines().enqueue("flights-delay", month(1, 6_000), "tester");

    assertThat(queued.result().get(30, TimeUnit.SECONDS).status()).isEqualTo(RunStatus.SCHEDULED);
    assertThat(evergreen.store().findRun(queued.runId()).orElseThrow().status())
        .isEqualTo(RunStatus.SCHEDULED);
  }

  @Test
  void failureAfterCloseIsRecordedAsInterruption() {
    evergreen.pipelines().close();

    // The missing file fails the snapshot step, as an interrupted read would during a shutdown.
    Run run = evergreen.pipelines().run(pipelineFile, work.resolve("gone.parquet"), "tester");

    assertThat(run.status()).isEqualTo(RunStatus.FAILED);
    assertThat(run.outcome()).isEqualTo(RunOutcome.FAILED);
    assertThat(run.reason())
        .startsWith("interrupted: the process that executed this run shut down during it");
  }

  @Test
  void firstBatchIsPromotedAndServed() {
    Run run = evergreen.pipelines().run(pipelineFile, month(1, 6_000), "tester");

    assertThat(run.status()).isEqualTo(RunStatus.FINISHED);
    assertThat(run.outcome()).isEqualTo(RunOutcome.PROMOTED);
    assertThat(run.stepSeconds())
        .containsKeys("snapshot", "validate", "train", "evaluate", "register", "deploy");
    assertThat(run.metrics()).containsKeys("auc", "train_rows", "holdout_rows");
    assertThat(run.metrics()).doesNotContainKey("champion_auc");
    assertThat(evergreen.registry().aliases("flights-delay"))
        .containsEntry(Aliases.CHAMPION, 1)
        .containsEntry(Aliases.CHALLENGER, 1);
    assertThat(evergreen.deployments().serving("flights-delay").orElseThrow().active().version())
        .isEqualTo(1);
    assertThat(
            evergreen
                .store()
                .findPipelineState("flights-delay")
                .orElseThrow()
                .referenceSnapshotId())
        .isEqualTo(run.snapshotId());
    assertThat(evergreen.verifyAudit().intact()).isTrue();
  }

  @Test
  void rejectedBatchLeavesChampionServing() {
    evergreen.pipelines().run(pipelineFile, month(1, 6_000), "tester");
    Path corrupted = work.resolve("corrupted.parquet");
    TestDuckDb.execute(
        "COPY (SELECT date, delay, CAST(NULL AS BIGINT) AS distance, origin, destination FROM"
            + " read_parquet("
            + TestDuckDb.path(month(2, 6_000))
            + ")) TO "
            + TestDuckDb.path(corrupted)
            + " (FORMAT parquet)");

    Run run = evergreen.pipelines().run(pipelineFile, corrupted, "tester");

    assertThat(run.status()).isEqualTo(RunStatus.FAILED);
    assertThat(run.outcome()).isEqualTo(RunOutcome.REJECTED);
    assertThat(run.reason()).contains("'distance'").contains("not_null");
    assertThat(run.stepSeconds()).doesNotContainKey("train");
    assertThat(evergreen.registry().versions("flights-delay")).hasSize(1);
    assertThat(evergreen.deployments().serving("flights-delay").orElseThrow().active().version())
        .isEqualTo(1);
  }

  @Test
  void secondBatchIsComparedOnSameHoldout() {
    evergreen.pipelines().run(pipelineFile, month(1, 6_000), "tester");

    Run run = evergreen.pipelines().run(pipelineFile, month(6, 6_000), "tester");

    assertThat(run.metrics()).containsKeys("auc", "champion_auc");
    boolean better = run.metrics().get("auc") >= run.metrics().get("champion_auc");
    assertThat(run.outcome()).isEqualTo(better ? RunOutcome.PROMOTED : RunOutcome.CHAMPION_KEPT);
    assertThat(evergreen.registry().aliases("flights-delay"))
        .containsEntry(Aliases.CHALLENGER, 2)
        .containsEntry(Aliases.CHAMPION, better ? 2 : 1);
    assertThat(evergreen.registry().version("flights-delay", 2).orElseThrow().provenance().seeds())
        .containsEntry("split", 42L);
  }

  @Test
  void interruptedRunsOfDeadProcessesAreFailed() {
    String host = evergreen.settings().owner().split(":")[0];
    Run dead = scheduledRun("a".repeat(32), host + ":" + deadPid());
    Run alive = scheduledRun("b".repeat(32), evergreen.settings().owner());
    evergreen.store().insertRun(dead);
    evergreen.store().insertRun(alive);

    int marked = evergreen.pipelines().failInterruptedRuns("tester");

    assertThat(marked).isEqualTo(1);
    Run failed = evergreen.store().findRun(dead.id()).orElseThrow();
    assertThat(failed.status()).isEqualTo(RunStatus.FAILED);
    assertThat(failed.reason()).contains("interrupted");
    assertThat(evergreen.store().findRun(alive.id()).orElseThrow().status())
        .isEqualTo(RunStatus.RUNNING);
  }

  @Test
  void queuedRunIsFailedAsNotStarted() {
    String host = evergreen.settings().owner().split(":")[0];
    String owner = host + ":" + deadPid();
    Run queued = run("d".repeat(32), owner, RunStatus.SCHEDULED);
    evergreen.store().insertRun(queued);

    int marked = evergreen.pipelines().failInterruptedRuns("tester");

    assertThat(marked).isEqualTo(1);
    Run failed = evergreen.store().findRun(queued.id()).orElseThrow();
    assertThat(failed.status()).isEqualTo(RunStatus.FAILED);
    assertThat(failed.outcome()).isEqualTo(RunOutcome.FAILED);
    assertThat(failed.reason()).startsWith("not started: the process " + owner);
    assertThat(failed.reason()).contains("POST /api/v1/pipelines/flights-delay/runs");
    assertThat(failed.reason()).doesNotContain("interrupted");
  }

  @Test
  void runOfReusedPidIsFailed() throws Exception {
    Process child = new ProcessBuilder("sleep", "300").start();
    try {
      Instant childStart = child.info().startInstant().orElseThrow();
      String host = RunOwner.current().host();
      // The child has the pid but started an hour after the owner did, so the owner has stopped.
      String reused = new RunOwner(host, child.pid(), childStart.minusSeconds(3_600)).toString();
      Run ofReusedPid = scheduledRun("a".repeat(32), reused);
      Run ofChild =
          scheduledRun("b".repeat(32), new RunOwner(host, child.pid(), childStart).toString());
      Run ofOldFormat = scheduledRun("c".repeat(32), host + ":" + child.pid());
      evergreen.store().insertRun(ofReusedPid);
      evergreen.store().insertRun(ofChild);
      evergreen.store().insertRun(ofOldFormat);

      int marked = evergreen.pipelines().failInterruptedRuns("tester");

      assertThat(marked).isEqualTo(1);
      Run failed = evergreen.store().findRun(ofReusedPid.id()).orElseThrow();
      assertThat(failed.status()).isEqualTo(RunStatus.FAILED);
      assertThat(failed.outcome()).isEqualTo(RunOutcome.FAILED);
      assertThat(failed.reason())
          .isEqualTo("interrupted: the process " + reused + " that executed this run has stopped");
      assertThat(evergreen.store().findRun(ofChild.id()).orElseThrow().status())
          .isEqualTo(RunStatus.RUNNING);
      assertThat(evergreen.store().findRun(ofOldFormat.id()).orElseThrow().status())
          .isEqualTo(RunStatus.RUNNING);
    } finally {
      child.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void landingWatcherRunsRenamedFilesOnly() throws Exception {
    RegisteredPipeline pipeline = evergreen.pipelines().register(pipelineFile);
    Path landing = pipeline.landingFolder();
    Files.createDirectories(landing);
    Files.copy(month(1, 4_000), landing.resolve("batch.parquet.part"));
    try (LandingWatcher watcher =
        new LandingWatcher(evergreen.pipelines(), evergreen.clock(), "watcher")) {
      watcher.poll();
      watcher.poll();
      assertThat(evergreen.store().listRuns("flights-delay", 10)).isEmpty();

      Files.move(landing.resolve("batch.parquet.part"), landing.resolve("batch.parquet"));
      watcher.start(Duration.ofMillis(50));
      Path processed = landing.resolve(LandingWatcher.PROCESSED).resolve("batch.parquet");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (!Files.exists(processed) && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(processed).exists();
    }
    List<Run> runs = evergreen.store().listRuns("flights-delay", 10);
    assertThat(runs).hasSize(1);
    assertThat(runs.get(0).outcome()).isEqualTo(RunOutcome.PROMOTED);
    assertThat(runs.get(0).actor()).isEqualTo("watcher");
  }

  @Test
  void runsOfOnePipelineExecuteOneAtATime() throws Exception {
    evergreen.pipelines().register(pipelineFile);
    SubmittedRun first = evergreen.pipelines().enqueue("flights-delay", month(1, 6_000), "tester");
    SubmittedRun second = evergreen.pipelines().enqueue("flights-delay", month(2, 6_000), "tester");

    assertThat(evergreen.store().findRun(second.runId()).orElseThrow().status())
        .isIn(RunStatus.SCHEDULED, RunStatus.RUNNING);
    Run firstRun = first.result().get(120, TimeUnit.SECONDS);
    Run secondRun = second.result().get(120, TimeUnit.SECONDS);

    assertThat(firstRun.status()).isEqualTo(RunStatus.FINISHED);
    assertThat(secondRun.status()).isEqualTo(RunStatus.FINISHED);
    List<AuditEntry> entries = evergreen.store().listAuditEntries(0, 1_000);
    long firstFinished = sequenceOf(entries, AuditActions.RUN_FINISHED, firstRun.id());
    long secondValidated = sequenceOf(entries, AuditActions.VALIDATION_VERDICT, secondRun.id());
    assertThat(secondValidated).isGreaterThan(firstFinished);
  }

  private static long sequenceOf(List<AuditEntry> entries, String action, String runId) {
    return entries.stream()
        .filter(e -> e.action().equals(action) && runId.equals(e.targets().get("run")))
        .mapToLong(AuditEntry::sequence)
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + action + " entry for run " + runId));
  }

  private Path month(int month, int rows) {
    Path file = work.resolve("month-" + month + "-" + rows + ".parquet");
    if (!Files.exists(file)) {
      TestDuckDb.flightsMonth(file, month, rows);
    }
    return file;
  }

  private static Run scheduledRun(String id, String owner) {
    return run(id, owner, RunStatus.RUNNING);
  }

  private static Run run(String id, String owner, RunStatus status) {
    return new Run(
        id,
        "flights-delay",
        status,
        null,
        "/data/x.parquet",
        null,
        null,
        Map.of(),
        Map.of(),
        null,
        owner,
        "tester",
        Instant.parse("2026-01-01T00:00:00Z"),
        null);
  }

  private static long deadPid() {
    long pid = 4_000_000;
    while (ProcessHandle.of(pid).isPresent()) {
      pid++;
    }
    return pid;
  }
}
