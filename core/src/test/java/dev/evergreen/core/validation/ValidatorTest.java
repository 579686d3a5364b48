package dev.evergreen.core.validation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.RuleSpec;
import dev.evergreen.api.validation.Anomaly;
import dev.evergreen.api.validation.FeatureDrift;
import dev.evergreen.api.validation.Severity;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.snapshot.SnapshotService;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import dev.evergreen.core.testing.TempDirArtifactStore;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestPipelines;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ValidatorTest {
  static final int ROWS = 20_000;

  /** The declared rule of the example pipeline: distance between 1 and 6000 miles. */
  static final String DISTANCE_RULE =
      """
      validation:
        rules:
          - column: distance
            min: 1
            max: 6000
            severity: error
      """;

  @TempDir static Path shared;
  static Path january;
  static Path june;

  @TempDir Path dir;
  SnapshotService snapshots;
  Validator validator = new Validator(1);

  @BeforeAll
  static void writeFlightMonths() {
    january = TestDuckDb.flightsMonth(shared.resolve("january.parquet"), 1, ROWS);
    june = TestDuckDb.flightsMonth(shared.resolve("june.parquet"), 6, ROWS);
  }

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

  Snapshot ingest(Path file, PipelineSpec spec) {
    return snapshots.ingest(file, spec, "test").snapshot();
  }

  ValidationReport validate(Snapshot current, Snapshot reference, PipelineSpec spec) {
    List<RuleSpec> inferred =
        reference == null
            ? List.of()
            : RuleInference.infer(reference, snapshots.parquetOf(reference), spec, 1);
    return validator.validate(
        current,
        snapshots.parquetOf(current),
        reference,
        reference == null ? null : snapshots.parquetOf(reference),
        spec,
        inferred);
  }

  /** Writes a copy of a flights file with SQL expressions replacing columns. */
  Path corrupt(Path source, String name, String replace) {
    Path target = dir.resolve(name);
    TestDuckDb.execute(
        "COPY (SELECT * EXCLUDE (file_row_number) REPLACE ("
            + replace
            + ") FROM read_parquet("
            + TestDuckDb.path(source)
            + ", file_row_number = true) ORDER BY file_row_number) TO "
            + TestDuckDb.path(target)
            + " (FORMAT parquet)");
    return target;
  }

  static List<Anomaly> anomalies(ValidationReport report, String column, String rule) {
    return report.anomalies().stream()
        .filter(a -> a.column().equals(column) && a.rule().equals(rule))
        .toList();
  }

  @Test
  void validateTwoRealMonthsAccepted() {
    PipelineSpec spec = TestPipelines.flights(DISTANCE_RULE);
    Snapshot reference = ingest(january, spec);
    Snapshot current = ingest(june, spec);

    ValidationReport report = validate(current, reference, spec);

    assertThat(report.errors()).isEmpty();
    assertThat(report.accepted()).isTrue();
    assertThat(report.snapshotId()).isEqualTo(current.id());
    assertThat(report.referenceSnapshotId()).isEqualTo(reference.id());
    assertThat(report.drift())
        .extracting(FeatureDrift::feature)
        .containsExactly("distance", "origin", "destination", "hour", "day_of_week");
    assertThat(report.drift())
        .allSatisfy(
            drift -> {
              assertThat(drift.psi()).isFinite();
              assertThat(drift.psi()).isGreaterThanOrEqualTo(0.0);
            });
    for (Anomaly warning : report.warnings()) {
      assertThat(warning.rule()).isIn("psi", "allowed_values");
    }
  }

  @Test
  void validateDerivedDriftMatchesJavaComputation() {
    PipelineSpec spec = TestPipelines.flights("");
    Snapshot reference = ingest(january, spec);
    Snapshot current = ingest(june, spec);

    ValidationReport report = validate(current, reference, spec);

    Map<String, Double> psi =
        report.drift().stream().collect(Collectors.toMap(FeatureDrift::feature, FeatureDrift::psi));
    List<LocalDateTime> before = dates(snapshots.parquetOf(reference));
    List<LocalDateTime> after = dates(snapshots.parquetOf(current));
    assertThat(psi.get("day_of_week"))
        .isCloseTo(categoricalPsi(before, after, d -> d.getDayOfWeek().getValue()), within(1e-9));
    assertThat(psi.get("hour"))
        .isCloseTo(categoricalPsi(before, after, LocalDateTime::getHour), within(1e-9));
  }

  static List<LocalDateTime> dates(Path parquet) {
    List<LocalDateTime> dates = new ArrayList<>();
    for (List<String> row :
        TestDuckDb.rows(
            "SELECT strftime(date, '%Y-%m-%dT%H:%M:%S') FROM read_parquet("
                + TestDuckDb.path(parquet)
                + ")")) {
      dates.add(LocalDateTime.parse(row.get(0)));
    }
    return dates;
  }

  /** PSI over the reference's 20 most frequent values plus one bin for the rest, in plain Java. */
  static double categoricalPsi(
      List<LocalDateTime> reference,
      List<LocalDateTime> current,
      Function<LocalDateTime, Integer> feature) {
    Map<Integer, Long> referenceCounts =
        reference.stream().collect(Collectors.groupingBy(feature, Collectors.counting()));
    Map<Integer, Long> currentCounts =
        current.stream().collect(Collectors.groupingBy(feature, Collectors.counting()));
    Set<Integer> top =
        referenceCounts.entrySet().stream()
            .sorted(
                Comparator.comparing(Map.Entry<Integer, Long>::getValue)
                    .reversed()
                    .thenComparing(Map.Entry::getKey))
            .limit(20)
            .map(Map.Entry::getKey)
            .collect(Collectors.toSet());
    Map<Integer, double[]> bins = new HashMap<>();
    referenceCounts.forEach(
        (value, count) ->
            bins.computeIfAbsent(top.contains(value) ? value : -1, k -> new double[2])[0] += count);
    currentCounts.forEach(
        (value, count) ->
            bins.computeIfAbsent(top.contains(value) ? value : -1, k -> new double[2])[1] += count);
    double psi = 0;
    for (double[] bin : bins.values()) {
      double before = Math.max(bin[0] / reference.size(), 1e-4);
      double after = Math.max(bin[1] / current.size(), 1e-4);
      psi += (after - before) * Math.log(after / before);
    }
    return psi;
  }

  @Test
  void validateSameSnapshotHasZeroDrift() {
    PipelineSpec spec = TestPipelines.flights(DISTANCE_RULE);
    Snapshot reference = ingest(january, spec);

    ValidationReport report = validate(reference, reference, spec);

    assertThat(report.anomalies()).isEmpty();
    assertThat(report.drift()).hasSize(5).allSatisfy(d -> assertThat(d.psi()).isZero());
  }

  @Test
  void validateFirstBatchHasNoDrift() {
    PipelineSpec spec = TestPipelines.flights(DISTANCE_RULE);
    Snapshot current = ingest(january, spec);

    ValidationReport report = validate(current, null, spec);

    assertThat(report.accepted()).isTrue();
    assertThat(report.drift()).isEmpty();
    assertThat(report.referenceSnapshotId()).isNull();
  }

  @Test
  void validateNullDistanceRejected() {
    PipelineSpec spec = TestPipelines.flights(DISTANCE_RULE);
    Snapshot reference = ingest(january, spec);
    Snapshot current =
        ingest(corrupt(january, "null-distance.parquet", "NULL::BIGINT AS distance"), spec);

    ValidationReport report = validate(current, reference, spec);

    assertThat(report.accepted()).isFalse();
    List<Anomaly> notNull = anomalies(report, "distance", "not_null");
    assertThat(notNull).hasSize(1);
    Anomaly anomaly = notNull.get(0);
    assertThat(anomaly.severity()).isEqualTo(Severity.ERROR);
    assertThat(anomaly.failingRows()).isEqualTo(ROWS);
    assertThat(anomaly.observed()).isEqualTo(ROWS + " nulls");
    assertThat(anomaly.exampleRows()).containsExactly(1L, 2L, 3L, 4L, 5L);
    assertThat(report.errors()).containsExactly(anomaly);
  }

  @Test
  void validateMinViolationNamesCorruptedRows() {
    PipelineSpec spec = TestPipelines.flights(DISTANCE_RULE);
    Snapshot reference = ingest(january, spec);
    List<Long> corrupted = List.of(7L, 123L, 4_567L, 19_999L);
    Snapshot current =
        ingest(
            corrupt(
                january,
                "negative.parquet",
                "CASE WHEN file_row_number + 1 IN (7, 123, 4567, 19999) THEN -5"
                    + " ELSE distance END AS distance"),
            spec);

    ValidationReport report = validate(current, reference, spec);

    assertThat(report.accepted()).isFalse();
    // The declared rule (min 1) and the inferred one (min 0) are one rule here: the declared rule
    // suppresses the inferred min on the same column.
    List<Anomaly> min = anomalies(report, "distance", "min");
    assertThat(min).hasSize(1);
    assertThat(min.get(0).expected()).isEqualTo(">= 1");
    assertThat(min.get(0).observed()).isEqualTo("min -5");
    assertThat(min.get(0).failingRows()).isEqualTo(corrupted.size());
    assertThat(min.get(0).exampleRows()).containsExactlyElementsOf(corrupted);
    String checked =
        TestDuckDb.value(
            "SELECT string_agg(CAST(file_row_number + 1 AS VARCHAR), ',' ORDER BY file_row_number)"
                + " FROM read_parquet("
                + TestDuckDb.path(snapshots.parquetOf(current))
                + ", file_row_number = true) WHERE distance < 1");
    assertThat(checked).isEqualTo("7,123,4567,19999");
  }

  @Test
  void validateMaxViolationListsFirstFiveRows() {
    PipelineSpec spec =
        TestPipelines.flights(
            """
            validation:
              rules:
                - column: distance
                  max: 300
            """);
    Snapshot current = ingest(january, spec);

    ValidationReport report = validate(current, null, spec);

    List<Anomaly> max = anomalies(report, "distance", "max");
    assertThat(max).hasSize(1);
    List<List<String>> expected =
        TestDuckDb.rows(
            "SELECT file_row_number + 1 FROM read_parquet("
                + TestDuckDb.path(january)
                + ", file_row_number = true) WHERE distance > 300 ORDER BY 1 LIMIT 5");
    assertThat(max.get(0).exampleRows())
        .containsExactlyElementsOf(expected.stream().map(r -> Long.parseLong(r.get(0))).toList());
    String failing =
        TestDuckDb.value(
            "SELECT count(*) FROM read_parquet("
                + TestDuckDb.path(january)
                + ") WHERE distance > 300");
    assertThat(max.get(0).failingRows()).isEqualTo(Long.parseLong(failing));
    String largest =
        TestDuckDb.value(
            "SELECT max(distance) FROM read_parquet(" + TestDuckDb.path(january) + ")");
    assertThat(max.get(0).observed()).isEqualTo("max " + largest);
  }

  @Test
  void validateWarningDoesNotReject() {
    PipelineSpec spec =
        TestPipelines.flights(
            """
            validation:
              rules:
                - column: distance
                  max: 300
                  severity: warning
            """);
    Snapshot current = ingest(january, spec);

    ValidationReport report = validate(current, null, spec);

    assertThat(report.warnings()).extracting(Anomaly::rule).containsExactly("max");
    assertThat(report.errors()).isEmpty();
    assertThat(report.accepted()).isTrue();
  }

  @Test
  void validateAllowedValuesReportsOtherValues() {
    PipelineSpec spec =
        TestPipelines.flights(
            """
            validation:
              rules:
                - column: origin
                  allowedValues: [ATL, ORD, DFW]
                  severity: warning
            """);
    Snapshot current = ingest(january, spec);

    ValidationReport report = validate(current, null, spec);

    List<Anomaly> allowed = anomalies(report, "origin", "allowed_values");
    assertThat(allowed).hasSize(1);
    String failing =
        TestDuckDb.value(
            "SELECT count(*) FROM read_parquet("
                + TestDuckDb.path(january)
                + ") WHERE origin NOT IN ('ATL', 'ORD', 'DFW')");
    assertThat(allowed.get(0).failingRows()).isEqualTo(Long.parseLong(failing));
    assertThat(allowed.get(0).expected()).isEqualTo("one of 'ATL', 'ORD', 'DFW'");
    String mostFrequent =
        TestDuckDb.value(
            "SELECT origin FROM read_parquet("
                + TestDuckDb.path(january)
                + ") WHERE origin NOT IN ('ATL', 'ORD', 'DFW') GROUP BY origin"
                + " ORDER BY count(*) DESC, origin LIMIT 1");
    assertThat(allowed.get(0).observed()).startsWith("values '" + mostFrequent + "', ");
    assertThat(allowed.get(0).exampleRows()).hasSize(Validator.EXAMPLE_ROWS);
    assertThat(report.accepted()).isTrue();
  }

  @Test
  void validateShiftedDistanceDrifts() {
    PipelineSpec warnOnly = TestPipelines.flights("");
    Snapshot reference = ingest(january, warnOnly);
    Snapshot shifted =
        ingest(corrupt(january, "shifted.parquet", "distance * 3 AS distance"), warnOnly);

    ValidationReport warned = validate(shifted, reference, warnOnly);

    List<Anomaly> psi = anomalies(warned, "distance", "psi");
    assertThat(psi).hasSize(1);
    assertThat(psi.get(0).severity()).isEqualTo(Severity.WARNING);
    assertThat(psi.get(0).expected()).isEqualTo("psi < 0.1");
    assertThat(warned.largestDrift().get().feature()).isEqualTo("distance");
    assertThat(warned.accepted()).isTrue();

    PipelineSpec strict = TestPipelines.flights("validation:\n  drift:\n    error: 0.5\n");
    ValidationReport rejected = validate(shifted, reference, strict);

    assertThat(anomalies(rejected, "distance", "psi"))
        .singleElement()
        .satisfies(a -> assertThat(a.severity()).isEqualTo(Severity.ERROR));
    assertThat(rejected.accepted()).isFalse();
  }

  // Schema checks on small CSV batches.

  static final String SOURCE = "source:\n  landing: landing\n";
  static final String LABEL = "label:\n  column: label\n  greaterThan: 0\n";

  Path csv(String name, String content) throws IOException {
    return Files.writeString(dir.resolve(name), content);
  }

  @Test
  void validateTypeChangedSinceReferenceRejected() throws IOException {
    PipelineSpec spec =
        TestPipelines.of(SOURCE, "", LABEL, "features:\n  categorical: [city]\n", "");
    Snapshot reference = ingest(csv("a.csv", "city,label,note\nParis,0,x\nRome,1,y\n"), spec);
    Snapshot current = ingest(csv("b.csv", "city,label,note\n75,0,1\n00,1,2\n"), spec);

    ValidationReport report =
        validator.validate(
            current,
            snapshots.parquetOf(current),
            reference,
            snapshots.parquetOf(reference),
            spec,
            List.of());

    Anomaly city = anomalies(report, "city", "type").get(0);
    assertThat(city.severity()).isEqualTo(Severity.ERROR);
    assertThat(city.expected()).isEqualTo("string");
    assertThat(city.observed()).isEqualTo("integer");
    Anomaly note = anomalies(report, "note", "type").get(0);
    assertThat(note.severity()).isEqualTo(Severity.WARNING);
    assertThat(report.accepted()).isFalse();
  }

  @Test
  void validateDeclaredTypeMismatchRejected() throws IOException {
    PipelineSpec loose =
        TestPipelines.of(SOURCE, "", LABEL, "features:\n  numeric: [amount]\n", "");
    Snapshot current = ingest(csv("a.csv", "amount,label\n1.5,0\n2.5,1\n"), loose);
    PipelineSpec declared =
        TestPipelines.of(
            SOURCE,
            "data:\n  columns:\n    amount: integer\n",
            LABEL,
            "features:\n  numeric: [amount]\n",
            "");

    ValidationReport report =
        validator.validate(current, snapshots.parquetOf(current), null, null, declared, List.of());

    assertThat(anomalies(report, "amount", "type"))
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.expected()).isEqualTo("integer");
              assertThat(a.observed()).isEqualTo("double");
              assertThat(a.severity()).isEqualTo(Severity.ERROR);
            });
  }

  @Test
  void validateMissingRequiredColumnRejected() throws IOException {
    PipelineSpec before =
        TestPipelines.of(SOURCE, "", LABEL, "features:\n  numeric: [amount]\n", "");
    Snapshot current = ingest(csv("a.csv", "amount,label\n1.5,0\n2.5,1\n"), before);
    PipelineSpec after =
        TestPipelines.of(
            SOURCE,
            "",
            LABEL,
            "features:\n  numeric: [amount]\n  categorical: [city]\n",
            "validation:\n  rules:\n    - column: city\n      notNull: true\n");

    ValidationReport report =
        validator.validate(current, snapshots.parquetOf(current), null, null, after, List.of());

    assertThat(report.anomalies())
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.column()).isEqualTo("city");
              assertThat(a.rule()).isEqualTo("type");
              assertThat(a.observed()).isEqualTo("column missing");
            });
    assertThat(report.accepted()).isFalse();
  }

  @Test
  void validateRuleOnAbsentOptionalColumn() throws IOException {
    PipelineSpec spec =
        TestPipelines.of(
            SOURCE,
            "",
            LABEL,
            "features:\n  numeric: [amount]\n",
            "validation:\n  rules:\n    - column: comment\n      notNull: true\n      severity: warning\n");
    Snapshot current = ingest(csv("a.csv", "amount,label\n1.5,0\n2.5,1\n"), spec);

    ValidationReport report = validate(current, null, spec);

    assertThat(anomalies(report, "comment", "not_null"))
        .singleElement()
        .satisfies(a -> assertThat(a.observed()).isEqualTo("column missing"));
    assertThat(report.accepted()).isTrue();
  }

  @Test
  void validateMinOnTextColumnReported() throws IOException {
    PipelineSpec spec =
        TestPipelines.of(
            SOURCE,
            "",
            LABEL,
            "features:\n  categorical: [city]\n",
            "validation:\n  rules:\n    - column: city\n      min: 0\n");
    Snapshot current = ingest(csv("a.csv", "city,label\nParis,0\n"), spec);

    ValidationReport report = validate(current, null, spec);

    assertThat(anomalies(report, "city", "min"))
        .singleElement()
        .satisfies(a -> assertThat(a.observed()).contains("not a number"));
  }

  @Test
  void psiOfEqualSharesIsZero() {
    assertThat(PopulationStability.psi(List.of(new long[] {10, 20}, new long[] {30, 60}))).isZero();
  }

  @Test
  void psiFloorsEmptyBins() {
    List<long[]> bins = List.of(new long[] {100, 0}, new long[] {0, 100});
    double expected = (1e-4 - 1.0) * Math.log(1e-4 / 1.0) + (1.0 - 1e-4) * Math.log(1.0 / 1e-4);

    assertThat(PopulationStability.psi(bins)).isCloseTo(expected, within(1e-12));
  }
}
