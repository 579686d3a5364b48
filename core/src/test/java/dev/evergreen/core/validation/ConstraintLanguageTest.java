package dev.evergreen.core.validation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.validation.ConstraintResult;
import dev.evergreen.api.validation.ConstraintStatus;
import dev.evergreen.api.validation.ExampleRow;
import dev.evergreen.api.validation.Severity;
import dev.evergreen.api.validation.ValidationResult;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.snapshot.SnapshotService;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import dev.evergreen.core.testing.TempDirArtifactStore;
import dev.evergreen.core.testing.TestPipelines;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The constraints added for batch-level checks, SQL predicates, freshness and environments, and the
 * per-constraint result with example rows, on a small CSV batch.
 */
class ConstraintLanguageTest {
  static final String SOURCE = "source:\n  landing: landing\n";
  static final String LABEL = "label:\n  column: late\n  greaterThan: 0\n";
  static final String FEATURES = "features:\n  numeric: [delay]\n  categorical: [origin]\n";

  /** The newest arrival is 2024-03-05 22:30:00 UTC, twelve hours before {@link #NOW}. */
  static final Instant NOW = Instant.parse("2024-03-06T10:30:00Z");

  /**
   * Ten rows. Rows 2 and 5 have a delay below -120, row 4 a null delay, rows 3 and 6 arrive before
   * they depart, and origin has three distinct values.
   */
  static final String CSV =
      """
      id,departure,arrival,delay,origin,late
      1,2024-03-01 08:00:00,2024-03-01 10:00:00,5,SFO,0
      2,2024-03-01 09:00:00,2024-03-01 11:30:00,-130,LAX,0
      3,2024-03-02 07:00:00,2024-03-02 06:00:00,20,SFO,1
      4,2024-03-02 10:00:00,2024-03-02 12:00:00,,ORD,0
      5,2024-03-03 06:00:00,2024-03-03 08:00:00,-200,SFO,0
      6,2024-03-03 12:00:00,2024-03-03 11:00:00,45,LAX,1
      7,2024-03-04 08:00:00,2024-03-04 09:00:00,0,SFO,0
      8,2024-03-04 15:00:00,2024-03-04 17:00:00,90,ORD,1
      9,2024-03-05 08:00:00,2024-03-05 10:00:00,-5,SFO,0
      10,2024-03-05 20:00:00,2024-03-05 22:30:00,15,LAX,0
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

  ValidationResult check(String rules, ValidationContext context) {
    return check(spec(rules), context);
  }

  ValidationResult check(PipelineSpec spec, ValidationContext context) {
    return new Validator(1)
        .check(batch, snapshots.parquetOf(batch), null, null, spec, List.of(), context)
        .result();
  }

  ValidationResult check(String rules) {
    return check(rules, ValidationContext.training(NOW));
  }

  static ConstraintResult only(ValidationResult result, String name) {
    List<ConstraintResult> found =
        result.constraints().stream().filter(c -> c.name().equals(name)).toList();
    assertThat(found).as("results named %s", name).hasSize(1);
    return found.get(0);
  }

  @Test
  void wherePredicateReportsFailingRowsWithValues() {
    ValidationResult result = check("    - column: delay\n      where: \"delay > -120\"\n");

    ConstraintResult where = only(result, "where");
    assertThat(where.status()).isEqualTo(ConstraintStatus.FAILED);
    assertThat(where.column()).isEqualTo("delay");
    assertThat(where.failingRows()).isEqualTo(2);
    assertThat(where.failingShare()).isEqualTo(0.2);
    assertThat(where.expected()).isEqualTo("delay > -120");
    assertThat(where.examples())
        .containsExactly(
            new ExampleRow(2, Map.of("delay", -130L)), new ExampleRow(5, Map.of("delay", -200L)));
    assertThat(result.verdict()).isEqualTo(ValidationResult.REJECTED);
  }

  @Test
  void wherePredicatePassesWithinTolerance() {
    ValidationResult result =
        check("    - column: delay\n      where: \"delay > -120\"\n      tolerance: 0.8\n");

    ConstraintResult where = only(result, "where");
    assertThat(where.status()).isEqualTo(ConstraintStatus.PASSED);
    assertThat(where.failingRows()).isEqualTo(2);
    assertThat(result.verdict()).isEqualTo(ValidationResult.ACCEPTED);
  }

  @Test
  void wherePredicateSkipsNullColumnValues() {
    ValidationResult result = check("    - column: delay\n      where: \"delay > -1000\"\n");

    assertThat(only(result, "where").status()).isEqualTo(ConstraintStatus.PASSED);
    assertThat(only(result, "where").failingRows()).isZero();
  }

  @Test
  void conditionNamesBothColumnsInExamples() {
    ValidationResult result = check("    - condition: \"arrival >= departure\"\n");

    ConstraintResult condition = only(result, "condition");
    assertThat(condition.status()).isEqualTo(ConstraintStatus.FAILED);
    assertThat(condition.column()).isEqualTo("*");
    assertThat(condition.failingRows()).isEqualTo(2);
    assertThat(condition.examples()).extracting(ExampleRow::row).containsExactly(3L, 6L);
    assertThat(condition.examples().get(0).values())
        .containsExactly(
            Map.entry("arrival", "2024-03-02T06:00:00"),
            Map.entry("departure", "2024-03-02T07:00:00"));
  }

  @Test
  void conditionPassesWhenEveryRowSatisfiesIt() {
    ValidationResult result = check("    - condition: \"id >= 1 AND late IN (0, 1)\"\n");

    assertThat(only(result, "condition").status()).isEqualTo(ConstraintStatus.PASSED);
    assertThat(only(result, "condition").examples()).isEmpty();
  }

  @Test
  void conditionWithSemicolonRejected() {
    PipelineSpec spec = spec("");
    assertThatThrownBy(() -> spec("    - condition: \"id > 0; DROP TABLE x\"\n"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("validation.rules[0].condition")
        .hasMessageContaining("';'");
    assertThat(spec).isNotNull();
  }

  @Test
  void conditionClosingItsParenthesesRejected() {
    assertThatThrownBy(() -> check("    - condition: \"id > 0) OR (true\"\n"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("not a single SQL expression")
        .extracting(e -> ((EvergreenException) e).kind())
        .isEqualTo(ErrorKind.INVALID_INPUT);
  }

  @Test
  void conditionOnAbsentColumnFails() {
    ValidationResult result = check("    - condition: \"gate > 3\"\n");

    ConstraintResult condition = only(result, "condition");
    assertThat(condition.status()).isEqualTo(ConstraintStatus.FAILED);
    assertThat(condition.observed()).contains("\"gate\" not found");
  }

  @Test
  void conditionWithSyntaxErrorRejected() {
    assertThatThrownBy(() -> check("    - condition: \"delay >> > 3\"\n"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("is not a valid SQL expression over the batch's columns");
  }

  @Test
  void conditionThatIsNotBooleanRejected() {
    assertThatThrownBy(() -> check("    - condition: \"delay + 1\"\n"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("not BOOLEAN");
  }

  @Test
  void distinctCountWithinBoundsPasses() {
    ValidationResult result = check("    - column: origin\n      distinctCountBetween: [2, 3]\n");

    ConstraintResult distinct = only(result, "distinct_count");
    assertThat(distinct.status()).isEqualTo(ConstraintStatus.PASSED);
    assertThat(distinct.value()).isEqualTo(3.0);
  }

  @Test
  void distinctCountAboveBoundFails() {
    ValidationResult result =
        check(
            "    - column: origin\n      distinctCountBetween: [1, 2]\n      severity: warning\n");

    ConstraintResult distinct = only(result, "distinct_count");
    assertThat(distinct.status()).isEqualTo(ConstraintStatus.FAILED);
    assertThat(distinct.observed()).isEqualTo("3 distinct values");
    assertThat(distinct.severity()).isEqualTo(Severity.WARNING);
    assertThat(result.verdict()).isEqualTo(ValidationResult.ACCEPTED);
    assertThat(result.warnings()).isEqualTo(1);
  }

  @Test
  void rowCountWithinBoundsPasses() {
    ValidationResult result = check("    - rowCountBetween: [10, 1000]\n");

    assertThat(only(result, "row_count").status()).isEqualTo(ConstraintStatus.PASSED);
    assertThat(only(result, "row_count").value()).isEqualTo(10.0);
  }

  @Test
  void rowCountBelowBoundFails() {
    ValidationResult result = check("    - rowCountBetween: [11, 1000]\n");

    ConstraintResult rows = only(result, "row_count");
    assertThat(rows.status()).isEqualTo(ConstraintStatus.FAILED);
    assertThat(rows.observed()).isEqualTo("10 rows");
    assertThat(rows.expected()).isEqualTo("rows in [11, 1000]");
  }

  @Test
  void rowCountChangeAgainstPreviousBatch() {
    String rule = "    - maxRowCountChange: 0.5\n";

    ConstraintResult within =
        only(check(rule, new ValidationContext("training", NOW, 15L)), "row_count_change");
    ConstraintResult beyond =
        only(check(rule, new ValidationContext("training", NOW, 25L)), "row_count_change");
    ConstraintResult first = only(check(rule), "row_count_change");

    assertThat(within.status()).isEqualTo(ConstraintStatus.PASSED);
    assertThat(within.value()).isCloseTo(1 / 3.0, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(beyond.status()).isEqualTo(ConstraintStatus.FAILED);
    assertThat(beyond.value()).isEqualTo(0.6);
    assertThat(first.status()).isEqualTo(ConstraintStatus.SKIPPED);
    assertThat(first.observed()).isEqualTo("no previous batch");
  }

  @Test
  void maxAgePassesForRecentData() {
    ValidationResult result = check("    - column: arrival\n      maxAge: PT48H\n");

    ConstraintResult age = only(result, "max_age");
    assertThat(age.status()).isEqualTo(ConstraintStatus.PASSED);
    assertThat(age.value()).isEqualTo(12 * 3600.0);
    assertThat(age.observed()).isEqualTo("newest 2024-03-05T22:30:00Z, age PT12H");
  }

  @Test
  void maxAgeFailsForStaleData() {
    ValidationResult result = check("    - column: arrival\n      maxAge: PT6H\n");

    assertThat(only(result, "max_age").status()).isEqualTo(ConstraintStatus.FAILED);
    assertThat(only(result, "max_age").expected()).isEqualTo("newest value at most PT6H old");
  }

  @Test
  void maxAgeOnNumberFails() {
    ValidationResult result = check("    - column: delay\n      maxAge: P1D\n");

    assertThat(only(result, "max_age").status()).isEqualTo(ConstraintStatus.FAILED);
    assertThat(only(result, "max_age").observed()).contains("not a timestamp or date");
  }

  @Test
  void servingEnvironmentSkipsExcludedLabel() throws IOException {
    String yaml =
        "validation:\n"
            + "  environments:\n"
            + "    serving:\n"
            + "      exclude: [late]\n"
            + "  rules:\n"
            + "    - column: late\n"
            + "      notNull: true\n"
            + "    - condition: \"late <= 1\"\n"
            + "    - column: delay\n"
            + "      completeness: 0.5\n";
    String csv = CSV.replace(",late", "").replaceAll(",[01]\n", "\n");
    Path file = Files.writeString(dir.resolve("serving.csv"), csv);
    PipelineSpec spec = TestPipelines.of(SOURCE, "", LABEL, FEATURES, yaml);
    PipelineSpec servingSpec =
        TestPipelines.of(SOURCE, "", "label:\n  column: id\n", FEATURES, yaml);
    batch = snapshots.ingest(file, servingSpec, "test").snapshot();

    ValidationResult serving = check(spec, new ValidationContext("serving", NOW, null));
    ValidationResult training = check(spec, ValidationContext.training(NOW));

    assertThat(serving.verdict()).isEqualTo(ValidationResult.ACCEPTED);
    assertThat(serving.environment()).isEqualTo("serving");
    assertThat(serving.constraints()).extracting(ConstraintResult::column).doesNotContain("late");
    assertThat(serving.constraints()).extracting(ConstraintResult::name).contains("completeness");
    assertThat(training.verdict()).isEqualTo(ValidationResult.REJECTED);
    assertThat(training.constraints())
        .filteredOn(c -> c.column().equals("late") && c.name().equals("type"))
        .singleElement()
        .satisfies(c -> assertThat(c.observed()).isEqualTo("column missing"));
  }

  @Test
  void resultListsFailuresFirstAndPassedConstraints() {
    ValidationResult result =
        check(
            "    - column: id\n      notNull: true\n      unique: true\n"
                + "    - column: delay\n      min: -150\n");

    assertThat(result.constraints())
        .extracting(ConstraintResult::status)
        .first()
        .isEqualTo(ConstraintStatus.FAILED);
    assertThat(only(result, "min").examples())
        .containsExactly(new ExampleRow(5, Map.of("delay", -200L)));
    assertThat(only(result, "not_null").status()).isEqualTo(ConstraintStatus.PASSED);
    assertThat(only(result, "unique").status()).isEqualTo(ConstraintStatus.PASSED);
    assertThat(result.rows()).isEqualTo(10);
    assertThat(result.errors()).isEqualTo(1);
    assertThat(result.checkedAt()).isEqualTo("2024-03-06T10:30:00Z");
  }

  @Test
  void resultSerializesToDocumentedJson() throws IOException {
    ValidationResult result = check("    - column: delay\n      where: \"delay > -120\"\n");

    JsonNode json = new ObjectMapper().readTree(new ObjectMapper().writeValueAsString(result));

    assertThat(json.fieldNames())
        .toIterable()
        .containsExactly(
            "format",
            "verdict",
            "data",
            "environment",
            "rows",
            "checkedAt",
            "errors",
            "warnings",
            "constraints");
    JsonNode where = json.path("constraints").path(0);
    assertThat(where.fieldNames())
        .toIterable()
        .containsExactly(
            "name",
            "column",
            "severity",
            "status",
            "expected",
            "observed",
            "value",
            "failingRows",
            "failingShare",
            "examples");
    assertThat(where.path("status").asText()).isEqualTo("failed");
    assertThat(where.path("severity").asText()).isEqualTo("error");
    assertThat(where.path("examples").path(0).path("row").asLong()).isEqualTo(2);
    assertThat(where.path("examples").path(0).path("values").path("delay").asLong())
        .isEqualTo(-130);
    assertThat(json.path("verdict").asText()).isEqualTo("rejected");
  }

  @Test
  void reportKeepsAnomaliesOfFailedConstraints() {
    ValidationOutcome outcome =
        new Validator(1)
            .check(
                batch,
                snapshots.parquetOf(batch),
                null,
                null,
                spec("    - condition: \"arrival >= departure\"\n      severity: warning\n"),
                List.of(),
                ValidationContext.training(NOW));

    assertThat(outcome.report().accepted()).isTrue();
    assertThat(outcome.report().warnings())
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.rule()).isEqualTo("condition");
              assertThat(a.exampleRows()).containsExactly(3L, 6L);
            });
  }
}
