package dev.evergreen.core.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestPipelines;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Empty, foreign, truncated and damaged {@code .parquet} files are rejected with the file, the
 * problem and the next step, both when a batch is stored and when it is only checked in place.
 */
class ParquetFrameTest {
  static final String SOURCE = "source:\n  landing: landing\n";
  static final String LABEL = "label:\n  column: label\n";
  static final String FEATURES = "features:\n  numeric: [amount]\n";

  /** Phrase of DuckDB's JDBC driver that describes no problem of the file. */
  static final String DUCKDB_INTERNAL = "pending query result";

  @TempDir Path dir;

  static PipelineSpec spec() {
    return TestPipelines.of(SOURCE, "", LABEL, FEATURES, "");
  }

  /** Writes a valid Parquet file of 1,000 rows and returns its bytes. */
  byte[] validParquet() throws IOException {
    Path file = dir.resolve("valid.parquet");
    TestDuckDb.execute(
        "COPY (SELECT i::DOUBLE AS amount, (i % 2)::BIGINT AS label FROM range(1000) t(i)) TO "
            + TestDuckDb.path(file)
            + " (FORMAT parquet)");
    return Files.readAllBytes(file);
  }

  Path write(byte[] content) throws IOException {
    return Files.write(dir.resolve("batch.parquet"), content);
  }

  /** Reads the file as a stored snapshot does and returns the message of the rejection. */
  String storedRejection(Path file) {
    return rejection(file, false);
  }

  /** Reads the file in place as {@code evergreen validate} does and returns the rejection. */
  String checkedRejection(Path file) {
    return rejection(file, true);
  }

  String rejection(Path file, boolean inPlace) {
    EvergreenException error = null;
    try {
      if (inPlace) {
        BatchFiles.check(file, spec(), null, 1, (batch, connection, table) -> batch);
      } else {
        BatchFiles.read(file, spec(), dir.resolve("out.parquet"), null, 1);
      }
    } catch (EvergreenException e) {
      error = e;
    }
    assertThat(error).as("reading %s must fail", file).isNotNull();
    assertThat(error.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    assertThat(error.getMessage()).startsWith(file.toAbsolutePath().toString() + ": ");
    assertThat(error.getMessage()).doesNotContain(DUCKDB_INTERNAL);
    return error.getMessage();
  }

  @Test
  void emptyFileNamedEmpty() throws IOException {
    Path file = write(new byte[0]);

    for (String message : new String[] {storedRejection(file), checkedRejection(file)}) {
      assertThat(message).contains("the file is empty (0 bytes)");
      assertThat(message).contains("Check that the export that wrote it finished");
    }
  }

  @Test
  void textFileNotParquet() throws IOException {
    Path file = write("amount,label\n1.5,0\n".getBytes(StandardCharsets.UTF_8));

    for (String message : new String[] {storedRejection(file), checkedRejection(file)}) {
      assertThat(message).contains("not a Parquet file");
      assertThat(message).contains("does not start with the magic bytes PAR1");
      assertThat(message).contains("set source.format to csv");
    }
  }

  @Test
  void randomBytesNotParquet() throws IOException {
    byte[] garbage = new byte[4096];
    new java.util.Random(7).nextBytes(garbage);
    garbage[0] = 0;
    Path file = write(garbage);

    assertThat(storedRejection(file)).contains("not a Parquet file");
  }

  @Test
  void fileCutInHalfTruncated() throws IOException {
    byte[] valid = validParquet();
    Path file = write(Arrays.copyOf(valid, valid.length / 2));

    for (String message : new String[] {storedRejection(file), checkedRejection(file)}) {
      assertThat(message).contains("the Parquet file is truncated or damaged");
      assertThat(message).contains("(" + valid.length / 2 + " bytes)");
      assertThat(message).contains("does not end with the magic bytes PAR1");
      assertThat(message).contains("ingest it again");
    }
  }

  @Test
  void fileMissingLastByteTruncated() throws IOException {
    byte[] valid = validParquet();
    Path file = write(Arrays.copyOf(valid, valid.length - 1));

    assertThat(storedRejection(file)).contains("does not end with the magic bytes PAR1");
  }

  @Test
  void magicOnlyFileTruncated() throws IOException {
    Path file = write("PAR1".getBytes(StandardCharsets.US_ASCII));

    assertThat(storedRejection(file))
        .contains("truncated or damaged (4 bytes)")
        .contains("shorter than the 12 bytes");
  }

  @Test
  void footerLongerThanFileDamaged() throws IOException {
    Path file = write(frame(new byte[20], 1_000_000));

    assertThat(storedRejection(file))
        .contains("truncated or damaged (32 bytes)")
        .contains("footer claims 1000000 bytes of metadata");
  }

  @Test
  void damagedFooterNamesFile() throws IOException {
    byte[] metadata = new byte[64];
    Arrays.fill(metadata, (byte) 0x7f);
    Path file = write(frame(metadata, metadata.length));

    for (String message : new String[] {storedRejection(file), checkedRejection(file)}) {
      assertThat(message)
          .contains("cannot read the file as Parquet: its metadata cannot be decoded");
      assertThat(message).contains("Check that the file is a complete Parquet file");
    }
  }

  @Test
  void encryptedFooterNamed() throws IOException {
    byte[] framed = frame(new byte[20], 20);
    byte[] encrypted = "PARE".getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(encrypted, 0, framed, 0, 4);
    System.arraycopy(encrypted, 0, framed, framed.length - 4, 4);
    Path file = write(framed);

    assertThat(storedRejection(file))
        .contains("encrypted footer (magic bytes PARE)")
        .contains("without Parquet encryption");
  }

  @Test
  void validFileStillReads() throws IOException {
    Path file = write(validParquet());

    long rows =
        BatchFiles.check(
            file, spec(), null, 1, (batch, connection, table) -> batch.profile().rowCount());

    assertThat(rows).isEqualTo(1000);
  }

  /** Returns PAR1, {@code body}, a footer length of {@code footerLength} and PAR1. */
  static byte[] frame(byte[] body, int footerLength) {
    ByteBuffer buffer =
        ByteBuffer.allocate(ParquetFiles.FRAME_BYTES + body.length).order(ByteOrder.LITTLE_ENDIAN);
    buffer.put("PAR1".getBytes(StandardCharsets.US_ASCII));
    buffer.put(body);
    buffer.putInt(footerLength);
    buffer.put("PAR1".getBytes(StandardCharsets.US_ASCII));
    return buffer.array();
  }
}
