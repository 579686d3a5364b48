package dev.evergreen.core.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
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
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.TimeZone;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CSV timestamps with an ISO 8601 offset are converted to UTC as those with {@code Z} are, in any
 * time zone of the JVM, and the same instants give the same snapshot id whatever offset wrote them.
 */
class TimestampOffsetTest {
  static final String SOURCE = "source:\n  landing: landing\n";
  static final String DATA = "data:\n  columns:\n    seen: timestamp\n";
  static final String LABEL = "label:\n  column: label\n";
  static final String FEATURES = "features:\n  numeric: [amount]\n";

  /** Timestamp texts that must be accepted. */
  static final List<String> ACCEPTED =
      List.of(
          "2001-01-07T02:45:00+05:30",
          "2001-01-07T02:45:00+00:00",
          "2001-01-07T02:45:00+00",
          "2001-01-07T02:45:00Z",
          "2001-01-07T02:45:00-0800",
          "2001-01-07 02:45:00.123456-03:30",
          "2001-01-07T02:45+05:30",
          "2001-01-07T02:45Z",
          "2001-01-07T23:59:59.5+18:00",
          " 2001-01-07T02:45:00-18 ",
          "2001-01-07T02:45:00",
          "2001-01-07");

  @TempDir Path dir;

  InMemoryMetadataStore store;
  SnapshotService service;

  @BeforeEach
  void setUp() throws IOException {
    store = new InMemoryMetadataStore();
    TempDirArtifactStore artifacts = new TempDirArtifactStore(dir.resolve("artifacts"));
    Clock clock = Clock.fixed(Instant.parse("2024-05-01T10:00:00Z"), ZoneOffset.UTC);
    service = new SnapshotService(store, artifacts, new AuditLog(store, clock), clock, null, 1);
  }

  static PipelineSpec spec(String data) {
    return TestPipelines.of(SOURCE, data, LABEL, FEATURES, "");
  }

  Path csv(String name, List<String> timestamps) throws IOException {
    StringBuilder csv = new StringBuilder("amount,label,seen\n");
    for (int i = 0; i < timestamps.size(); i++) {
      csv.append(i).append(',').append(i % 2).append(',').append(timestamps.get(i)).append('\n');
    }
    return Files.writeString(dir.resolve(name), csv, StandardCharsets.UTF_8);
  }

  /** Converts an accepted text to its instant with java.time, independently of the loader. */
  static Instant expectedInstant(String text) {
    String trimmed = text.strip().replace(' ', 'T');
    if (trimmed.length() == 10) {
      return LocalDate.parse(trimmed).atStartOfDay(ZoneOffset.UTC).toInstant();
    }
    if (trimmed.matches(".*[+-][0-9]{2}$")) {
      trimmed = trimmed + ":00";
    } else if (trimmed.matches(".*[+-][0-9]{4}$")) {
      int sign = trimmed.length() - 5;
      trimmed = trimmed.substring(0, sign + 3) + ":" + trimmed.substring(sign + 3);
    } else if (!trimmed.endsWith("Z") && !trimmed.matches(".*[+-][0-9]{2}:[0-9]{2}$")) {
      trimmed = trimmed + "Z";
    }
    return OffsetDateTime.parse(trimmed, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
  }

  /**
   * Returns the microseconds since the epoch of column {@code seen} of a Parquet file, in order.
   */
  static List<Long> storedMicros(Path parquet) {
    return TestDuckDb.rows(
            "SELECT epoch_us(seen) FROM read_parquet(" + TestDuckDb.path(parquet) + ")")
        .stream()
        .map(row -> Long.parseLong(row.get(0)))
        .toList();
  }

  @Test
  void offsetsConvertedToUtc() throws IOException {
    Path file = csv("batch.csv", ACCEPTED);
    Path parquet = dir.resolve("out.parquet");

    Snapshot snapshot = BatchFiles.read(file, spec(DATA), parquet, null, 1);

    assertThat(snapshot.schema().column("seen").get().type()).isEqualTo(ColumnType.TIMESTAMP);
    List<Long> micros = storedMicros(parquet);
    for (int i = 0; i < ACCEPTED.size(); i++) {
      Instant expected = expectedInstant(ACCEPTED.get(i));
      assertThat(micros.get(i))
          .as(ACCEPTED.get(i))
          .isEqualTo(ChronoUnit.MICROS.between(Instant.EPOCH, expected));
    }
  }

  @Test
  void undeclaredOffsetColumnInferredAsTimestamp() throws IOException {
    Path file = csv("batch.csv", ACCEPTED);

    Snapshot snapshot = BatchFiles.read(file, spec(""), dir.resolve("out.parquet"), null, 1);

    assertThat(snapshot.schema().column("seen").get().type()).isEqualTo(ColumnType.TIMESTAMP);
    assertThat(snapshot.profile().column("seen").get().min()).isEqualTo("2001-01-06T21:15:00");
    assertThat(snapshot.profile().column("seen").get().max()).isEqualTo("2001-01-07T20:45:00");
  }

  @Test
  void sameInstantsWithOtherOffsetsSameId() throws IOException {
    List<String> utc =
        List.of("2001-01-07T02:45:00Z", "2001-01-06T21:15:00Z", "2001-01-07T10:45:00.25Z");
    List<String> offsets =
        List.of("2001-01-07T08:15:00+05:30", "2001-01-06T13:15:00-0800", "2001-01-07T10:45:00.25");
    Path parquet = dir.resolve("batch.parquet");
    TestDuckDb.execute(
        "COPY (SELECT * FROM (VALUES (0::BIGINT, 0::BIGINT,"
            + " TIMESTAMPTZ '2001-01-07 02:45:00+00'), (1, 1, TIMESTAMPTZ '2001-01-06 21:15:00+00'),"
            + " (2, 0, TIMESTAMPTZ '2001-01-07 10:45:00.25+00')) t(amount, label, seen)) TO "
            + TestDuckDb.path(parquet)
            + " (FORMAT parquet)");

    SnapshotResult first = service.ingest(csv("utc.csv", utc), spec(DATA), "alice");
    SnapshotResult second = service.ingest(csv("offsets.csv", offsets), spec(DATA), "alice");
    SnapshotResult third = service.ingest(parquet, spec(DATA), "alice");

    assertThat(first.created()).isTrue();
    assertThat(second.snapshot().id()).isEqualTo(first.snapshot().id());
    assertThat(second.created()).isFalse();
    assertThat(third.snapshot().id()).isEqualTo(first.snapshot().id());
    assertThat(store.snapshots()).hasSize(1);
  }

  @Test
  void sameResultInEveryJvmTimeZone() throws IOException {
    Path file = csv("batch.csv", ACCEPTED);
    TimeZone original = TimeZone.getDefault();
    try {
      TimeZone.setDefault(TimeZone.getTimeZone("Asia/Kolkata"));
      Snapshot kolkata = BatchFiles.read(file, spec(DATA), dir.resolve("kolkata.parquet"), null, 1);
      TimeZone.setDefault(TimeZone.getTimeZone("America/Los_Angeles"));
      Snapshot losAngeles =
          BatchFiles.read(file, spec(DATA), dir.resolve("los-angeles.parquet"), null, 1);
      TimeZone.setDefault(TimeZone.getTimeZone("Asia/Kolkata"));
      String kolkataId = service.ingest(file, spec(DATA), "alice").snapshot().id();
      TimeZone.setDefault(TimeZone.getTimeZone("America/Los_Angeles"));
      SnapshotResult losAngelesIngest = service.ingest(file, spec(DATA), "alice");

      assertThat(storedMicros(dir.resolve("los-angeles.parquet")))
          .isEqualTo(storedMicros(dir.resolve("kolkata.parquet")));
      assertThat(losAngeles.profile()).isEqualTo(kolkata.profile());
      assertThat(losAngelesIngest.snapshot().id()).isEqualTo(kolkataId);
      assertThat(losAngelesIngest.created()).isFalse();
    } finally {
      TimeZone.setDefault(original);
    }
  }

  @Test
  void invalidTimestampRejectedListingForms() throws IOException {
    List<String> invalid =
        List.of(
            "2001-01-07T02:45:00+5:30",
            "2001-01-07T02:45:00+19:00",
            "2001-01-07T02:45:00+05:60",
            "2001-01-07T02:45:00+05:",
            "2001-01-07T02:45:00 +05:30",
            "2001-01-07+05:30",
            "2001-01-07T02:45:00Asia/Kolkata",
            "2001-02-30T02:45:00Z",
            "2001-01-07T02:45:00.1234567Z");
    for (String text : invalid) {
      Path file = csv("batch.csv", List.of("2001-01-07T02:45:00Z", text));
      EvergreenException error = null;
      try {
        BatchFiles.read(file, spec(DATA), dir.resolve("out.parquet"), null, 1);
      } catch (EvergreenException e) {
        error = e;
      }

      assertThat(error).as(text).isNotNull();
      assertThat(error.kind()).as(text).isEqualTo(ErrorKind.INVALID_INPUT);
      assertThat(error.getMessage()).as(text).startsWith(file.toAbsolutePath() + ":3: ");
      assertThat(error.getMessage()).as(text).contains("value '" + text + "'");
      assertThat(error.getMessage()).as(text).contains("not a valid timestamp");
      assertThat(error.getMessage()).as(text).contains("Accepted timestamp forms:");
      assertThat(error.getMessage()).as(text).contains("+05:30, +0530 or -08");
    }
  }
}
