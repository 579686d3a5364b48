package dev.evergreen.core.pipeline;

import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.run.RunStatus;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/**
 * The process that executes a run, stored on the run as {@code host:pid@start}, where {@code start}
 * is the process's start instant in ISO-8601 UTC, such as {@code
 * ci-7:4242@2026-03-01T09:15:02.340Z}. The start instant distinguishes a live process from a later
 * one that the operating system gave the same pid.
 *
 * <p>Owners written before the start instant was stored are {@code host:pid}. Such an owner, and
 * the owner of a process whose start instant the JDK cannot read, is judged by its pid alone.
 *
 * @param start the process's start instant, truncated to milliseconds, or null when unknown
 */
public record RunOwner(String host, long pid, Instant start) {
  /**
   * Largest difference between two readings of one process's start instant. On Linux the JDK adds
   * the process's start offset to the boot time in {@code /proc/stat} (checked with JDK 25 on Linux
   * 6.18). That boot time has whole seconds and moves when the wall clock is stepped, so a step of
   * a fraction of a second can move a reading by a whole second.
   */
  static final Duration START_TOLERANCE = Duration.ofSeconds(2);

  public RunOwner {
    if (host == null || host.isEmpty() || host.contains(":") || host.contains("@")) {
      throw new IllegalArgumentException(
          "invalid host '" + host + "': it is empty or contains ':' or '@'");
    }
    start = start == null ? null : start.truncatedTo(ChronoUnit.MILLIS);
  }

  /** Returns the owner of the running process, read once and then reused. */
  public static RunOwner current() {
    return Current.OWNER;
  }

  /**
   * Parses a stored owner, {@code host:pid@start} or the older {@code host:pid}. Returns empty when
   * the text is null or has neither form.
   */
  public static Optional<RunOwner> parse(String text) {
    if (text == null) {
      return Optional.empty();
    }
    int at = text.indexOf('@');
    String hostAndPid = at < 0 ? text : text.substring(0, at);
    int colon = hostAndPid.lastIndexOf(':');
    if (colon <= 0) {
      return Optional.empty();
    }
    try {
      long pid = Long.parseLong(hostAndPid.substring(colon + 1));
      Instant start = at < 0 ? null : Instant.parse(text.substring(at + 1));
      return Optional.of(new RunOwner(hostAndPid.substring(0, colon), pid, start));
    } catch (IllegalArgumentException | DateTimeParseException e) {
      // NumberFormatException and the constructor's host check are IllegalArgumentExceptions.
      return Optional.empty();
    }
  }

  /**
   * Returns why a run counts as interrupted, which it does when it is SCHEDULED or RUNNING and
   * {@link #hasStopped()} judges its owner stopped. An owner that cannot be parsed counts as
   * stopped. Returns empty for a finished run and for one whose owner may still execute it. The
   * reason is the one {@link PipelineService#failInterruptedRuns} stores when it marks the run
   * FAILED. For a SCHEDULED run the reason states that the run never started and how to queue it
   * again, because nothing re-queues a run submitted over HTTP.
   */
  public static Optional<String> interruptedReason(Run run) {
    if (run.status().isTerminal()) {
      return Optional.empty();
    }
    boolean stopped = parse(run.owner()).map(RunOwner::hasStopped).orElse(true);
    if (!stopped) {
      return Optional.empty();
    }
    if (run.status() == RunStatus.SCHEDULED) {
      return Optional.of(
          "not started: the process "
              + run.owner()
              + " that queued this run stopped before the run began. A file in the landing folder"
              + " runs again when the server starts; submit any other batch again with POST"
              + " /api/v1/pipelines/"
              + run.pipeline()
              + "/runs");
    }
    return Optional.of(
        "interrupted: the process " + run.owner() + " that executed this run has stopped");
  }

  /**
   * Returns the run as {@link PipelineService#failInterruptedRuns} would store it: FAILED with
   * outcome FAILED and the {@link #interruptedReason} when it is interrupted, and unchanged
   * otherwise. Readers that must not write, such as the lineage and the REST API, show runs through
   * this method. The finish time stays as stored, which is null for an interrupted run.
   */
  public static Run failedIfInterrupted(Run run) {
    Optional<String> reason = interruptedReason(run);
    if (reason.isEmpty()) {
      return run;
    }
    return new Run(
        run.id(),
        run.pipeline(),
        RunStatus.FAILED,
        RunOutcome.FAILED,
        run.source(),
        run.snapshotId(),
        reason.get(),
        run.metrics(),
        run.stepSeconds(),
        run.provenance(),
        run.owner(),
        run.actor(),
        run.startedAt(),
        run.finishedAt());
  }

  /**
   * Returns whether this owner's process has stopped, as far as the running process can tell. A
   * process on another host cannot be checked from here, so it counts as running, and a server on
   * that host marks its runs when it starts. On this host the process has stopped when no live
   * process has its pid. It has also stopped when the live process started more than {@link
   * #START_TOLERANCE} before or after the stored start, because the pid was given to a new process.
   * For the running process's own pid only an exact match counts, so runs left by an earlier
   * process with the same pid, such as the previous process of a restarted container, are judged
   * stopped.
   *
   * <p>NOTE: a wall-clock step of more than {@link #START_TOLERANCE} between the owner's start and
   * this check makes a live owner look stopped. Its run is then marked FAILED, and the owner's next
   * write to the run replaces that status.
   */
  public boolean hasStopped() {
    RunOwner self = current();
    if (!host.equals(self.host)) {
      return false;
    }
    if (pid == self.pid) {
      return !equals(self);
    }
    Optional<ProcessHandle> process = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
    if (process.isEmpty()) {
      return true;
    }
    Optional<Instant> liveStart = process.get().info().startInstant();
    if (start == null || liveStart.isEmpty()) {
      return false;
    }
    return Duration.between(start, liveStart.get()).abs().compareTo(START_TOLERANCE) > 0;
  }

  /** Returns the stored form, {@code host:pid@start}, or {@code host:pid} without a start. */
  @Override
  public String toString() {
    return start == null ? host + ":" + pid : host + ":" + pid + "@" + start;
  }

  /** Holds the running process's owner, read on first use because the host lookup can be slow. */
  private static final class Current {
    static final RunOwner OWNER = read();

    private static RunOwner read() {
      String host;
      try {
        host = InetAddress.getLocalHost().getHostName();
      } catch (UnknownHostException e) {
        host = "localhost";
      }
      // An IPv6 literal contains ':', which separates the host from the pid.
      host = host.replace(':', '-').replace('@', '-');
      if (host.isEmpty()) {
        host = "localhost";
      }
      ProcessHandle self = ProcessHandle.current();
      return new RunOwner(host, self.pid(), self.info().startInstant().orElse(null));
    }
  }
}
