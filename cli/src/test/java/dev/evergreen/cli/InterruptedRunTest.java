package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.EvergreenSettings;
import dev.evergreen.core.audit.AuditActions;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs left RUNNING by a process that was killed: the CLI marks them FAILED when it starts a run or
 * lists, shows or reports runs, without a server, and never marks a run whose process is still
 * alive. {@code evergreen lineage} shows such a run as FAILED without marking it.
 */
class InterruptedRunTest {
  @TempDir Path work;

  @Test
  void killedRunIsFailedByRunsCommands() throws Exception {
    Path home = work.resolve("home");
    // Enough rounds that training outlasts the checks below; the process is killed long before.
    Path pipeline = FlightBatches.pipeline(work.resolve("pipeline"), 20_000);
    Path batch = FlightBatches.month(work.resolve("batches"), 1, 50_000, null);
    Process child = startRun(pipeline, batch, home);
    Run running;
    try {
      running = awaitTraining(home, child);

      assertThat(runs("list", "--home", home.toString()).exitCode()).isZero();
      assertThat(runs("show", running.id(), "--home", home.toString()).exitCode()).isZero();

      assertThat(child.isAlive()).as("the run's process still trains").isTrue();
      assertThat(statusOf(home, running.id())).isEqualTo(RunStatus.RUNNING);
    } finally {
      child.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }

    Result listResult = runs("list", "--home", home.toString());
    Result showResult = runs("show", running.id(), "--home", home.toString());

    assertThat(listResult.exitCode()).isZero();
    assertThat(listResult.output()).contains(running.id()).contains("FAILED");
    assertThat(showResult.exitCode()).isZero();
    try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
      Run failed = evergreen.store().findRun(running.id()).orElseThrow();
      assertThat(failed.status()).isEqualTo(RunStatus.FAILED);
      assertThat(failed.outcome()).isEqualTo(RunOutcome.FAILED);
      assertThat(failed.reason()).contains("interrupted").contains(":" + child.pid());
      assertThat(failed.finishedAt()).isNotNull();
      List<AuditEntry> finished =
          evergreen.store().listAuditEntries(0, 10_000).stream()
              .filter(e -> e.action().equals(AuditActions.RUN_FINISHED))
              .filter(e -> running.id().equals(e.targets().get("run")))
              .toList();
      assertThat(finished).as("marked once, though listed and shown").hasSize(1);
      assertThat(finished.get(0).actor()).isEqualTo(Main.actor());
      assertThat(evergreen.verifyAudit().intact()).isTrue();
    }
  }

  @Test
  void runCommandFailsRunsOfStoppedProcesses() throws Exception {
    Path home = work.resolve("home");
    Path pipeline = FlightBatches.pipeline(work.resolve("pipeline"), 10);
    Path batch = FlightBatches.month(work.resolve("batches"), 1, 5_000, null);
    String host = EvergreenSettings.currentOwner().split(":")[0];
    Process exited = new ProcessBuilder("true").start();
    assertThat(exited.waitFor(30, TimeUnit.SECONDS)).isTrue();
    try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry())) {
      evergreen.store().insertRun(running("a".repeat(32), host + ":" + exited.pid()));
      // This JVM is alive, as another `evergreen run` on the same home would be.
      evergreen.store().insertRun(running("b".repeat(32), EvergreenSettings.currentOwner()));
    }

    int exit = ContinuousTrainingLoopTest.run(pipeline, batch, home);

    assertThat(exit).isEqualTo(RunOutcome.PROMOTED.exitCode());
    assertThat(statusOf(home, "a".repeat(32))).isEqualTo(RunStatus.FAILED);
    assertThat(statusOf(home, "b".repeat(32))).isEqualTo(RunStatus.RUNNING);
  }

  @Test
  void runsCommandsKeepRunsOfLiveProcesses() throws Exception {
    Path home = work.resolve("home");
    try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry())) {
      evergreen.store().insertRun(running("c".repeat(32), EvergreenSettings.currentOwner()));
    }

    assertThat(runs("list", "--home", home.toString()).exitCode()).isZero();
    assertThat(runs("show", "c".repeat(32), "--home", home.toString()).exitCode()).isZero();

    assertThat(statusOf(home, "c".repeat(32))).isEqualTo(RunStatus.RUNNING);
  }

  @Test
  void lineageShowsInterruptedRunWithoutMarking() throws Exception {
    Path home = work.resolve("home");
    Run run = promotedRun(home);
    String owner = EvergreenSettings.currentOwner().split(":")[0] + ":" + exitedPid();
    storeAsRunning(home, run, owner);

    Result lineage = command("lineage", "flights-delay:1", "--home", home.toString());

    assertThat(lineage.exitCode()).isZero();
    String runLine = lineOf(lineage.output(), "run " + run.id());
    assertThat(runLine).contains("status=FAILED").contains("outcome=FAILED");
    assertThat(runLine)
        .contains(
            "reason=interrupted: the process " + owner + " that executed this run has stopped");
    assertThat(statusOf(home, run.id())).as("lineage does not write").isEqualTo(RunStatus.RUNNING);
  }

  @Test
  void lineageShowsRunOfLiveProcessAsRunning() throws Exception {
    Path home = work.resolve("home");
    Run run = promotedRun(home);
    storeAsRunning(home, run, EvergreenSettings.currentOwner());

    Result lineage = command("lineage", "flights-delay:1", "--home", home.toString());

    assertThat(lineage.exitCode()).isZero();
    String runLine = lineOf(lineage.output(), "run " + run.id());
    assertThat(runLine).contains("status=RUNNING");
    assertThat(runLine).doesNotContain("interrupted").doesNotContain("outcome=");
  }

  @Test
  void runsReportMarksRunOfReusedPid() throws Exception {
    Path home = work.resolve("home");
    Run run = promotedRun(home);
    Process child = new ProcessBuilder("sleep", "300").start();
    try {
      // The child is alive with the owner's pid, but it started an hour after the owner.
      Instant ownerStart = child.info().startInstant().orElseThrow().minusSeconds(3_600);
      String host = EvergreenSettings.currentOwner().split(":")[0];
      String owner = host + ":" + child.pid() + "@" + ownerStart;
      storeAsRunning(home, run, owner);
      Path html = work.resolve("run.html");

      Result report =
          command("runs", "report", run.id(), "--html", html.toString(), "--home", home.toString());

      assertThat(report.exitCode()).isZero();
      String reason = "interrupted: the process " + owner + " that executed this run has stopped";
      String page = Files.readString(html);
      assertThat(page).contains("status FAILED, outcome FAILED.");
      assertThat(page).contains("Reason: " + reason);
      assertThat(child.isAlive()).isTrue();
      try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
        Run marked = evergreen.store().findRun(run.id()).orElseThrow();
        assertThat(marked.status()).isEqualTo(RunStatus.FAILED);
        assertThat(marked.reason()).isEqualTo(reason);
        List<AuditEntry> finished =
            evergreen.store().listAuditEntries(0, 10_000).stream()
                .filter(e -> e.action().equals(AuditActions.RUN_FINISHED))
                .filter(e -> run.id().equals(e.targets().get("run")))
                .toList();
        AuditEntry last = finished.get(finished.size() - 1);
        assertThat(last.actor()).isEqualTo(Main.actor());
        assertThat(last.details()).containsEntry("reason", reason);
        assertThat(evergreen.verifyAudit().intact()).isTrue();
      }
    } finally {
      child.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
  }

  /** Runs the pipeline once, so that version 1 of flights-delay has a run in its lineage. */
  private Run promotedRun(Path home) throws Exception {
    Path pipeline = FlightBatches.pipeline(work.resolve("pipeline"), 10);
    Path batch = FlightBatches.month(work.resolve("batches"), 1, 5_000, null);
    assertThat(ContinuousTrainingLoopTest.run(pipeline, batch, home))
        .isEqualTo(RunOutcome.PROMOTED.exitCode());
    try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
      return evergreen.store().listRuns("flights-delay", 1).get(0);
    }
  }

  /** Stores the run as RUNNING under {@code owner}, as a process that stopped mid-run leaves it. */
  private static void storeAsRunning(Path home, Run run, String owner) throws Exception {
    try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
      evergreen
          .store()
          .updateRun(
              new Run(
                  run.id(),
                  run.pipeline(),
                  RunStatus.RUNNING,
                  null,
                  run.source(),
                  run.snapshotId(),
                  null,
                  run.metrics(),
                  run.stepSeconds(),
                  run.provenance(),
                  owner,
                  run.actor(),
                  run.startedAt(),
                  null));
    }
  }

  private static String lineOf(String output, String prefix) {
    return output
        .lines()
        .map(String::strip)
        .filter(line -> line.startsWith(prefix))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no line starts with '" + prefix + "':\n" + output));
  }

  private static long exitedPid() throws Exception {
    Process exited = new ProcessBuilder("true").start();
    assertThat(exited.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return exited.pid();
  }

  private static Run running(String id, String owner) {
    return new Run(
        id,
        "flights-delay",
        RunStatus.RUNNING,
        null,
        "/data/batch.parquet",
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

  private static RunStatus statusOf(Path home, String runId) throws Exception {
    try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
      return evergreen.store().findRun(runId).orElseThrow().status();
    }
  }

  private Process startRun(Path pipeline, Path batch, Path home) throws Exception {
    List<String> command =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--enable-native-access=ALL-UNNAMED",
            "-cp",
            System.getProperty("java.class.path"),
            Main.class.getName(),
            "run",
            pipeline.toString(),
            "--data",
            batch.toString(),
            "--home",
            home.toString());
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(work.resolve("run.log").toFile())
        .start();
  }

  /** Waits until the child's run has passed validation, so it is in its long training step. */
  private Run awaitTraining(Path home, Process child) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline && child.isAlive()) {
      if (Files.exists(home.resolve(Home.METADATA_FILE))) {
        try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
          Optional<Run> run =
              evergreen.store().listRuns(null, 10).stream()
                  .filter(r -> r.stepSeconds().containsKey("validate"))
                  .findFirst();
          if (run.isPresent()) {
            return run.get();
          }
        }
      }
      Thread.sleep(100);
    }
    throw new AssertionError(
        "the run did not reach training within 120 s; its output:\n"
            + Files.readString(work.resolve("run.log")));
  }

  private record Result(int exitCode, String output) {}

  private static Result runs(String... args) {
    String[] command = new String[args.length + 1];
    command[0] = "runs";
    System.arraycopy(args, 0, command, 1, args.length);
    return command(command);
  }

  /** Executes an {@code evergreen} command in this JVM and captures what it prints. */
  private static Result command(String... args) {
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      int code = Main.execute(args);
      return new Result(code, captured.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(original);
    }
  }
}
