package dev.evergreen.core.pipeline;

import dev.evergreen.api.run.Run;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
 * {@code .part} are ignored. A file is moved to the {@code processed} subfolder once its run has
 * finished; after a crash it is still in the folder and runs again, giving the same snapshot.
 *
 * <p>A moved file never replaces an earlier one: when {@code processed} already contains its name,
 * it gets the first free name with a numeric suffix before the extension ({@code batch-1.parquet},
 * {@code batch-2.parquet}, ...). The run's source is then changed to the moved file's path.
 */
public final class LandingWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LandingWatcher.class);

  /** Subfolder of a landing folder that receives files whose run has finished. */
  public static final String PROCESSED = "processed";

  /** Largest numeric suffix tried for a name that {@code processed} already contains. */
  static final int MAX_SUFFIX = 100_000;

  private final PipelineService pipelines;
  private final Clock clock;
  private final String actor;
  private final ScheduledExecutorService poller;
  private final Map<Path, Observation> seen = new HashMap<>();

  private record Observation(long size, long modifiedMillis, boolean submitted) {}

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
        for (Path file : candidates(folder)) {
          check(pipeline, file);
        }
      } catch (IOException e) {
        LOG.error("cannot read landing folder {} of pipeline '{}'", folder, pipeline.name(), e);
      }
    }
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
    if (previous != null && previous.submitted()) {
      return;
    }
    boolean unchanged =
        previous != null && previous.size() == size && previous.modifiedMillis() == modified;
    long ageMillis = clock.millis() - modified;
    long stableMillis = pipeline.spec().source().stableSeconds() * 1000L;
    if (!unchanged || ageMillis < stableMillis) {
      seen.put(file, new Observation(size, modified, false));
      return;
    }
    seen.put(file, new Observation(size, modified, true));
    LOG.info("landing file {} is complete; queuing a run of pipeline '{}'", file, pipeline.name());
    pipelines
        .submit(pipeline.name(), file, actor)
        .whenComplete((run, error) -> moveToProcessed(file, run));
  }

  private void moveToProcessed(Path file, Run run) {
    try {
      Path target = moveWithoutReplacing(file, file.resolveSibling(PROCESSED));
      LOG.info("moved processed landing file {} to {}", file, target);
      if (run != null) {
        recordSource(run, target);
      }
    } catch (IOException | RuntimeException e) {
      LOG.error("cannot move processed landing file {} to {}", file, PROCESSED, e);
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
        "processed folder "
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
