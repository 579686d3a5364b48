package dev.evergreen.core.pipeline;

import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Polls the landing folder of every registered pipeline and queues one run per complete file.
 *
 * <p>A file is complete when its size and modification time are unchanged between two polls and the
 * modification time is at least {@code stableSeconds} old, so a file still being written is never
 * read. Writers that rename a finished file into the folder (an atomic rename on one file system)
 * are picked up after the same wait. Names starting with {@code .} or ending in {@code .tmp} or
 * {@code .part} are ignored.
 *
 * <p>When a file's run has finished, where the file goes depends on the run's outcome. A batch that
 * was trained on ends in the {@code processed} subfolder, and a batch that validation or reading
 * rejected (outcome {@code REJECTED}) ends in the {@code rejected} subfolder. A run that failed
 * without a verdict on the data (outcome {@code FAILED}, such as a missing setting, a disk error or
 * a failed deployment) leaves the file where it is. This watcher does not queue that file again
 * until its size or modification time changes, but the next server start runs it again, as it runs
 * every file left in the folder after a crash.
 *
 * <p>A moved file never replaces an earlier one: when the subfolder already contains its name, it
 * gets the first free name with a numeric suffix before the extension ({@code batch-1.parquet},
 * {@code batch-2.parquet}, ...). The run's source is then changed to the moved file's path.
 */
public final class LandingWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LandingWatcher.class);

  /** Subfolder of a landing folder that receives files whose batch was trained on. */
  public static final String PROCESSED = "processed";

  /** Subfolder of a landing folder that receives files whose batch was rejected. */
  public static final String REJECTED = "rejected";

  /** Largest numeric suffix tried for a name that the target subfolder already contains. */
  static final int MAX_SUFFIX = 100_000;

  private final PipelineService pipelines;
  private final Clock clock;
  private final String actor;
  private final ScheduledExecutorService poller;
  private final Map<Path, Observation> seen = new HashMap<>();

  /**
   * The size and modification time of a file at its last poll, and whether a run of it is queued or
   * has failed without a verdict on the data.
   */
  private record Observation(long size, long modifiedMillis, State state) {
    boolean sameAs(long otherSize, long otherModifiedMillis) {
      return size == otherSize && modifiedMillis == otherModifiedMillis;
    }
  }

  private enum State {
    /** Seen, but not yet complete. */
    SETTLING,
    /** A run of the file is queued or executing. */
    QUEUED,
    /** The file's run failed without a verdict on the data, so the file stays in the folder. */
    FAILED
  }

  public LandingWatcher(PipelineService pipelines, Clock clock, String actor) {
    this.pipelines = pipelines;
    this.clock = clock;
    this.actor = actor;
    this.poller =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread thread = new Thread(r, "landing-watcher");
              thread.setDaemon(true);
              return thread;
            });
  }

  public void start(Duration interval) {
    poller.scheduleWithFixedDelay(this::pollSafely, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void pollSafely() {
    try {
      poll();
    } catch (RuntimeException e) {
      LOG.error("polling landing folders failed; retrying at the next poll", e);
    }
  }

  /** Checks every landing folder once and queues runs for complete files. */
  synchronized void poll() {
    for (RegisteredPipeline pipeline : pipelines.list()) {
      Path folder = pipeline.landingFolder();
      if (folder == null) {
        continue;
      }
      try {
        Files.createDirectories(folder.resolve(PROCESSED));
        Files.createDirectories(folder.resolve(REJECTED));
        List<Path> files = candidates(folder);
        for (Path file : files) {
          check(pipeline, file);
        }
        forgetRemoved(folder, new HashSet<>(files));
      } catch (IOException e) {
        LOG.error("cannot read landing folder {} of pipeline '{}'", folder, pipeline.name(), e);
      }
    }
  }

  /**
   * Forgets files of a folder that are gone, unless their run is queued, so that a file delivered
   * again under the same name is judged afresh.
   */
  private void forgetRemoved(Path folder, Set<Path> present) {
    seen.entrySet()
        .removeIf(
            entry ->
                entry.getKey().getParent().equals(folder)
                    && entry.getValue().state() != State.QUEUED
                    && !present.contains(entry.getKey()));
  }

  private static List<Path> candidates(Path folder) throws IOException {
    try (Stream<Path> files = Files.list(folder)) {
      return files
          .filter(Files::isRegularFile)
          .filter(
              f -> {
                String name = f.getFileName().toString().toLowerCase(Locale.ROOT);
                return !name.startsWith(".") && !name.endsWith(".tmp") && !name.endsWith(".part");
              })
          .sorted()
          .toList();
    }
  }

  private void check(RegisteredPipeline pipeline, Path file) throws IOException {
    BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(file, BasicFileAttributes.class);
    } catch (java.nio.file.NoSuchFileException e) {
      seen.remove(file);
      return;
    }
    long size = attributes.size();
    long modified = attributes.lastModifiedTime().toMillis();
    Observation previous = seen.get(file);
    if (previous != null && previous.state() == State.QUEUED) {
      return;
    }
    if (previous != null && previous.state() == State.FAILED) {
      if (previous.sameAs(size, modified)) {
        return;
      }
      // A changed file is a new delivery, so it is queued again once it has settled.
      LOG.info("landing file {} changed after its run failed; queuing it again", file);
      seen.put(file, new Observation(size, modified, State.SETTLING));
      return;
    }
    boolean unchanged = previous != null && previous.sameAs(size, modified);
    long ageMillis = clock.millis() - modified;
    long stableMillis = pipeline.spec().source().stableSeconds() * 1000L;
    if (!unchanged || ageMillis < stableMillis) {
      seen.put(file, new Observation(size, modified, State.SETTLING));
      return;
    }
    seen.put(file, new Observation(size, modified, State.QUEUED));
    LOG.info("landing file {} is complete; queuing a run of pipeline '{}'", file, pipeline.name());
    pipelines
        .submit(pipeline.name(), file, actor)
        .whenComplete(
            (run, error) ->
                settle(file, new Observation(size, modified, State.FAILED), run, error));
  }

  /**
   * Moves a file whose run has finished into {@code processed} or {@code rejected}, or keeps it in
   * the landing folder when the run failed without a verdict on the data.
   */
  private void settle(Path file, Observation submitted, Run run, Throwable error) {
    // The future completes with a run or with an error, never with neither. A run without an
    // outcome never started, because this process began to shut down.
    if (error != null || run.outcome() == null || run.outcome() == RunOutcome.FAILED) {
      LOG.warn(
          "run {} of landing file {} failed without a verdict on the data, so the file stays in"
              + " the landing folder; it runs again when the server restarts or the file changes:"
              + " {}",
          run == null ? "(none)" : run.id(),
          file,
          error != null ? error.toString() : run.reason());
      synchronized (this) {
        seen.put(file, submitted);
      }
      return;
    }
    String subfolder = run.outcome() == RunOutcome.REJECTED ? REJECTED : PROCESSED;
    try {
      Path target = moveWithoutReplacing(file, file.resolveSibling(subfolder));
      LOG.info("moved {} landing file {} to {}", subfolder, file, target);
      recordSource(run, target);
    } catch (IOException | RuntimeException e) {
      LOG.error("cannot move landing file {} to {}", file, subfolder, e);
    }
    synchronized (this) {
      seen.remove(file);
    }
  }

  private void recordSource(Run run, Path target) {
    try {
      pipelines.relocateSource(run.id(), target);
    } catch (RuntimeException e) {
      LOG.error(
          "moved the batch of run {} to {}, but cannot record that path as the run's source",
          run.id(),
          target,
          e);
    }
  }

  /**
   * Moves a file into a folder under its own name, or, when that name is taken, under the first
   * free name with a suffix {@code -1}, {@code -2}, ... before the extension. Returns the new path.
   */
  static Path moveWithoutReplacing(Path file, Path folder) throws IOException {
    String name = file.getFileName().toString();
    int dot = name.lastIndexOf('.');
    String stem = dot > 0 ? name.substring(0, dot) : name;
    String extension = dot > 0 ? name.substring(dot) : "";
    for (int suffix = 0; suffix <= MAX_SUFFIX; suffix++) {
      Path target = folder.resolve(suffix == 0 ? name : stem + "-" + suffix + extension);
      try {
        // Without REPLACE_EXISTING the move fails when the target exists.
        return Files.move(file, target);
      } catch (FileAlreadyExistsException e) {
        // Try the next suffix.
      }
    }
    throw new IOException(
        "folder "
            + folder
            + " already contains "
            + name
            + " and "
            + MAX_SUFFIX
            + " suffixed copies of it; move old files out of it");
  }

  @Override
  public void close() {
    poller.shutdownNow();
  }
}
