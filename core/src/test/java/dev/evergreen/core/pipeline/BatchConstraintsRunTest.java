package dev.evergreen.core.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestEvergreens;
import dev.evergreen.core.testing.TestPipelines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Batch constraints that need the store or the clock, checked by real pipeline runs. */
class BatchConstraintsRunTest {
  /** Two days after the last flight of January 2001 in the test data. */
  static final Instant NOW = Instant.parse("2001-02-02T00:00:00Z");

  @TempDir Path work;

  private Evergreen evergreen;
  private Path pipelineFile;

  @BeforeEach
  void open() throws Exception {
    evergreen =
        TestEvergreens.open(new InMemoryMetadataStore(), work, Clock.fixed(NOW, ZoneOffset.UTC));
    pipelineFile = work.resolve("pipeline").resolve("flights.yaml");
    Files.createDirectories(pipelineFile.getParent());
    String validation =
        """
        validation:
          inferRules: false
          rules:
            - maxRowCountChange: 0.5
            - column: date
              maxAge: P3D
              severity: warning
        """;
    Files.writeString(pipelineFile, TestPipelines.flightsYaml(validation));
  }

  @AfterEach
  void close() {
    evergreen.close();
  }

  @Test
  void rowCountChangeComparesWithPreviousAcceptedBatch() {
    Run first = evergreen.pipelines().run(pipelineFile, month(1, 4_000), "tester");
    Run tooLarge = evergreen.pipelines().run(pipelineFile, month(1, 7_000), "tester");
    Run within = evergreen.pipelines().run(pipelineFile, month(1, 5_000), "tester");

    assertThat(first.outcome()).isEqualTo(RunOutcome.PROMOTED);
    assertThat(tooLarge.outcome()).isEqualTo(RunOutcome.REJECTED);
    assertThat(tooLarge.reason()).contains("row_count_change").contains("7000 rows against 4000");
    assertThat(within.outcome()).isNotEqualTo(RunOutcome.REJECTED);
    assertThat(report(within).anomalies()).noneMatch(a -> a.rule().equals("row_count_change"));
  }

  @Test
  void maxAgeUsesRunClock() throws Exception {
    Run recent = evergreen.pipelines().run(pipelineFile, month(1, 4_000), "tester");
    Files.writeString(pipelineFile, Files.readString(pipelineFile).replace("P3D", "PT12H"));
    Run stale = evergreen.pipelines().run(pipelineFile, month(1, 4_001), "tester");

    assertThat(report(recent).anomalies()).isEmpty();
    assertThat(report(stale).warnings())
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.rule()).isEqualTo("max_age");
              assertThat(a.observed()).startsWith("newest 2001-01-31T");
            });
    assertThat(stale.outcome()).isNotEqualTo(RunOutcome.REJECTED);
  }

  private ValidationReport report(Run run) {
    return evergreen.store().findValidationReport(run.id()).orElseThrow();
  }

  private Path month(int month, int rows) {
    Path file = work.resolve("month-" + month + "-" + rows + ".parquet");
    if (!Files.exists(file)) {
      TestDuckDb.flightsMonth(file, month, rows);
    }
    return file;
  }
}
