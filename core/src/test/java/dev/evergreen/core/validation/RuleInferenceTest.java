package dev.evergreen.core.validation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.data.ColumnProfile;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.RuleSpec;
import dev.evergreen.api.validation.Severity;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.data.PipelineColumns;
import dev.evergreen.core.snapshot.SnapshotService;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import dev.evergreen.core.testing.TempDirArtifactStore;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestPipelines;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RuleInferenceTest {
  static final String SOURCE = "source:\n  landing: landing\n";
  static final String LABEL = "label:\n  column: label\n  greaterThan: 0\n";
  static final String FEATURES = "features:\n  numeric: [amount]\n  categorical: [city]\n";

  @TempDir Path dir;
  SnapshotService snapshots;

  @BeforeEach
  void setUp() throws IOException {
    InMemoryMetadataStore store = new InMemoryMetadataStore();
    Clock clock = Clock.systemUTC();
    snapshots =
        new SnapshotService(
            store,
            new TempDirArtifactStore(dir.resolve("artifacts")),
            new AuditLog(store, clock),
            clock,
            null,
            1);
  }

  Snapshot ingest(String csv, PipelineSpec spec) throws IOException {
    Path file = Files.writeString(Files.createTempFile(dir, "batch-", ".csv"), csv);
    return snapshots.ingest(file, spec, "test").snapshot();
  }

  static RuleSpec rule(List<RuleSpec> rules, String column, String kind) {
    return rules.stream()
        .filter(r -> r.column().equals(column))
        .filter(
            r ->
                switch (kind) {
                  case "not_null" -> Boolean.TRUE.equals(r.notNull());
                  case "min" -> r.min() != null;
                  case "allowed_values" -> r.allowedValues() != null;
                  default -> false;
                })
        .findFirst()
        .orElse(null);
  }

  /** Returns a CSV whose city column has {@code cities} distinct values. */
  static String citiesCsv(int cities) {
    StringBuilder csv = new StringBuilder("amount,city,label\n");
    IntStream.range(0, cities * 3)
        .forEach(i -> csv.append(i).append(",city").append(i % cities).append(",0\n"));
    return csv.toString();
  }

  @Test
  void inferFromFlightsReference() {
    PipelineSpec spec = TestPipelines.flights("");
    Path january = TestDuckDb.flightsMonth(dir.resolve("january.parquet"), 1, 20_000);
    Snapshot reference = snapshots.ingest(january, spec, "test").snapshot();

    List<RuleSpec> rules = RuleInference.infer(reference, snapshots.parquetOf(reference), spec, 1);

    for (String column : PipelineColumns.required(spec)) {
      ColumnProfile profile = reference.profile().column(column).orElseThrow();
      RuleSpec notNull = rule(rules, column, "not_null");
      if (profile.nullCount() == 0) {
        assertThat(notNull).as("not_null on %s", column).isNotNull();
        assertThat(notNull.severity()).isEqualTo(Severity.ERROR);
      } else {
        assertThat(notNull).as("not_null on %s", column).isNull();
      }
    }
    RuleSpec min = rule(rules, "distance", "min");
    assertThat(min).isNotNull();
    assertThat(min.min()).isEqualTo(0.0);
    assertThat(min.severity()).isEqualTo(Severity.ERROR);
    // More than 50 airports, so no allowed values.
    assertThat(rule(rules, "origin", "allowed_values")).isNull();
  }

  @Test
  void inferredRulesPassLaterRealBatch() {
    PipelineSpec spec = TestPipelines.flights("");
    Snapshot january =
        snapshots
            .ingest(TestDuckDb.flightsMonth(dir.resolve("jan.parquet"), 1, 20_000), spec, "test")
            .snapshot();
    Snapshot june =
        snapshots
            .ingest(TestDuckDb.flightsMonth(dir.resolve("jun.parquet"), 6, 20_000), spec, "test")
            .snapshot();
    List<RuleSpec> rules = RuleInference.infer(january, snapshots.parquetOf(january), spec, 1);

    ValidationReport report =
        new Validator(1).validate(june, snapshots.parquetOf(june), null, null, spec, rules);

    assertThat(rules).isNotEmpty();
    assertThat(report.anomalies()).isEmpty();
  }

  @Test
  void inferNoMinForNegativeValues() throws IOException {
    PipelineSpec spec = TestPipelines.of(SOURCE, "", LABEL, FEATURES, "");
    Snapshot reference = ingest("amount,city,label\n-1.5,Paris,0\n2.0,Rome,1\n", spec);

    List<RuleSpec> rules = RuleInference.infer(reference, spec);

    assertThat(rule(rules, "amount", "min")).isNull();
    assertThat(rule(rules, "amount", "not_null")).isNotNull();
  }

  @Test
  void inferNoNotNullForColumnWithNulls() throws IOException {
    PipelineSpec spec = TestPipelines.of(SOURCE, "", LABEL, FEATURES, "");
    Snapshot reference = ingest("amount,city,label\n1.5,,0\n2.0,Rome,1\n", spec);

    List<RuleSpec> rules = RuleInference.infer(reference, spec);

    assertThat(rule(rules, "city", "not_null")).isNull();
    assertThat(rule(rules, "label", "not_null")).isNotNull();
  }

  @Test
  void inferAllowedValuesFromProfile() throws IOException {
    PipelineSpec spec = TestPipelines.of(SOURCE, "", LABEL, FEATURES, "");
    Snapshot reference = ingest(citiesCsv(3), spec);

    RuleSpec allowed = rule(RuleInference.infer(reference, spec), "city", "allowed_values");

    assertThat(allowed).isNotNull();
    assertThat(allowed.allowedValues()).containsExactly("city0", "city1", "city2");
    assertThat(allowed.severity()).isEqualTo(Severity.WARNING);
  }

  @Test
  void inferAllowedValuesUpToFiftyFromParquet() throws IOException {
    PipelineSpec spec = TestPipelines.of(SOURCE, "", LABEL, FEATURES, "");
    Snapshot thirty = ingest(citiesCsv(30), spec);
    Snapshot sixty = ingest(citiesCsv(60), spec);

    List<RuleSpec> fromProfile = RuleInference.infer(thirty, spec);
    List<RuleSpec> fromParquet = RuleInference.infer(thirty, snapshots.parquetOf(thirty), spec, 1);
    List<RuleSpec> tooMany = RuleInference.infer(sixty, snapshots.parquetOf(sixty), spec, 1);

    // The profile keeps ten values, too few to list thirty.
    assertThat(rule(fromProfile, "city", "allowed_values")).isNull();
    assertThat(rule(fromParquet, "city", "allowed_values").allowedValues()).hasSize(30);
    assertThat(rule(tooMany, "city", "allowed_values")).isNull();
  }

  @Test
  void inferSkipsKindsThePipelineDeclares() throws IOException {
    PipelineSpec spec =
        TestPipelines.of(
            SOURCE,
            "",
            LABEL,
            FEATURES,
            "validation:\n  rules:\n    - column: amount\n      min: 1\n"
                + "    - column: city\n      allowedValues: [city0]\n");
    Snapshot reference = ingest(citiesCsv(3), spec);

    List<RuleSpec> rules = RuleInference.infer(reference, spec);

    assertThat(rule(rules, "amount", "min")).isNull();
    assertThat(rule(rules, "city", "allowed_values")).isNull();
    assertThat(rule(rules, "amount", "not_null")).isNotNull();
  }
}
