package dev.evergreen.core.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestEvergreens;
import dev.evergreen.core.testing.TestPipelines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where the landing watcher puts a file after its run: {@code rejected/} for a batch that was
 * rejected, and nowhere for a run that failed without a verdict on the data, such as a pipeline
 * whose direct identifiers need a pseudonym key that is not set.
 */
class LandingOutcomeTest {
  @TempDir Path work;

  private Evergreen evergreen;
  private LandingWatcher watcher;

  @BeforeEach
  void open() throws Exception {
    // No pseudonym key, as in a process started without EVERGREEN_PSEUDONYM_KEY.
    evergreen = TestEvergreens.open(work);
    watcher = new LandingWatcher(evergreen.pipelines(), evergreen.clock(), "watcher");
  }

  @AfterEach
  void close() {
    watcher.close();
    evergreen.close();
  }

  @Test
  void missingKeyLeavesFileInLanding() throws Exception {
    Path pipelineFile =
        writePipeline(
            "pii",
            TestPipelines.flightsYaml("")
                .replace("name: flights-delay", "name: flights-pii")
                .replace("data:\n", "data:\n  personalData:\n    origin: direct_identifier\n")
                .replace("features:\n", "features:\n  allowPersonalData: [origin]\n"));
    Path landing = evergreen.pipelines().register(pipelineFile).landingFolder();
    Path file = land(landing, "2001-03.parquet");
    watcher.start(Duration.ofMillis(20));

    Run failed = awaitRuns("flights-pii", 1, r -> r.status().isTerminal()).get(0);
    // Polls after the run ended must not queue the unchanged file again.
    Thread.sleep(300);

    assertThat(failed.outcome()).isEqualTo(RunOutcome.FAILED);
    assertThat(failed.reason()).contains("EVERGREEN_PSEUDONYM_KEY").contains("'origin'");
    assertThat(file).exists();
    assertThat(landing.resolve(LandingWatcher.PROCESSED).resolve("2001-03.parquet")).doesNotExist();
    assertThat(landing.resolve(LandingWatcher.REJECTED).resolve("2001-03.parquet")).doesNotExist();
    assertThat(failed.source()).isEqualTo(file.toAbsolutePath().toString());
    assertThat(evergreen.store().listRuns("flights-pii", 10)).hasSize(1);

    // A changed file is a new delivery and runs again.
    Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() - 60_000));
    List<Run> runs = awaitRuns("flights-pii", 2, r -> r.status().isTerminal());
    assertThat(runs).hasSize(2);
    assertThat(file).exists();
  }

  @Test
  void rejectedFileMovesToRejectedFolder() throws Exception {
    Path pipelineFile = writePipeline("flights", TestPipelines.flightsYaml(""));
    Path landing = evergreen.pipelines().register(pipelineFile).landingFolder();
    Files.createDirectories(landing);
    Files.writeString(landing.resolve("wrong-columns.csv"), "a,b\n1,2\n3,4\n");
    Path rejected = landing.resolve(LandingWatcher.REJECTED).resolve("wrong-columns.csv");
    watcher.start(Duration.ofMillis(20));

    Run run =
        awaitRuns(
                "flights-delay",
                1,
                r -> r.status().isTerminal() && r.source().equals(rejected.toString()))
            .get(0);

    assertThat(run.outcome()).isEqualTo(RunOutcome.REJECTED);
    assertThat(rejected).exists();
    assertThat(landing.resolve("wrong-columns.csv")).doesNotExist();
    assertThat(landing.resolve(LandingWatcher.PROCESSED).resolve("wrong-columns.csv"))
        .doesNotExist();
  }

  private Path writePipeline(String folder, String yaml) throws Exception {
    Path file = work.resolve(folder).resolve("pipeline.yaml");
    Files.createDirectories(file.getParent());
    return Files.writeString(
        file, yaml.replace("landing: landing\n", "landing: landing\n  stableSeconds: 0\n"));
  }

  /** Writes a month of flights under a temporary name and renames it into the landing folder. */
  private static Path land(Path landing, String name) throws Exception {
    Files.createDirectories(landing);
    Path part = TestDuckDb.flightsMonth(landing.resolve(name + ".part"), 3, 2_000);
    return Files.move(part, landing.resolve(name));
  }

  /** Waits until the pipeline has {@code count} runs that all match, and returns them. */
  private List<Run> awaitRuns(String pipeline, int count, Predicate<Run> done) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      List<Run> runs = evergreen.store().listRuns(pipeline, 10);
      if (runs.size() >= count && runs.stream().allMatch(done)) {
        return runs;
      }
      Thread.sleep(20);
    }
    throw new AssertionError(
        "pipeline '"
            + pipeline
            + "' has not "
            + count
            + " finished runs within 60 s: "
            + evergreen.store().listRuns(pipeline, 10));
  }
}
