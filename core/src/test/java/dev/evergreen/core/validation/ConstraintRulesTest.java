package dev.evergreen.core.validation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.validation.Anomaly;
import dev.evergreen.api.validation.Severity;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.snapshot.SnapshotService;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import dev.evergreen.core.testing.TempDirArtifactStore;
import dev.evergreen.core.testing.TestPipelines;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The constraint kinds of {@code validation.rules} on a small CSV batch. */
class ConstraintRulesTest {
  static final String SOURCE = "source:\n  landing: landing\n";
  static final String LABEL = "label:\n  column: label\n  greaterThan: 0\n";
  static final String FEATURES = "features:\n  numeric: [amount]\n  categorical: [code]\n";

  /**
   * Ten rows. Row 3 has a null amount, rows 4 and 9 share id 4, row 7 has a lowercase code and row
   * 10 a code of four letters.
   */
  static final String CSV =
      """
      id,amount,code,label
      1,10,ABC,0
      2,20,DEF,1
      3,,GHI,0
      4,40,JKL,1
      5,50,MNO,0
      6,60,PQR,1
      7,70,stu,0
      8,80,VWX,1
      4,90,YZA,0
      10,100,BCDE,1
      """;

  @TempDir Path dir;
  SnapshotService snapshots;
  Snapshot batch;

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
    Path file = Files.writeString(dir.resolve("batch.csv"), CSV);
    batch = snapshots.ingest(file, spec(""), "test").snapshot();
  }

  static PipelineSpec spec(String rules) {
    String validation = rules.isEmpty() ? "" : "validation:\n  rules:\n" + rules;
    return TestPipelines.of(SOURCE, "", LABEL, FEATURES, validation);
  }

  ValidationReport validate(String rules) {
    return new Validator(1)
        .validate(batch, snapshots.parquetOf(batch), null, null, spec(rules), List.of());
  }

  static List<Anomaly> rule(ValidationReport report, String name) {
    return report.anomalies().stream().filter(a -> a.rule().equals(name)).toList();
  }

  @Test
  void uniqueReportsBothDuplicateRows() {
    ValidationReport report = validate("    - column: id\n      unique: true\n");

    assertThat(rule(report, "unique"))
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.column()).isEqualTo("id");
              assertThat(a.failingRows()).isEqualTo(2);
              assertThat(a.exampleRows()).containsExactly(4L, 9L);
              assertThat(a.observed()).isEqualTo("1 values occur in more than one row");
              assertThat(a.severity()).isEqualTo(Severity.ERROR);
            });
    assertThat(report.accepted()).isFalse();
  }

  @Test
  void uniqueOnDistinctColumnPasses() {
    ValidationReport report = validate("    - column: code\n      unique: true\n");

    assertThat(report.anomalies()).isEmpty();
  }

  @Test
  void patternNamesNonMatchingRows() {
    ValidationReport report = validate("    - column: code\n      pattern: '[A-Z]{3}'\n");

    assertThat(rule(report, "pattern"))
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.failingRows()).isEqualTo(2);
              assertThat(a.exampleRows()).containsExactly(7L, 10L);
              assertThat(a.expected()).isEqualTo("matches '[A-Z]{3}'");
              assertThat(a.observed()).contains("'stu'");
            });
  }

  @Test
  void patternMatchesWholeValue() {
    // regexp_full_match anchors the pattern, so 'BCDE' does not match [A-Z]{3}, but [A-Z]+ does.
    assertThat(validate("    - column: code\n      pattern: '[A-Za-z]+'\n").anomalies()).isEmpty();
    assertThat(validate("    - column: code\n      pattern: '[A-Za-z]{3}'\n").anomalies())
        .singleElement()
        .satisfies(a -> assertThat(a.exampleRows()).containsExactly(10L));
  }

  @Test
  void patternOnNumbersUsesText() {
    ValidationReport report = validate("    - column: amount\n      pattern: '[0-9]{2}'\n");

    assertThat(rule(report, "pattern"))
        .singleElement()
        .satisfies(a -> assertThat(a.exampleRows()).containsExactly(10L));
  }

  @Test
  void invalidPatternRejectedWithColumn() {
    assertThatThrownBy(() -> validate("    - column: code\n      pattern: '[A-Z'\n"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("column 'code'")
        .hasMessageContaining("'[A-Z'")
        .extracting(e -> ((EvergreenException) e).kind())
        .isEqualTo(ErrorKind.INVALID_INPUT);
  }

  @Test
  void minAndMaxLengthNameRows() {
    ValidationReport report =
        validate(
            "    - column: code\n      minLength: 4\n    - column: code\n      maxLength: 3\n");

    assertThat(rule(report, "min_length"))
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.failingRows()).isEqualTo(9);
              assertThat(a.exampleRows()).containsExactly(1L, 2L, 3L, 4L, 5L);
              assertThat(a.observed()).isEqualTo("min length 3");
              assertThat(a.expected()).isEqualTo("length >= 4");
            });
    assertThat(rule(report, "max_length"))
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.failingRows()).isEqualTo(1);
              assertThat(a.exampleRows()).containsExactly(10L);
              assertThat(a.observed()).isEqualTo("max length 4");
            });
  }

  @Test
  void completenessBelowMinimumNamesNullRows() {
    ValidationReport report = validate("    - column: amount\n      completeness: 0.95\n");

    assertThat(rule(report, "completeness"))
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.expected()).isEqualTo("completeness >= 0.95");
              assertThat(a.observed()).isEqualTo("completeness 90% (1 nulls)");
              assertThat(a.failingRows()).isEqualTo(1);
              assertThat(a.exampleRows()).containsExactly(3L);
            });
  }

  @Test
  void completenessAtMinimumPasses() {
    assertThat(validate("    - column: amount\n      completeness: 0.9\n").anomalies()).isEmpty();
  }

  @Test
  void meanBetweenComparesMean() {
    // The nine non-null amounts 10, 20, 40, ..., 100 have the mean 520 / 9.
    double mean = (10 + 20 + 40 + 50 + 60 + 70 + 80 + 90 + 100) / 9.0;

    assertThat(validate("    - column: amount\n      meanBetween: [57, 58]\n").anomalies())
        .isEmpty();
    assertThat(validate("    - column: amount\n      meanBetween: [60, 70]\n").anomalies())
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.rule()).isEqualTo("mean_between");
              assertThat(a.expected()).isEqualTo("mean in [60, 70]");
              assertThat(a.observed()).isEqualTo("mean " + Validator.format(mean));
              assertThat(a.exampleRows()).isEmpty();
            });
  }

  @Test
  void stddevBetweenUsesSampleDeviation() {
    double[] values = {10, 20, 40, 50, 60, 70, 80, 90, 100};
    double mean = java.util.Arrays.stream(values).average().orElseThrow();
    double squares = java.util.Arrays.stream(values).map(v -> (v - mean) * (v - mean)).sum();
    double sample = Math.sqrt(squares / (values.length - 1));
    double population = Math.sqrt(squares / values.length);
    String between = "[" + (population + sample) / 2 + ", " + (sample + 1) + "]";

    assertThat(validate("    - column: amount\n      stddevBetween: " + between + "\n").anomalies())
        .isEmpty();
    assertThat(validate("    - column: amount\n      stddevBetween: [0, 10]\n").anomalies())
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.rule()).isEqualTo("stddev_between");
              assertThat(a.observed()).startsWith("stddev ");
              // DuckDB and Java sum in a different order, so the last digit may differ.
              assertThat(Double.parseDouble(a.observed().substring("stddev ".length())))
                  .isCloseTo(sample, org.assertj.core.data.Offset.offset(1e-9));
            });
  }

  @Test
  void meanOnTextColumnReported() {
    assertThat(validate("    - column: code\n      meanBetween: [0, 1]\n").anomalies())
        .singleElement()
        .satisfies(a -> assertThat(a.observed()).isEqualTo("type string, not a number"));
  }

  @Test
  void minInDomainToleratesShare() {
    String allowed =
        "    - column: code\n      allowedValues: [ABC, DEF, GHI, JKL, MNO, PQR, VWX, YZA]\n";

    assertThat(validate(allowed + "      minInDomain: 0.8\n").anomalies()).isEmpty();
    assertThat(validate(allowed + "      minInDomain: 0.85\n").anomalies())
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.rule()).isEqualTo("allowed_values");
              assertThat(a.failingRows()).isEqualTo(2);
              assertThat(a.exampleRows()).containsExactly(7L, 10L);
              assertThat(a.expected()).endsWith("in at least 85% of rows");
            });
  }

  @Test
  void toleranceAppliesToRowRules() {
    // One null in ten rows: 90% satisfy notNull, and 80% satisfy min 30 (rows 1 and 2 fail).
    assertThat(
            validate("    - column: amount\n      notNull: true\n      tolerance: 0.9\n")
                .anomalies())
        .isEmpty();
    assertThat(
            validate("    - column: amount\n      notNull: true\n      tolerance: 0.95\n")
                .anomalies())
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.rule()).isEqualTo("not_null");
              assertThat(a.expected()).isEqualTo("no nulls in at least 95% of rows");
              assertThat(a.exampleRows()).containsExactly(3L);
            });
    assertThat(validate("    - column: amount\n      min: 30\n      tolerance: 0.8\n").anomalies())
        .isEmpty();
    assertThat(validate("    - column: amount\n      min: 30\n      tolerance: 0.81\n").anomalies())
        .singleElement()
        .satisfies(a -> assertThat(a.exampleRows()).containsExactly(1L, 2L));
  }

  @Test
  void toleranceDoesNotRelaxDuplicates() {
    // Two of ten rows hold a duplicated id: a tolerance of 0.8 accepts them, 0.9 does not.
    assertThat(validate("    - column: id\n      unique: true\n      tolerance: 0.8\n").anomalies())
        .isEmpty();
    assertThat(validate("    - column: id\n      unique: true\n      tolerance: 0.9\n").anomalies())
        .hasSize(1);
  }

  @Test
  void warningSeverityKeepsBatchAccepted() {
    ValidationReport report =
        validate("    - column: code\n      pattern: '[A-Z]{3}'\n      severity: warning\n");

    assertThat(report.warnings()).extracting(Anomaly::rule).containsExactly("pattern");
    assertThat(report.accepted()).isTrue();
  }

  @Test
  void newRulesOnMissingColumnListed() {
    ValidationReport report =
        validate(
            "    - column: city\n      unique: true\n      pattern: x\n      minLength: 1\n"
                + "      completeness: 1\n      meanBetween: [0, 1]\n");

    assertThat(report.anomalies())
        .extracting(Anomaly::rule)
        .containsExactly("unique", "pattern", "min_length", "completeness", "mean_between");
    assertThat(report.anomalies())
        .allSatisfy(a -> assertThat(a.observed()).isEqualTo("column missing"));
  }
}
