package dev.evergreen.core.pipeline;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.PipelineSpecs;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.audit.AuditActions;
import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pipelines known to this instance, and their runs. Runs of one pipeline are queued and executed
 * one at a time; runs of different pipelines may overlap.
 */
public final class PipelineService implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PipelineService.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Evergreen evergreen;
  private final PipelineRunner runner;
  private final Map<String, RegisteredPipeline> pipelines = new ConcurrentHashMap<>();

  /** Seconds that {@link #close} waits for runs in progress, which it interrupts: 10. */
  static final long CLOSE_SECONDS = 10;

  /** Set by {@link #close}: queued runs then stay SCHEDULED instead of starting. */
  private volatile boolean closing;

  private final Map<String, ExecutorService> queues = new ConcurrentHashMap<>();

  public PipelineService(Evergreen evergreen) {
    this.evergreen = evergreen;
    this.runner = new PipelineRunner(evergreen, new PipelineMetrics(evergreen.meters()));
  }

  /**
   * Loads a pipeline file and makes it known under its name, replacing an earlier file. The bytes
   * it parsed are stored in the artifact store, where runs find them by their SHA-256.
   */
  public RegisteredPipeline register(Path file) {
    byte[] source = PipelineSpecs.readFile(file);
    PipelineSpec spec = PipelineSpecs.parse(source, file.toString());
    String key;
    try {
      key = evergreen.artifacts().put(source);
    } catch (IOException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "cannot store a copy of pipeline file " + file + " in the artifact store: " + e,
          e);
    }
    RegisteredPipeline pipeline =
        new RegisteredPipeline(
            spec, file.toAbsolutePath(), key.substring(key.lastIndexOf('/') + 1));
    RegisteredPipeline earlier = pipelines.put(spec.name(), pipeline);
    if (spec.deployment().batching() != null) {
      evergreen.router().configureBatching(spec.deployment().model(), spec.deployment().batching());
    }
    if (earlier != null && !earlier.file().equals(pipeline.file())) {
      LOG.warn("pipeline '{}' from {} replaces the one from {}", spec.name(), file, earlier.file());
    }
    return pipeline;
  }

  public List<RegisteredPipeline> list() {
    List<RegisteredPipeline> all = new ArrayList<>(pipelines.values());
    all.sort((a, b) -> a.name().compareTo(b.name()));
    return all;
  }

  public Optional<RegisteredPipeline> find(String name) {
    return Optional.ofNullable(pipelines.get(name));
  }

  /** Queues a run of a registered pipeline and returns its result when it has finished. */
  public CompletableFuture<Run> submit(String pipeline, Path data, String actor) {
    return enqueue(pipeline, data, actor).result();
  }

  /** Queues a run; its id is returned at once and the run is stored as SCHEDULED. */
  public SubmittedRun enqueue(String pipeline, Path data, String actor) {
    RegisteredPipeline registered =
        find(pipeline)
            .orElseThrow(
                () ->
                    EvergreenException.notFound(
                        "pipeline '"
                            + pipeline
                            + "' is not registered; known pipelines: "
                            + pipelines.keySet()));
    Run scheduled = schedule(registered, data, actor, RunStatus.SCHEDULED);
    ExecutorService queue =
        queues.computeIfAbsent(
            pipeline,
            name ->
                Executors.newSingleThreadExecutor(
                    r -> {
                      Thread thread = new Thread(r, "pipeline-" + name);
                      thread.setDaemon(true);
                      return thread;
                    }));
    // A run still queued when this process closes stays SCHEDULED; the next start marks it as not
    // started, and runs a landing file again.
    CompletableFuture<Run> result =
        CompletableFuture.supplyAsync(
            () -> closing ? scheduled : runner.execute(registered, data, scheduled), queue);
    return new SubmittedRun(scheduled.id(), result);
  }

  /** Runs a pipeline file on a data file in the calling thread and returns the finished run. */
  public Run run(Path pipelineFile, Path data, String actor) {
    RegisteredPipeline pipeline = register(pipelineFile);
    return runner.execute(pipeline, data, schedule(pipeline, data, actor, RunStatus.RUNNING));
  }

  private Run schedule(RegisteredPipeline pipeline, Path data, String actor, RunStatus status) {
    byte[] id = new byte[16];
    RANDOM.nextBytes(id);
    Run run =
        new Run(
            HexFormat.of().formatHex(id),
            pipeline.name(),
            status,
            null,
            data.toAbsolutePath().toString(),
            null,
            null,
            Map.of(),
            Map.of(),
            null,
            evergreen.settings().owner(),
            actor,
            evergreen.clock().instant().truncatedTo(ChronoUnit.MILLIS),
            null);
    evergreen
        .store()
        .inTransaction(
            () -> {
              evergreen.store().insertRun(run);
              evergreen
                  .audit()
                  .append(
                      actor,
                      AuditActions.RUN_STARTED,
                      Map.of("run", run.id(), "pipeline", pipeline.name()),
                      Map.of("data", run.source()));
            });
    return run;
  }

  /**
   * Marks runs left SCHEDULED or RUNNING by a process that no longer exists as FAILED. Returns how
   * many were marked.
   *
   * <p>Servers call this on start, and CLI commands that start, list, show or report runs call it
   * too, so several processes may call it on one home at once. {@link
   * RunOwner#interruptedReason(Run)} decides which runs are interrupted. A run whose owner is a
   * live process on this host, or any process on another host, is never marked. Each run is checked
   * again inside the write transaction, so a run that its owner finished, or that another process
   * marked meanwhile, is left as it is and gets one audit entry only.
   */
  public int failInterruptedRuns(String actor) {
    int marked = 0;
    for (Run run :
        evergreen.store().listRunsByStatus(EnumSet.of(RunStatus.SCHEDULED, RunStatus.RUNNING))) {
      Optional<String> reason = RunOwner.interruptedReason(run);
      if (reason.isEmpty()) {
        continue;
      }
      boolean failed =
          evergreen.store().inTransaction(() -> markFailed(run.id(), reason.get(), actor));
      if (failed) {
        LOG.warn(
            "run {} of pipeline '{}' marked failed: {}", run.id(), run.pipeline(), reason.get());
        marked++;
      }
    }
    return marked;
  }

  /** Marks one run FAILED if it is still unfinished. Call it inside a write transaction. */
  private boolean markFailed(String runId, String reason, String actor) {
    Run run = evergreen.store().findRun(runId).orElse(null);
    if (run == null || run.status().isTerminal()) {
      return false;
    }
    Instant now = evergreen.clock().instant().truncatedTo(ChronoUnit.MILLIS);
    evergreen
        .store()
        .updateRun(
            new Run(
                run.id(),
                run.pipeline(),
                RunStatus.FAILED,
                RunOutcome.FAILED,
                run.source(),
                run.snapshotId(),
                reason,
                run.metrics(),
                run.stepSeconds(),
                run.provenance(),
                run.owner(),
                run.actor(),
                run.startedAt(),
                now));
    evergreen
        .audit()
        .append(
            actor,
            AuditActions.RUN_FINISHED,
            Map.of("run", run.id(), "pipeline", run.pipeline()),
            Map.of("status", "FAILED", "outcome", "FAILED", "reason", reason));
    return true;
  }

  /**
   * Points a run's source at the path its batch file was moved to, such as the landing folder's
   * {@code processed} subfolder, so that the run names a file that exists. Returns false when no
   * run has that id.
   */
  public boolean relocateSource(String runId, Path movedTo) {
    return evergreen
        .store()
        .inTransaction(
            () -> {
              Run run = evergreen.store().findRun(runId).orElse(null);
              if (run == null) {
                return false;
              }
              evergreen
                  .store()
                  .updateRun(
                      new Run(
                          run.id(),
                          run.pipeline(),
                          run.status(),
                          run.outcome(),
                          movedTo.toAbsolutePath().toString(),
                          run.snapshotId(),
                          run.reason(),
                          run.metrics(),
                          run.stepSeconds(),
                          run.provenance(),
                          run.owner(),
                          run.actor(),
                          run.startedAt(),
                          run.finishedAt()));
              return true;
            });
  }

  /**
   * Lets no queued run start from now on, while runs in progress go on; used when a server begins
   * to shut down. The runs that stay queued remain SCHEDULED.
   */
  public void stopStartingRuns() {
    closing = true;
  }

  @Override
  public void close() {
    closing = true;
    runner.stop();
    for (ExecutorService queue : queues.values()) {
      // The queued tasks see closing set and complete their futures with the SCHEDULED run at
      // once, so that nothing waits on a run that never starts.
      queue.shutdownNow().forEach(Runnable::run);
    }
    // One deadline for all queues, so that a shutdown waits at most this long for runs in progress.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CLOSE_SECONDS);
    for (ExecutorService queue : queues.values()) {
      try {
        queue.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
