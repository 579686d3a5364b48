package dev.evergreen.core.validation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.ColumnProfile;
import dev.evergreen.api.data.Profile;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.validation.ConstraintResult;
import dev.evergreen.api.validation.ConstraintStatus;
import dev.evergreen.api.validation.Severity;
import dev.evergreen.api.validation.ValidationResult;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.snapshot.SnapshotService;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import dev.evergreen.core.testing.TempDirArtifactStore;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestPipelines;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * History checks of a real January batch of 4,000 flights against synthetic earlier batches, whose
 * profiles carry only a row count and per-column null counts.
 */
class HistoryChecksTest {
  static final int ROWS = 4_000;
  static final Instant NOW = Instant.parse("2001-02-02T00:00:00Z");
  static final List<String> COLUMNS = List.of("date", "delay", "distance", "origin", "destination");

  @TempDir static Path shared;
  static Path january;
  static Path januaryWithNulls;

  @TempDir Path dir;
  SnapshotService snapshots;

  @BeforeAll
  static void writeBatches() {
    january = TestDuckDb.flightsMonth(shared.resolve("january.parquet"), 1, ROWS);
    januaryWithNulls = shared.resolve("january-nulls.parquet");
    // Every tenth distance set to null: a null fraction of 0.1.
    TestDuckDb.execute(
        "COPY (SELECT * EXCLUDE (file_row_number) REPLACE (CASE WHEN file_row_number % 10 = 0"
            + " THEN NULL ELSE distance END AS distance) FROM read_parquet("
            + TestDuckDb.path(january)
            + ", file_row_number = true) ORDER BY file_row_number) TO "
            + TestDuckDb.path(januaryWithNulls)
            + " (FORMAT parquet)");
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

  /** Returns a profile of {@code rows} rows where {@code distance} has {@code distanceNulls}. */
  static Profile batch(long rows, long distanceNulls) {
    List<ColumnProfile> columns = new ArrayList<>();
    for (String name : COLUMNS) {
      long nulls = name.equals("distance") ? distanceNulls : 0;
      columns.add(new ColumnProfile(name, null, nulls, null, null, null, null, 0, List.of()));
    }
    return new Profile(rows, columns);
  }

  /** Returns batches with the given row counts and no nulls, newest first. */
  static List<Profile> rowCounts(long... rows) {
    return LongStream.of(rows).mapToObj(n -> batch(n, 0)).toList();
  }

  ValidationResult check(Path file, String validation, List<Profile> history) {
    PipelineSpec spec = TestPipelines.flights(validation);
    Snapshot current = snapshots.ingest(file, spec, "test").snapshot();
    ValidationContext context = new ValidationContext("training", NOW, null).withHistory(history);
    return new Validator(1)
        .check(current, snapshots.parquetOf(current), null, null, spec, List.of(), context)
        .result();
  }

  static List<ConstraintResult> named(ValidationResult result, String name) {
    return result.constraints().stream().filter(c -> c.name().equals(name)).toList();
  }

  static ConstraintResult only(ValidationResult result, String name, String column) {
    return result.constraints().stream()
        .filter(c -> c.name().equals(name) && c.column().equals(column))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + name + " result on " + column));
  }

  @Test
  void rowCountJumpIsWarning() {
    ValidationResult result = check(january, "", rowCounts(1_000, 1_010, 990, 1_005, 995, 1_000));

    ConstraintResult rows = only(result, HistoryChecks.ROW_COUNT, "*");
    assertThat(rows.status()).isEqualTo(ConstraintStatus.FAILED);
    assertThat(rows.severity()).isEqualTo(Severity.WARNING);
    assertThat(rows.value()).isEqualTo(4_000.0);
    assertThat(rows.observed()).startsWith("4000 rows, ");
    assertThat(rows.expected()).contains("within 3 standard deviations").contains("6 earlier");
    assertThat(result.accepted()).isTrue();
    assertThat(result.warnings()).isEqualTo(1);
  }

  @Test
  void rowCountNearMeanPasses() {
    ValidationResult result =
        check(january, "", rowCounts(3_990, 4_010, 4_000, 3_995, 4_005, 4_000));

    assertThat(only(result, HistoryChecks.ROW_COUNT, "*").status())
        .isEqualTo(ConstraintStatus.PASSED);
    assertThat(named(result, HistoryChecks.NULL_FRACTION)).hasSize(5);
    assertThat(named(result, HistoryChecks.NULL_FRACTION))
        .allSatisfy(c -> assertThat(c.status()).isEqualTo(ConstraintStatus.PASSED));
    assertThat(result.warnings()).isZero();
  }

  @Test
  void nullFractionJumpIsWarning() {
    List<Profile> history =
        List.of(
            batch(4_000, 0),
            batch(4_000, 4),
            batch(4_000, 2),
            batch(4_000, 0),
            batch(4_000, 3),
            batch(4_000, 1));

    ValidationResult result = check(januaryWithNulls, "", history);

    ConstraintResult distance = only(result, HistoryChecks.NULL_FRACTION, "distance");
    assertThat(distance.status()).isEqualTo(ConstraintStatus.FAILED);
    assertThat(distance.value()).isEqualTo(0.1);
    assertThat(only(result, HistoryChecks.NULL_FRACTION, "origin").status())
        .isEqualTo(ConstraintStatus.PASSED);
    assertThat(only(result, HistoryChecks.ROW_COUNT, "*").status())
        .isEqualTo(ConstraintStatus.PASSED);
    assertThat(result.warnings()).isEqualTo(1);
  }

  @Test
  void nullFractionWithinHistoryPasses() {
    List<Profile> history =
        List.of(
            batch(4_000, 380),
            batch(4_000, 420),
            batch(4_000, 400),
            batch(4_000, 390),
            batch(4_000, 410));

    ValidationResult result = check(januaryWithNulls, "", history);

    assertThat(only(result, HistoryChecks.NULL_FRACTION, "distance").status())
        .isEqualTo(ConstraintStatus.PASSED);
  }

  @Test
  void fewerThanMinBatchesSkipped() {
    ValidationResult result = check(january, "", rowCounts(1_000, 1_010, 990, 1_005));

    assertThat(named(result, HistoryChecks.ROW_COUNT))
        .singleElement()
        .satisfies(c -> assertThat(c.status()).isEqualTo(ConstraintStatus.SKIPPED));
    assertThat(named(result, HistoryChecks.NULL_FRACTION)).isEmpty();
    assertThat(result.warnings()).isZero();
  }

  @Test
  void noHistoryGivesNoResult() {
    ValidationResult result = check(january, "", List.of());

    assertThat(named(result, HistoryChecks.ROW_COUNT)).isEmpty();
    assertThat(named(result, HistoryChecks.NULL_FRACTION)).isEmpty();
  }

  @Test
  void severityErrorRejects() {
    String validation =
        """
        validation:
          history:
            severity: error
        """;
    ValidationResult result =
        check(january, validation, rowCounts(1_000, 1_010, 990, 1_005, 995, 1_000));

    assertThat(only(result, HistoryChecks.ROW_COUNT, "*").severity()).isEqualTo(Severity.ERROR);
    assertThat(result.accepted()).isFalse();
  }

  @Test
  void largerKAcceptsJump() {
    String validation =
        """
        validation:
          history:
            k: 1000
        """;
    ValidationResult result =
        check(january, validation, rowCounts(1_000, 1_010, 990, 1_005, 995, 1_000));

    assertThat(only(result, HistoryChecks.ROW_COUNT, "*").status())
        .isEqualTo(ConstraintStatus.PASSED);
  }

  @Test
  void windowLimitsEarlierBatches() {
    List<Profile> history = new ArrayList<>(rowCounts(1_000, 1_010, 990, 1_005, 995));
    history.addAll(rowCounts(4_000, 4_000, 4_000, 4_000, 4_000, 4_000, 4_000, 4_000));
    history.addAll(rowCounts(4_000, 4_000, 4_000, 4_000, 4_000, 4_000, 4_000));

    ValidationResult narrow = check(january, "validation:\n  history:\n    window: 5\n", history);
    ValidationResult wide = check(january, "", history);

    assertThat(only(narrow, HistoryChecks.ROW_COUNT, "*").status())
        .isEqualTo(ConstraintStatus.FAILED);
    assertThat(only(wide, HistoryChecks.ROW_COUNT, "*").status())
        .isEqualTo(ConstraintStatus.PASSED);
  }

  @Test
  void disabledGivesNoResult() {
    ValidationResult result =
        check(
            january,
            "validation:\n  history:\n    enabled: false\n",
            rowCounts(1_000, 1_010, 990, 1_005, 995, 1_000));

    assertThat(named(result, HistoryChecks.ROW_COUNT)).isEmpty();
  }

  @Test
  void invalidHistorySpecRejected() {
    assertThatThrownBy(
            () ->
                TestPipelines.flights(
                    "validation:\n  history:\n    minBatches: 5\n    window: 3\n"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("window");
    assertThatThrownBy(() -> TestPipelines.flights("validation:\n  history:\n    k: 0\n"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("k");
    assertThatThrownBy(() -> TestPipelines.flights("validation:\n  history:\n    sigma: 2\n"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("sigma");
  }
}
