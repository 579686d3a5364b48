package dev.evergreen.core.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.validation.DatasetDrift;
import dev.evergreen.api.validation.FeatureDrift;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.EvergreenSettings;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import dev.evergreen.core.testing.TempDirArtifactStore;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestPipelines;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Drift of pipeline runs on January and February 2001 of the flight data: measured from the stored
 * profiles when both snapshots have one, and from the rows when the reference predates profiles.
 */
class ProfileDriftRunTest {
  static final Instant NOW = Instant.parse("2001-03-02T00:00:00Z");

  @TempDir static Path months;
  static Path january;
  static Path february;

  @TempDir Path work;

  private InMemoryMetadataStore store;
  private Evergreen evergreen;
  private Path pipelineFile;

  @BeforeAll
  static void writeMonths() {
    january = TestDuckDb.flightsMonth(months.resolve("january.parquet"), 1, 5_000);
    february = TestDuckDb.flightsMonth(months.resolve("february.parquet"), 2, 5_000);
  }

  @BeforeEach
  void open() throws Exception {
    store = new InMemoryMetadataStore();
    evergreen = open(store);
    pipelineFile = work.resolve("pipeline").resolve("flights.yaml");
    Files.createDirectories(pipelineFile.getParent());
    Files.writeString(
        pipelineFile, TestPipelines.flightsYaml("validation:\n  inferRules: false\n"));
  }

  private Evergreen open(InMemoryMetadataStore metadata) throws IOException {
    return new Evergreen(
        metadata,
        new TempDirArtifactStore(work.resolve("artifacts")),
        new SimpleMeterRegistry(),
        Clock.fixed(NOW, ZoneOffset.UTC),
        EvergreenSettings.defaults().withThreads(1));
  }

  @AfterEach
  void close() {
    evergreen.close();
  }

  @Test
  void runMeasuresDriftFromStoredProfiles() {
    evergreen.pipelines().run(pipelineFile, january, "tester");
    Run second = evergreen.pipelines().run(pipelineFile, february, "tester");

    ValidationReport report = report(second);
    assertThat(second.outcome()).isNotEqualTo(RunOutcome.REJECTED);
    assertThat(report.driftSource()).isEqualTo(ValidationReport.FROM_PROFILES);
    assertThat(report.drift())
        .extracting(FeatureDrift::feature)
        .containsExactly("distance", "origin", "destination", "hour", "day_of_week");
    assertThat(report.drift()).allSatisfy(d -> assertThat(d.kind()).isNotNull());
    DatasetDrift verdict = report.datasetDrift();
    assertThat(verdict).isNotNull();
    assertThat(verdict.features()).isEqualTo(report.drift());
    assertThat(verdict.share()).isEqualTo((double) verdict.drifted().size() / 5);
    assertThat(verdict.threshold()).isEqualTo(0.5);
  }

  @Test
  void referenceWithoutStoredProfileUsesRows() throws IOException {
    InMemoryMetadataStore other = new InMemoryMetadataStore();
    Snapshot withProfile;
    try (Evergreen ingesting = open(other)) {
      withProfile =
          ingesting.snapshots().ingest(january, TestPipelines.flights(""), "tester").snapshot();
    }
    Snapshot old =
        new Snapshot(
            withProfile.id(),
            withProfile.source(),
            withProfile.artifactKey(),
            withProfile.schema(),
            withProfile.profile().withSketchKey(null),
            withProfile.tags(),
            withProfile.createdAt());
    store.insertSnapshot(old);

    Run first = evergreen.pipelines().run(pipelineFile, january, "tester");
    Run second = evergreen.pipelines().run(pipelineFile, february, "tester");

    assertThat(first.snapshotId()).isEqualTo(old.id());
    assertThat(store.findSnapshot(old.id()).orElseThrow().profile().sketchKey()).isNull();
    assertThat(second.outcome()).isNotEqualTo(RunOutcome.REJECTED);
    ValidationReport report = report(second);
    assertThat(report.driftSource()).isEqualTo(ValidationReport.FROM_ROWS);
    assertThat(report.drift()).hasSize(5);
    assertThat(report.datasetDrift()).isNotNull();
  }

  @Test
  void firstRunMeasuresNoDrift() {
    Run first = evergreen.pipelines().run(pipelineFile, january, "tester");

    ValidationReport report = report(first);
    assertThat(report.driftSource()).isNull();
    assertThat(report.datasetDrift()).isNull();
    assertThat(report.drift()).isEmpty();
  }

  private ValidationReport report(Run run) {
    return evergreen.store().findValidationReport(run.id()).orElseThrow();
  }
}
