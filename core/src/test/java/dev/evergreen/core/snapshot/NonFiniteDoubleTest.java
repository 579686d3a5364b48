package dev.evergreen.core.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.ColumnProfile;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import dev.evergreen.core.testing.TempDirArtifactStore;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestPipelines;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Doubles at the edges of their range: infinity, NaN and text that overflows are rejected with the
 * file, line or row, column and value, while finite values up to ±1.7976931348623157E308 are stored
 * and profiled without overflow.
 */
class NonFiniteDoubleTest {
  static final String SOURCE = "source:\n  landing: landing\n";
  static final String LABEL = "label:\n  column: label\n  greaterThan: 0\n";
  static final String FEATURES = "features:\n  numeric: [amount]\n";

  @TempDir Path dir;

  InMemoryMetadataStore store;
  TempDirArtifactStore artifacts;
  SnapshotService service;

  @BeforeEach
  void setUp() throws IOException {
    store = new InMemoryMetadataStore();
    artifacts = new TempDirArtifactStore(dir.resolve("artifacts"));
    Clock clock = Clock.fixed(Instant.parse("2024-05-01T10:00:00Z"), ZoneOffset.UTC);
    service = new SnapshotService(store, artifacts, new AuditLog(store, clock), clock, null, 1);
  }

  static PipelineSpec spec(String data) {
    return TestPipelines.of(SOURCE, data, LABEL, FEATURES, "");
  }

  /**
   * Writes a CSV file with columns amount, label and extra. Data row {@code row} (1-based) has
   * {@code amount} and {@code extra}, the others 0.5 and their row number.
   */
  Path csv(int rows, int row, String amount, String extra) throws IOException {
    StringBuilder csv = new StringBuilder("amount,label,extra\n");
    for (int i = 1; i <= rows; i++) {
      csv.append(i == row ? amount : "0.5").append(',').append(i % 2).append(',');
      csv.append(i == row ? extra : Integer.toString(i)).append('\n');
    }
    return Files.writeString(dir.resolve("batch.csv"), csv, StandardCharsets.UTF_8);
  }

  /** Writes a Parquet file with columns amount (DOUBLE), label and z, from a SQL select list. */
  Path parquet(String zExpression) {
    Path file = dir.resolve("batch.parquet");
    TestDuckDb.execute(
        "COPY (SELECT (i % 7)::DOUBLE AS amount, (i % 2)::BIGINT AS label, "
            + zExpression
            + " AS z FROM range(200) t(i)) TO "
            + TestDuckDb.path(file)
            + " (FORMAT parquet)");
    return file;
  }

  /** Ingests a file that must be rejected as invalid input and checks that nothing was stored. */
  String rejection(Path file, PipelineSpec spec) {
    EvergreenException error = null;
    try {
      service.ingest(file, spec, "alice");
    } catch (EvergreenException e) {
      error = e;
    }
    assertThat(error).as("ingest of %s must fail", file).isNotNull();
    assertThat(error.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    assertThat(store.snapshots()).isEmpty();
    return error.getMessage();
  }

  @Test
  void csvUndeclaredOverflowRejectedWithLine() throws IOException {
    Path file = csv(200, 150, "0.5", "1e400");

    String message = rejection(file, spec(""));

    assertThat(message).startsWith(file.toAbsolutePath() + ":151: ");
    assertThat(message).contains("column 'extra'");
    assertThat(message).contains("value '1e400'");
    assertThat(message).contains("not a valid double");
    assertThat(message).contains("finite");
    assertThat(message).contains("leave the field empty for a missing value");
  }

  @Test
  void csvDeclaredDoubleOverflowRejected() throws IOException {
    Path file = csv(200, 37, "-1e400", "1");

    String message = rejection(file, spec("data:\n  columns:\n    amount: double\n"));

    assertThat(message).startsWith(file.toAbsolutePath() + ":38: ");
    assertThat(message).contains("column 'amount'");
    assertThat(message).contains("value '-1e400'");
    assertThat(message).contains("data.columns declares 'amount' as double");
    assertThat(message).contains("finite");
  }

  @Test
  void csvDeclaredDoubleInfinityTextRejected() throws IOException {
    for (String text : new String[] {"inf", "-Infinity", "NaN"}) {
      Path file = csv(10, 4, text, "1");

      String message = rejection(file, spec("data:\n  columns:\n    amount: double\n"));

      assertThat(message).as(text).startsWith(file.toAbsolutePath() + ":5: ");
      assertThat(message).as(text).contains("value '" + text + "'");
      assertThat(message).as(text).contains("finite");
    }
  }

  @Test
  void csvLargeFiniteDoublesStored() throws IOException {
    Path file = csv(200, 150, "1.7976931348623157e308", "-1e308");

    Snapshot snapshot = service.ingest(file, spec(""), "alice").snapshot();

    assertThat(snapshot.schema().column("extra").get().type()).isEqualTo(ColumnType.DOUBLE);
    assertThat(snapshot.profile().column("amount").get().max())
        .isEqualTo(TestDuckDb.value("SELECT CAST(1.7976931348623157e308::DOUBLE AS VARCHAR)"));
    assertThat(snapshot.profile().column("extra").get().min())
        .isEqualTo(TestDuckDb.value("SELECT CAST(-1e308::DOUBLE AS VARCHAR)"));
    assertThat(snapshot.profile().column("amount").get().mean()).isFinite();
  }

  @Test
  void parquetInfinityRejectedWithRow() {
    Path file = parquet("CASE WHEN i = 70 THEN 'inf'::DOUBLE ELSE i::DOUBLE END");

    String message = rejection(file, spec(""));

    assertThat(message).startsWith(file.toAbsolutePath() + ": row 71: ");
    assertThat(message).contains("column 'z'");
    assertThat(message).contains("value 'inf'");
    assertThat(message).contains("not a valid double");
    assertThat(message).contains("Write null instead of infinite and NaN values");
  }

  @Test
  void parquetNanRejectedWithRowAndCount() {
    Path file = parquet("CASE WHEN i IN (9, 99) THEN 'nan'::DOUBLE ELSE i::DOUBLE END");

    String message = rejection(file, spec(""));

    assertThat(message).startsWith(file.toAbsolutePath() + ": row 10: ");
    assertThat(message).contains("value 'nan'");
    assertThat(message).contains("2 rows have such values");
  }

  @Test
  void parquetDeclaredDoubleInfinityRejected() {
    Path file = dir.resolve("batch.parquet");
    TestDuckDb.execute(
        "COPY (SELECT CASE WHEN i = 3 THEN '-inf'::DOUBLE ELSE i::DOUBLE END AS amount,"
            + " (i % 2)::BIGINT AS label FROM range(20) t(i)) TO "
            + TestDuckDb.path(file)
            + " (FORMAT parquet)");

    String message = rejection(file, spec("data:\n  columns:\n    amount: double\n"));

    assertThat(message).startsWith(file.toAbsolutePath() + ": row 4: ");
    assertThat(message).contains("column 'amount'");
    assertThat(message).contains("value '-inf'");
    assertThat(message).contains("data.columns declares 'amount' as double");
  }

  @Test
  void parquetFloatInfinityRejected() {
    Path file = parquet("CASE WHEN i = 5 THEN '-inf'::FLOAT ELSE i::FLOAT END");

    String message = rejection(file, spec(""));

    assertThat(message).startsWith(file.toAbsolutePath() + ": row 6: ");
    assertThat(message).contains("value '-inf'");
  }

  @Test
  void parquetInfinityRejectedWhenReadInPlace() {
    Path file = parquet("CASE WHEN i = 70 THEN 'inf'::DOUBLE ELSE i::DOUBLE END");

    EvergreenException error = null;
    try {
      BatchFiles.check(file, spec(""), null, 1, (batch, connection, table) -> batch);
    } catch (EvergreenException e) {
      error = e;
    }

    assertThat(error).isNotNull();
    assertThat(error.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    assertThat(error.getMessage()).startsWith(file.toAbsolutePath() + ": row 71: ");
  }

  @Test
  void parquetLargeFiniteDoublesProfiled() {
    Path file = parquet("CASE WHEN i % 2 = 0 THEN 1e308 ELSE -1e308 END::DOUBLE");

    Snapshot snapshot = service.ingest(file, spec(""), "alice").snapshot();

    ColumnProfile z = snapshot.profile().column("z").get();
    assertThat(z.mean()).isEqualTo(0.0);
    // 100 values of 1e308 and 100 of -1e308: M2 = 200 * 1e616, divided by 199.
    assertThat(z.stddev()).isCloseTo(1e308 * Math.sqrt(200.0 / 199.0), within(1e294));
    assertThat(z.min()).isEqualTo(TestDuckDb.value("SELECT CAST(-1e308::DOUBLE AS VARCHAR)"));
  }

  @Test
  void parquetMomentsOfLargeValuesExact() {
    Path file = parquet("(1 + i % 3)::DOUBLE * 1e200");

    Snapshot snapshot = service.ingest(file, spec(""), "alice").snapshot();

    // 67 values of 1e200, 67 of 2e200 and 66 of 3e200.
    double mean = (67 * 1.0 + 67 * 2.0 + 66 * 3.0) / 200;
    double m2 =
        67 * Math.pow(1 - mean, 2) + 67 * Math.pow(2 - mean, 2) + 66 * Math.pow(3 - mean, 2);
    ColumnProfile z = snapshot.profile().column("z").get();
    assertThat(z.mean() / 1e200).isCloseTo(mean, within(1e-12));
    assertThat(z.stddev() / 1e200).isCloseTo(Math.sqrt(m2 / 199), within(1e-12));
  }

  @Test
  void stddevBeyondDoubleRangeStoredAsNull() {
    Path file = dir.resolve("batch.parquet");
    TestDuckDb.execute(
        "COPY (SELECT * FROM (VALUES (1.0::DOUBLE, 0::BIGINT, 1.7e308::DOUBLE),"
            + " (2.0, 1, -1.7e308)) t(amount, label, z)) TO "
            + TestDuckDb.path(file)
            + " (FORMAT parquet)");

    Snapshot snapshot = service.ingest(file, spec(""), "alice").snapshot();

    ColumnProfile z = snapshot.profile().column("z").get();
    assertThat(z.mean()).isEqualTo(0.0);
    // The sample standard deviation is 1.7e308 * sqrt(2), beyond the largest double.
    assertThat(z.stddev()).isNull();
    assertThat(snapshot.profile().column("amount").get().stddev())
        .isCloseTo(Math.sqrt(0.5), within(1e-15));
  }
}
