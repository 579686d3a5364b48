package dev.evergreen.core.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.core.EvergreenSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Owners judged against real processes: this JVM, a live child process and an exited one. */
class RunOwnerTest {
  private static final String HOST = RunOwner.current().host();

  private Process child;
  private Instant childStart;

  @BeforeEach
  void startChild() throws Exception {
    child = new ProcessBuilder("sleep", "300").start();
    childStart = child.info().startInstant().orElseThrow();
  }

  @AfterEach
  void stopChild() throws Exception {
    child.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
  }

  @Test
  void currentProcessIsAlive() {
    RunOwner current = RunOwner.current();

    assertThat(current.hasStopped()).isFalse();
    assertThat(current.pid()).isEqualTo(ProcessHandle.current().pid());
    assertThat(current.start()).isNotNull();
    assertThat(EvergreenSettings.currentOwner()).isEqualTo(current.toString());
    assertThat(RunOwner.parse(EvergreenSettings.currentOwner())).contains(current);
  }

  @Test
  void livePidWithOtherStartHasStopped() {
    RunOwner reused = new RunOwner(HOST, child.pid(), childStart.plus(Duration.ofHours(1)));
    RunOwner earlier = new RunOwner(HOST, child.pid(), childStart.minus(Duration.ofMinutes(5)));

    assertThat(reused.hasStopped()).isTrue();
    assertThat(earlier.hasStopped()).isTrue();
  }

  @Test
  void livePidWithSameStartIsAlive() {
    RunOwner owner = new RunOwner(HOST, child.pid(), childStart);
    RunOwner withinTolerance =
        new RunOwner(HOST, child.pid(), childStart.plus(RunOwner.START_TOLERANCE));
    RunOwner beyondTolerance =
        new RunOwner(
            HOST, child.pid(), childStart.plus(RunOwner.START_TOLERANCE).plusMillis(1_000));

    assertThat(owner.hasStopped()).isFalse();
    assertThat(withinTolerance.hasStopped()).isFalse();
    assertThat(beyondTolerance.hasStopped()).isTrue();
  }

  @Test
  void oldFormatOwnerIsJudgedByPid() throws Exception {
    long deadPid = deadPid();

    RunOwner live = RunOwner.parse(HOST + ":" + child.pid()).orElseThrow();
    RunOwner dead = RunOwner.parse(HOST + ":" + deadPid).orElseThrow();

    assertThat(live.start()).isNull();
    assertThat(live.hasStopped()).isFalse();
    assertThat(dead.hasStopped()).isTrue();
    assertThat(live.toString()).isEqualTo(HOST + ":" + child.pid());
  }

  @Test
  void exitedProcessHasStopped() throws Exception {
    RunOwner owner = new RunOwner(HOST, deadPid(), Instant.parse("2026-01-01T00:00:00Z"));

    assertThat(owner.hasStopped()).isTrue();
  }

  @Test
  void earlierProcessWithOwnPidHasStopped() {
    RunOwner current = RunOwner.current();
    RunOwner oldFormat = new RunOwner(HOST, current.pid(), null);
    RunOwner otherStart =
        new RunOwner(HOST, current.pid(), current.start().minus(Duration.ofMinutes(10)));

    assertThat(oldFormat.hasStopped()).isTrue();
    assertThat(otherStart.hasStopped()).isTrue();
  }

  @Test
  void ownerOnOtherHostIsNotJudged() throws Exception {
    long deadPid = deadPid();
    RunOwner oldFormat = RunOwner.parse("other-" + HOST + ":" + deadPid).orElseThrow();
    RunOwner newFormat =
        new RunOwner("other-" + HOST, deadPid, Instant.parse("2026-01-01T00:00:00Z"));

    assertThat(oldFormat.hasStopped()).isFalse();
    assertThat(newFormat.hasStopped()).isFalse();
  }

  @Test
  void parseReadsBothForms() {
    RunOwner withStart = RunOwner.parse("ci-7:4242@2026-03-01T09:15:02.340Z").orElseThrow();
    RunOwner withoutStart = RunOwner.parse("ci-7:4242").orElseThrow();

    assertThat(withStart)
        .isEqualTo(new RunOwner("ci-7", 4242, Instant.parse("2026-03-01T09:15:02.340Z")));
    assertThat(withStart.toString()).isEqualTo("ci-7:4242@2026-03-01T09:15:02.340Z");
    assertThat(withoutStart).isEqualTo(new RunOwner("ci-7", 4242, null));
  }

  @Test
  void parseRejectsMalformedOwners() {
    for (String malformed :
        new String[] {"", "ci-7", ":4242", "ci-7:", "ci-7:pid", "ci-7:4242@yesterday", "@1:2"}) {
      assertThat(RunOwner.parse(malformed)).as(malformed).isEmpty();
    }
    assertThat(RunOwner.parse(null)).isEmpty();
  }

  @Test
  void interruptedReasonNamesStoppedOwner() {
    String owner = new RunOwner(HOST, child.pid(), childStart.plus(Duration.ofHours(1))).toString();

    assertThat(RunOwner.interruptedReason(run(RunStatus.RUNNING, owner)))
        .contains("interrupted: the process " + owner + " that executed this run has stopped");
    assertThat(RunOwner.interruptedReason(run(RunStatus.SCHEDULED, owner))).isPresent();
  }

  @Test
  void scheduledRunReasonIsNotStarted() {
    String owner = new RunOwner(HOST, child.pid(), childStart.plus(Duration.ofHours(1))).toString();

    String reason = RunOwner.interruptedReason(run(RunStatus.SCHEDULED, owner)).orElseThrow();

    assertThat(reason).startsWith("not started: the process " + owner + " that queued this run");
    assertThat(reason).contains("POST /api/v1/pipelines/flights-delay/runs");
    assertThat(reason).contains("landing folder");
    assertThat(reason).doesNotContain("interrupted");
  }

  @Test
  void failedIfInterruptedShowsStoppedRunFailed() {
    String owner = HOST + ":" + deadPidUnchecked();
    Run running = run(RunStatus.RUNNING, owner);

    Run failed = RunOwner.failedIfInterrupted(running);

    assertThat(failed.status()).isEqualTo(RunStatus.FAILED);
    assertThat(failed.outcome()).isEqualTo(RunOutcome.FAILED);
    assertThat(failed.reason())
        .isEqualTo("interrupted: the process " + owner + " that executed this run has stopped");
    assertThat(failed.finishedAt()).isNull();
    assertThat(failed.source()).isEqualTo(running.source());
  }

  @Test
  void failedIfInterruptedKeepsLiveRun() {
    Run live = run(RunStatus.RUNNING, new RunOwner(HOST, child.pid(), childStart).toString());

    assertThat(RunOwner.failedIfInterrupted(live)).isSameAs(live);
  }

  @Test
  void noReasonForLiveOrFinishedRuns() throws Exception {
    String live = new RunOwner(HOST, child.pid(), childStart).toString();
    String dead = HOST + ":" + deadPid();

    assertThat(RunOwner.interruptedReason(run(RunStatus.RUNNING, live))).isEmpty();
    assertThat(RunOwner.interruptedReason(run(RunStatus.RUNNING, EvergreenSettings.currentOwner())))
        .isEmpty();
    assertThat(RunOwner.interruptedReason(run(RunStatus.FINISHED, dead))).isEmpty();
    assertThat(RunOwner.interruptedReason(run(RunStatus.FAILED, dead))).isEmpty();
  }

  @Test
  void malformedOwnerCountsAsStopped() {
    assertThat(RunOwner.interruptedReason(run(RunStatus.RUNNING, "no-pid-here"))).isPresent();
    assertThat(RunOwner.interruptedReason(run(RunStatus.RUNNING, null))).isPresent();
  }

  private static Run run(RunStatus status, String owner) {
    return new Run(
        "a".repeat(32),
        "flights-delay",
        status,
        status.isTerminal() ? RunOutcome.FAILED : null,
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

  private static long deadPidUnchecked() {
    try {
      return deadPid();
    } catch (Exception e) {
      throw new AssertionError("cannot start a short-lived process", e);
    }
  }

  private static long deadPid() throws Exception {
    Process exited = new ProcessBuilder("true").start();
    assertThat(exited.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return exited.pid();
  }
}
