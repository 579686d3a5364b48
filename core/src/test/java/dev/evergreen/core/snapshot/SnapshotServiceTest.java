package dev.evergreen.core.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.data.ColumnProfile;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.PersonalDataTag;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.data.ValueCount;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.core.audit.AuditActions;
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
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

class SnapshotServiceTest {
  static final String SOURCE = "source:\n  landing: landing\n";
  static final String DATA = "data:\n  columns:\n    id: integer\n";
  static final String LABEL = "label:\n  column: label\n  greaterThan: 0\n";
  static final String FEATURES = "features:\n  numeric: [amount]\n  categorical: [city]\n";
  static final Instant NOW = Instant.parse("2024-05-01T10:00:00Z");

  @TempDir Path dir;

  InMemoryMetadataStore store;
  TempDirArtifactStore artifacts;
  SnapshotService service;

  @BeforeEach
  void setUp() throws IOException {
    store = new InMemoryMetadataStore();
    artifacts = new TempDirArtifactStore(dir.resolve("artifacts"));
    service = newService(null);
  }

  SnapshotService newService(byte[] key) {
    Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    return new SnapshotService(store, artifacts, new AuditLog(store, clock), clock, key, 1);
  }

  static PipelineSpec spec() {
    return TestPipelines.of(SOURCE, DATA, LABEL, FEATURES, "");
  }

  Path write(String name, String content) throws IOException {
    return Files.writeString(dir.resolve(name), content, StandardCharsets.UTF_8);
  }

  /** Ingests a file that must be rejected and checks that nothing was stored. */
  EvergreenException reject(Path file, PipelineSpec spec) throws IOException {
    EvergreenException error = null;
    try {
      service.ingest(file, spec, "alice");
    } catch (EvergreenException e) {
      error = e;
    }
    assertThat(error).as("ingest of %s must fail", file).isNotNull();
    assertThat(error.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    assertThat(error.getMessage()).contains(file.toAbsolutePath().toString());
    assertThat(store.snapshots()).isEmpty();
    assertThat(store.listAuditEntries(0, 10)).isEmpty();
    assertThat(artifacts.allFiles()).isEmpty();
    return error;
  }

  static final String SMALL_CSV =
      """
      id,amount,city,label
      1,2.5,Paris,0
      2,,Berlin,1
      3,7.25,Paris,1
      4,-1.0,Rome,0
      """;

  @Test
  void ingestCsvStoresSnapshotParquetAndAudit() throws IOException {
    Path file = write("batch.csv", SMALL_CSV);

    SnapshotResult result = service.ingest(file, spec(), "alice");

    assertThat(result.created()).isTrue();
    Snapshot snapshot = result.snapshot();
    assertThat(snapshot.id()).matches("[0-9a-f]{64}");
    assertThat(snapshot.source()).isEqualTo(file.toAbsolutePath().toString());
    assertThat(snapshot.createdAt()).isEqualTo(NOW);
    assertThat(snapshot.schema().names()).containsExactly("id", "amount", "city", "label");
    assertThat(snapshot.schema().column("id").get().type()).isEqualTo(ColumnType.INTEGER);
    assertThat(snapshot.schema().column("amount").get().type()).isEqualTo(ColumnType.DOUBLE);
    assertThat(snapshot.schema().column("city").get().type()).isEqualTo(ColumnType.STRING);
    assertThat(snapshot.schema().column("label").get().type()).isEqualTo(ColumnType.INTEGER);
    assertThat(store.findSnapshot(snapshot.id())).contains(snapshot);
    assertThat(artifacts.keys())
        .containsExactlyInAnyOrder(snapshot.artifactKey(), snapshot.profile().sketchKey());

    Path parquet = service.parquetOf(snapshot);
    assertThat(
            TestDuckDb.rows(
                "SELECT id, amount, city, label FROM read_parquet("
                    + TestDuckDb.path(parquet)
                    + ")"))
        .containsExactly(
            List.of("1", "2.5", "Paris", "0"),
            java.util.Arrays.asList("2", null, "Berlin", "1"),
            List.of("3", "7.25", "Paris", "1"),
            List.of("4", "-1.0", "Rome", "0"));

    List<AuditEntry> entries = store.listAuditEntries(0, 10);
    assertThat(entries).hasSize(1);
    assertThat(entries.get(0).action()).isEqualTo(AuditActions.SNAPSHOT_CREATED);
    assertThat(entries.get(0).actor()).isEqualTo("alice");
    assertThat(entries.get(0).targets()).isEqualTo(Map.of("snapshot", snapshot.id()));
    assertThat(entries.get(0).details()).containsEntry("rows", "4");
  }

  @Test
  void ingestSameContentTwiceStoresOnce() throws IOException {
    Path first = write("first.csv", SMALL_CSV);
    Path second = write("second.csv", SMALL_CSV);

    SnapshotResult created = service.ingest(first, spec(), "alice");
    SnapshotResult again = service.ingest(second, spec(), "bob");

    assertThat(again.created()).isFalse();
    assertThat(again.snapshot().id()).isEqualTo(created.snapshot().id());
    assertThat(again.snapshot().source()).isEqualTo(first.toAbsolutePath().toString());
    assertThat(store.snapshots()).hasSize(1);
    assertThat(store.listAuditEntries(0, 10)).hasSize(1);
    // The Parquet file and the binary profile.
    assertThat(artifacts.keys()).hasSize(2);
  }

  @Test
  void ingestChangedValueGivesNewId() throws IOException {
    Path first = write("first.csv", SMALL_CSV);
    Path changed = write("changed.csv", SMALL_CSV.replace("7.25", "7.5"));

    String id = service.ingest(first, spec(), "alice").snapshot().id();
    SnapshotResult other = service.ingest(changed, spec(), "alice");

    assertThat(other.created()).isTrue();
    assertThat(other.snapshot().id()).isNotEqualTo(id);
    assertThat(store.snapshots()).hasSize(2);
  }

  @Test
  void ingestNullAndEmptyTextDiffer() throws IOException {
    // An unquoted empty field is null, a quoted one is the empty string; the ids must differ.
    Path nullCity = write("null.csv", "id,amount,city,label\n1,1.0,,0\n");
    Path emptyCity = write("empty.csv", "id,amount,city,label\n1,1.0,\"\",0\n");

    Snapshot withNull = service.ingest(nullCity, spec(), "alice").snapshot();
    Snapshot withEmpty = service.ingest(emptyCity, spec(), "alice").snapshot();

    assertThat(withNull.profile().column("city").get().nullCount()).isEqualTo(1);
    assertThat(withEmpty.profile().column("city").get().nullCount()).isZero();
    assertThat(withEmpty.id()).isNotEqualTo(withNull.id());
  }

  @Test
  void ingestCsvAndParquetSameContentSameId() throws IOException {
    Path csv =
        write(
            "batch.csv",
            """
            id,amount,city,label,seen,day,flag
            1,2.5,Paris,0,2001-01-01 06:00:00,2001-01-01,true
            2,,Berlin,1,2001-01-02T07:30:00.25,2001-01-02,false
            3,7.25,,1,,2001-03-04,
            """);
    Path parquet = dir.resolve("batch.parquet");
    TestDuckDb.execute(
        "COPY (SELECT * FROM (VALUES"
            + " (1::TINYINT, 2.5::FLOAT, 'Paris', 0::INTEGER, TIMESTAMP '2001-01-01 06:00:00',"
            + " DATE '2001-01-01', true),"
            + " (2, NULL, 'Berlin', 1, TIMESTAMP '2001-01-02 07:30:00.25', DATE '2001-01-02',"
            + " false),"
            + " (3, 7.25, NULL, 1, NULL, DATE '2001-03-04', NULL))"
            + " t(id, amount, city, label, seen, day, flag)) TO "
            + TestDuckDb.path(parquet)
            + " (FORMAT parquet)");

    Snapshot fromCsv = service.ingest(csv, spec(), "alice").snapshot();
    SnapshotResult fromParquet = service.ingest(parquet, spec(), "alice");

    assertThat(fromCsv.schema().column("seen").get().type()).isEqualTo(ColumnType.TIMESTAMP);
    assertThat(fromCsv.schema().column("day").get().type()).isEqualTo(ColumnType.DATE);
    assertThat(fromCsv.schema().column("flag").get().type()).isEqualTo(ColumnType.BOOLEAN);
    assertThat(fromParquet.snapshot().schema()).isEqualTo(fromCsv.schema());
    assertThat(fromParquet.snapshot().id()).isEqualTo(fromCsv.id());
    assertThat(fromParquet.created()).isFalse();
  }

  @Test
  void ingestProfilesEveryColumn() throws IOException {
    Path file =
        write(
            "batch.csv",
            """
            id,amount,city,label,seen
            1,2.5,Paris,0,2001-01-01 06:00:00
            2,,Berlin,1,2001-01-01 07:00:00
            3,7.25,Paris,1,2001-01-02 08:15:30
            4,-1.0,Rome,0,
            5,4.0,Berlin,0,2001-01-01 07:00:00
            """);

    Snapshot snapshot = service.ingest(file, spec(), "alice").snapshot();

    assertThat(snapshot.profile().rowCount()).isEqualTo(5);
    ColumnProfile amount = snapshot.profile().column("amount").get();
    List<Double> amounts = List.of(2.5, 7.25, -1.0, 4.0);
    double mean = amounts.stream().mapToDouble(d -> d).average().orElseThrow();
    double variance =
        amounts.stream().mapToDouble(d -> (d - mean) * (d - mean)).sum() / (amounts.size() - 1);
    assertThat(amount.nullCount()).isEqualTo(1);
    assertThat(amount.min()).isEqualTo("-1.0");
    assertThat(amount.max()).isEqualTo("7.25");
    assertThat(amount.mean()).isCloseTo(mean, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(amount.stddev())
        .isCloseTo(Math.sqrt(variance), org.assertj.core.data.Offset.offset(1e-12));
    assertThat(amount.approxDistinct()).isEqualTo(4);

    ColumnProfile city = snapshot.profile().column("city").get();
    assertThat(city.mean()).isNull();
    assertThat(city.stddev()).isNull();
    assertThat(city.min()).isEqualTo("Berlin");
    assertThat(city.max()).isEqualTo("Rome");
    // Berlin and Paris both occur twice; the tie goes to the smaller value.
    assertThat(city.topValues())
        .containsExactly(
            new ValueCount("Berlin", 2), new ValueCount("Paris", 2), new ValueCount("Rome", 1));

    ColumnProfile seen = snapshot.profile().column("seen").get();
    assertThat(seen.type()).isEqualTo(ColumnType.TIMESTAMP);
    assertThat(seen.min()).isEqualTo("2001-01-01T06:00:00");
    assertThat(seen.max()).isEqualTo("2001-01-02T08:15:30");
    assertThat(seen.topValues().get(0)).isEqualTo(new ValueCount("2001-01-01T07:00:00", 2));
  }

  @Test
  void ingestFlightsParquetSubset() {
    Path file = TestDuckDb.flightsMonth(dir.resolve("january.parquet"), 1, 20_000);

    Snapshot snapshot = service.ingest(file, TestPipelines.flights(""), "alice").snapshot();

    assertThat(snapshot.profile().rowCount()).isEqualTo(20_000);
    assertThat(snapshot.schema().column("date").get().type()).isEqualTo(ColumnType.TIMESTAMP);
    assertThat(snapshot.schema().column("delay").get().type()).isEqualTo(ColumnType.INTEGER);
    ColumnProfile date = snapshot.profile().column("date").get();
    String expectedMin =
        TestDuckDb.value(
            "SELECT strftime(min(date), '%Y-%m-%dT%H:%M:%S') FROM read_parquet("
                + TestDuckDb.path(file)
                + ")");
    assertThat(date.min()).isEqualTo(expectedMin);
    ColumnProfile distance = snapshot.profile().column("distance").get();
    double expectedMean =
        Double.parseDouble(
            TestDuckDb.value(
                "SELECT avg(distance) FROM read_parquet(" + TestDuckDb.path(file) + ")"));
    assertThat(distance.mean()).isCloseTo(expectedMean, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(distance.topValues()).hasSize(10);
  }

  @Test
  void ingestStoresPersonalDataTags() throws IOException {
    PipelineSpec spec =
        TestPipelines.of(
            SOURCE,
            DATA + "  personalData:\n    city: quasi_identifier\n",
            LABEL,
            "features:\n  numeric: [amount]\n",
            "");

    Snapshot snapshot = service.ingest(write("b.csv", SMALL_CSV), spec, "alice").snapshot();

    assertThat(snapshot.tags()).isEqualTo(Map.of("city", PersonalDataTag.QUASI_IDENTIFIER));
  }

  // Personal data

  static PipelineSpec emailSpec() {
    return TestPipelines.of(
        SOURCE, DATA + "  personalData:\n    email: direct_identifier\n", LABEL, FEATURES, "");
  }

  static final String EMAIL_CSV =
      """
      id,email,amount,city,label
      1,alice@example.com,1.0,Paris,0
      2,,2.0,Rome,1
      3,bob@example.com,3.0,Rome,0
      4,alice@example.com,4.0,Paris,1
      """;

  static String hmac(byte[] key, String value) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key, "HmacSHA256"));
    return HexFormat.of().formatHex(mac.doFinal(value.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void ingestReplacesDirectIdentifierByHmac() throws Exception {
    byte[] key = "a test key of thirty-two bytes!!".getBytes(StandardCharsets.UTF_8);
    service = newService(key);

    Snapshot snapshot = service.ingest(write("b.csv", EMAIL_CSV), emailSpec(), "alice").snapshot();

    Path parquet = service.parquetOf(snapshot);
    List<String> emails = new ArrayList<>();
    for (List<String> row :
        TestDuckDb.rows("SELECT email FROM read_parquet(" + TestDuckDb.path(parquet) + ")")) {
      emails.add(row.get(0));
    }
    assertThat(emails)
        .containsExactly(
            hmac(key, "alice@example.com"),
            null,
            hmac(key, "bob@example.com"),
            hmac(key, "alice@example.com"));
    byte[] stored = Files.readAllBytes(parquet);
    assertThat(new String(stored, StandardCharsets.ISO_8859_1))
        .doesNotContain("alice@example.com")
        .doesNotContain("bob@example.com");
    assertThat(snapshot.profile().toString()).doesNotContain("alice@example.com");
    assertThat(snapshot.tags()).containsEntry("email", PersonalDataTag.DIRECT_IDENTIFIER);
    assertThat(store.listAuditEntries(0, 10).toString())
        .doesNotContain(new String(key, StandardCharsets.UTF_8));
  }

  @Test
  void ingestPseudonymisesIntegerIdentifierAsText() throws Exception {
    byte[] key = "another key of thirty-two bytes!".getBytes(StandardCharsets.UTF_8);
    service = newService(key);
    PipelineSpec spec =
        TestPipelines.of(
            SOURCE,
            "data:\n  columns:\n    id: integer\n  personalData:\n    id: direct_identifier\n",
            LABEL,
            FEATURES,
            "");

    Snapshot snapshot = service.ingest(write("b.csv", SMALL_CSV), spec, "alice").snapshot();

    assertThat(snapshot.schema().column("id").get().type()).isEqualTo(ColumnType.STRING);
    String first =
        TestDuckDb.value(
            "SELECT id FROM read_parquet(" + TestDuckDb.path(service.parquetOf(snapshot)) + ")");
    assertThat(first).isEqualTo(hmac(key, "1"));
  }

  @Test
  void ingestDirectIdentifierWithoutKeyRejected() throws IOException {
    Path file = write("b.csv", EMAIL_CSV);

    EvergreenException error =
        org.junit.jupiter.api.Assertions.assertThrows(
            EvergreenException.class, () -> service.ingest(file, emailSpec(), "alice"));

    assertThat(error.kind()).isEqualTo(ErrorKind.INTERNAL);
    assertThat(store.snapshots()).isEmpty();
    assertThat(artifacts.allFiles()).isEmpty();
    assertThat(error.getMessage())
        .contains(file.toAbsolutePath().toString())
        .contains("'email'")
        .contains("direct_identifier")
        .contains("EVERGREEN_PSEUDONYM_KEY");
  }

  // Bad input: every case names the file and line and stores nothing.

  @Test
  void ingestRaggedRowTooFewFieldsRejected() throws IOException {
    Path file = write("b.csv", "id,amount,city,label\n1,2.5,Paris,0\n2,3.5,Rome\n3,1.0,Rome,1\n");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage())
        .contains(file.toAbsolutePath() + ":3:")
        .contains("3 fields, expected 4")
        .contains("2,3.5,Rome");
  }

  @Test
  void ingestRaggedRowTooManyFieldsRejected() throws IOException {
    Path file = write("b.csv", "id,amount,city,label\n1,2.5,Paris,0\n2,3.5,Rome,1,9\n");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage())
        .contains(file.toAbsolutePath() + ":3:")
        .contains("5 fields, expected 4");
  }

  @Test
  void ingestUnclosedQuoteRejected() throws IOException {
    Path file =
        write("b.csv", "id,amount,city,label\n1,2.5,Paris,0\n2,3.5,\"Rome,1\n3,1.0,Rome,1\n");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage())
        .contains(file.toAbsolutePath() + ":3:")
        .contains("never closed")
        .contains("closing double quote");
  }

  @Test
  void ingestEmptyFileRejected() throws IOException {
    Path file = write("b.csv", "");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage()).contains("empty (0 bytes)");
  }

  @Test
  void ingestHeaderOnlyFileRejected() throws IOException {
    Path file = write("b.csv", "id,amount,city,label\n");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage()).contains("header line but no data rows");
  }

  @Test
  void ingestMissingLabelColumnRejected() throws IOException {
    Path file = write("b.csv", "id,amount,city\n1,2.5,Paris\n");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage())
        .contains(file.toAbsolutePath() + ":1:")
        .contains("'label' (the label column)")
        .contains("id, amount, city");
  }

  @Test
  void ingestMissingFeatureColumnRejected() throws IOException {
    Path file = write("b.csv", "id,city,label\n1,Paris,0\n");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage()).contains("'amount' (a numeric feature)");
  }

  @Test
  void ingestMissingDeclaredColumnRejected() throws IOException {
    Path file = write("b.csv", "amount,city,label\n2.5,Paris,0\n");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage()).contains("'id' (declared in data.columns)");
  }

  @Test
  void ingestMissingDerivedSourceRejected() throws IOException {
    Path file = write("b.csv", "id,amount,city,label\n1,2.5,Paris,0\n");
    PipelineSpec spec =
        TestPipelines.of(
            SOURCE,
            DATA,
            LABEL,
            FEATURES
                + "  derived:\n    - name: hour\n      from: seen\n      function: hour_of_day\n",
            "");

    EvergreenException error = reject(file, spec);

    assertThat(error.getMessage()).contains("'seen' (the source of derived feature 'hour')");
  }

  @Test
  void ingestDuplicateHeaderNameRejected() throws IOException {
    Path file = write("b.csv", "id,amount,city,City,label\n1,2.5,Paris,Rome,0\n");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage()).contains(":1:").contains("'City' twice");
  }

  @Test
  void ingestReservedRowidColumnRejected() throws IOException {
    Path file = write("b.csv", "id,amount,city,label,RowId\n1,2.5,Paris,0,7\n");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage()).contains("'RowId' is reserved");
  }

  @Test
  void ingestDeclaredIntegerHoldingTextRejected() throws IOException {
    Path file =
        write("b.csv", "id,amount,city,label\n1,2.5,Paris,0\n2,3.5,Rome,1\nabc,1.0,Rome,1\n");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage())
        .contains(file.toAbsolutePath() + ":4:")
        .contains("column 'id'")
        .contains("value 'abc'")
        .contains("not a valid integer")
        .contains("data.columns declares 'id' as integer");
  }

  @Test
  void ingestDeclaredIntegerHoldingDecimalRejected() throws IOException {
    // DuckDB's typed CSV reader would round 1.5 to 2 without an error.
    Path file = write("b.csv", "id,amount,city,label\n1,2.5,Paris,0\n1.5,3.5,Rome,1\n");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage()).contains(":3:").contains("value '1.5'");
  }

  @Test
  void ingestTypeErrorLineCountsQuotedLineBreaks() throws IOException {
    Path file =
        write(
            "b.csv",
            "id,amount,city,label\n1,2.5,\"Paris\nFrance\",0\n2,3.5,Rome,1\nx,1.0,Rome,1\n");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage()).contains(file.toAbsolutePath() + ":5:").contains("value 'x'");
  }

  @Test
  void ingestTenMegabyteFieldRejected() throws IOException {
    Path file =
        write(
            "b.csv",
            "id,amount,city,label\n1,2.5,Paris,0\n2,3.5," + "y".repeat(10_000_000) + ",1\n");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage())
        .contains(file.toAbsolutePath() + ":3:")
        .contains("more than the limit of " + CsvFiles.MAX_LINE_BYTES + " bytes");
    assertThat(error.getMessage().length()).isLessThan(1_000);
  }

  static byte[] latin1Csv() {
    return "id,amount,city,label\n1,2.5,Paris,0\n2,3.5,Orl\u00e9ans,1\n"
        .getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  void ingestLatin1BytesAsUtf8Rejected() throws IOException {
    Path file = Files.write(dir.resolve("b.csv"), latin1Csv());

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage())
        .contains(file.toAbsolutePath() + ":3:")
        .contains("not valid UTF-8")
        .contains("byte 0xE9")
        .contains("encoding: latin-1");
  }

  @Test
  void ingestLatin1FileWithLatin1Encoding() throws IOException {
    Path file = Files.write(dir.resolve("b.csv"), latin1Csv());
    PipelineSpec spec =
        TestPipelines.of(
            "source:\n  landing: landing\n  csv:\n    encoding: latin-1\n",
            DATA,
            LABEL,
            FEATURES,
            "");

    Snapshot snapshot = service.ingest(file, spec, "alice").snapshot();

    String city =
        TestDuckDb.value(
            "SELECT city FROM read_parquet("
                + TestDuckDb.path(service.parquetOf(snapshot))
                + ") WHERE id = 2");
    assertThat(city).isEqualTo("Orl\u00e9ans");
  }

  @Test
  void ingestSemicolonDelimiterWithoutHeader() throws IOException {
    Path file = write("b.csv", "1;2.5;Paris;0\n2;3.5;Rome;1\n");
    PipelineSpec spec =
        TestPipelines.of(
            "source:\n  landing: landing\n  csv:\n    delimiter: ';'\n    header: false\n",
            "",
            "label:\n  column: column3\n",
            "features:\n  numeric: [column1]\n",
            "");

    Snapshot snapshot = service.ingest(file, spec, "alice").snapshot();

    assertThat(snapshot.schema().names())
        .containsExactly("column0", "column1", "column2", "column3");
    assertThat(snapshot.profile().rowCount()).isEqualTo(2);
  }

  /** Writes {@code numbers} rows whose {@code amount} is a number, then one row with text. */
  Path lateTextCsv(int numbers) throws IOException {
    StringBuilder csv = new StringBuilder("id,amount,city,label,code\n");
    for (int i = 1; i <= numbers; i++) {
      csv.append(i).append(',').append(i * 0.5).append(",Paris,0,").append(i).append('\n');
    }
    csv.append(numbers + 1).append(",n/a,Rome,1,X").append(numbers + 1).append('\n');
    return write("late.csv", csv.toString());
  }

  @Test
  void ingestLateTextInDeclaredColumnRejected() throws IOException {
    Path file = lateTextCsv(30_000);
    PipelineSpec spec =
        TestPipelines.of(
            SOURCE,
            "data:\n  columns:\n    code: integer\n",
            LABEL,
            "features:\n  categorical: [city]\n",
            "");

    EvergreenException error = reject(file, spec);

    assertThat(error.getMessage())
        .contains(file.toAbsolutePath() + ":30002:")
        .contains("column 'code'")
        .contains("value 'X30001'");
  }

  @Test
  void ingestLateTextInNumericFeatureRejected() throws IOException {
    // amount is not declared; DuckDB's sniffer alone would type it from its first 20,480 rows.
    Path file = lateTextCsv(30_000);

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage())
        .contains(file.toAbsolutePath() + ":30002:")
        .contains("column 'amount'")
        .contains("value 'n/a'")
        .contains("a numeric feature");
  }

  @Test
  void ingestEarlyTextKeptAsString() throws IOException {
    // Text within DuckDB's 20,480-row sniffer sample is kept as text with a warning; later text is
    // rejected (LateTypeChangeTest).
    Path file = lateTextCsv(10_000);
    PipelineSpec spec =
        TestPipelines.of(SOURCE, DATA, LABEL, "features:\n  categorical: [city]\n", "");
    Logger logger = (Logger) LoggerFactory.getLogger(BatchLoader.class);
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    logger.addAppender(appender);
    try {
      Snapshot snapshot = service.ingest(file, spec, "alice").snapshot();

      assertThat(snapshot.schema().column("code").get().type()).isEqualTo(ColumnType.STRING);
      assertThat(snapshot.schema().column("amount").get().type()).isEqualTo(ColumnType.STRING);
      assertThat(snapshot.profile().column("code").get().max()).isEqualTo("X10001");
      assertThat(appender.list)
          .extracting(ILoggingEvent::getFormattedMessage)
          .anySatisfy(
              message ->
                  assertThat(message)
                      .contains("column 'code'")
                      .contains("'X10001' at line 10002")
                      .contains("stored as string"));
    } finally {
      logger.detachAppender(appender);
    }
  }

  @Test
  void ingestWithTwoThreadsSameIdAndLines() throws IOException {
    StringBuilder csv = new StringBuilder("id,amount,city,label\n");
    for (int i = 1; i <= 100_000; i++) {
      csv.append(i).append(',').append(i % 97).append(".5,city").append(i % 13).append(",0\n");
    }
    Path good = write("good.csv", csv.toString());
    Path bad = write("bad.csv", csv.toString().replace("\n80000,", "\n80000,x,"));
    String oneThread = service.ingest(good, spec(), "alice").snapshot().id();
    store = new InMemoryMetadataStore();
    artifacts = new TempDirArtifactStore(dir.resolve("artifacts-2"));
    Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    service = new SnapshotService(store, artifacts, new AuditLog(store, clock), clock, null, 2);

    EvergreenException error = reject(bad, spec());
    String twoThreads = service.ingest(good, spec(), "alice").snapshot().id();

    assertThat(twoThreads).isEqualTo(oneThread);
    assertThat(error.getMessage()).contains(bad.toAbsolutePath() + ":80001:").contains("5 fields");
  }

  @Test
  void ingestParquetDeclaredTypeMismatchNamesRow() throws IOException {
    Path file = dir.resolve("b.parquet");
    TestDuckDb.execute(
        "COPY (SELECT * FROM (VALUES ('1', 2.5, 'Paris', 0), ('2', 3.5, 'Rome', 1),"
            + " ('three', 1.0, 'Rome', 1)) t(id, amount, city, label)) TO "
            + TestDuckDb.path(file)
            + " (FORMAT parquet)");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage())
        .contains(file.toAbsolutePath() + ": row 3:")
        .contains("column 'id'")
        .contains("value 'three'");
  }

  @Test
  void ingestParquetFractionForIntegerRejected() throws IOException {
    Path file = dir.resolve("b.parquet");
    TestDuckDb.execute(
        "COPY (SELECT * FROM (VALUES (1.0, 2.5, 'Paris', 0), (2.5, 3.5, 'Rome', 1))"
            + " t(id, amount, city, label)) TO "
            + TestDuckDb.path(file)
            + " (FORMAT parquet)");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage()).contains("row 2:").contains("value '2.5'");
  }

  @Test
  void ingestParquetMapsDuckDbTypes() throws IOException {
    Path file = dir.resolve("b.parquet");
    TestDuckDb.execute(
        "COPY (SELECT 1::SMALLINT AS id, 2.5::DECIMAL(6,2) AS amount, 'Paris' AS city,"
            + " 0::UTINYINT AS label, TIMESTAMPTZ '2001-01-01 06:00:00+00' AS at,"
            + " TIMESTAMP_MS '2001-01-01 07:00:00' AS at_ms, true AS flag, DATE '2001-01-01' AS day)"
            + " TO "
            + TestDuckDb.path(file)
            + " (FORMAT parquet)");

    Snapshot snapshot = service.ingest(file, spec(), "alice").snapshot();

    assertThat(snapshot.schema().columns())
        .extracting(c -> c.name() + ":" + c.type())
        .containsExactly(
            "id:INTEGER",
            "amount:DOUBLE",
            "city:STRING",
            "label:INTEGER",
            "at:TIMESTAMP",
            "at_ms:TIMESTAMP",
            "flag:BOOLEAN",
            "day:DATE");
    assertThat(snapshot.profile().column("at").get().min()).isEqualTo("2001-01-01T06:00:00");
  }

  @Test
  void ingestParquetUnsupportedTypeRejected() throws IOException {
    Path file = dir.resolve("b.parquet");
    TestDuckDb.execute(
        "COPY (SELECT 1 AS id, 2.5 AS amount, 'Paris' AS city, 0 AS label, [1, 2] AS tags) TO "
            + TestDuckDb.path(file)
            + " (FORMAT parquet)");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage()).contains("column 'tags'").contains("INTEGER[]");
  }

  @Test
  void ingestCorruptParquetRejected() throws IOException {
    Path file = write("b.parquet", "this is not parquet\n");

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage()).contains("not a Parquet file");
  }

  @Test
  void ingestUnknownExtensionRejected() throws IOException {
    Path file = write("b.txt", SMALL_CSV);

    EvergreenException error = reject(file, spec());

    assertThat(error.getMessage()).contains("source.format");
  }

  @Test
  void ingestMissingFileRejected() {
    Path file = dir.resolve("absent.csv");

    assertThatThrownBy(() -> service.ingest(file, spec(), "alice"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("not found");
  }
}
