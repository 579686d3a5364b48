package dev.evergreen.bench;

import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.pipeline.ConstraintsSpec;
import dev.evergreen.api.pipeline.FeaturesSpec;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.PipelineSpecs;
import dev.evergreen.api.pipeline.SourceSpec;
import dev.evergreen.api.pipeline.ValidationSpec;
import dev.evergreen.api.validation.ConstraintResult;
import dev.evergreen.api.validation.ConstraintStatus;
import dev.evergreen.api.validation.ValidationResult;
import dev.evergreen.core.profile.ColumnSketch;
import dev.evergreen.core.profile.DatasetProfile;
import dev.evergreen.core.profile.ProfileBuilder;
import dev.evergreen.core.profile.ProfileCodec;
import dev.evergreen.core.snapshot.BatchFiles;
import dev.evergreen.core.validation.ValidationContext;
import dev.evergreen.core.validation.Validator;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Times {@code evergreen validate --schema} on 10 million rows of 10 columns against the same 16
 * checks written with pandas, and measures the serialized size of column profiles.
 *
 * <p>Options: {@code --data} flights Parquet file, {@code --rows} (10,000,000), {@code --repeats}
 * (5), {@code --threads} DuckDB threads (2), {@code --work} folder for the generated files, {@code
 * --python} interpreter with pandas ({@code /usr/bin/python3}), {@code --pandas-script}, {@code
 * --pandas} ({@code true}; {@code false} skips pandas), {@code --sketches} ({@code true}; {@code
 * false} skips the profile sizes), {@code --timeout} seconds for the pandas process (600).
 */
public final class ValidateBenchmark {
  /** Columns of the generated file, in order; the pandas script reads the same names. */
  static final List<String> COLUMNS =
      List.of(
          "date",
          "delay",
          "distance",
          "origin",
          "destination",
          "hour",
          "day_of_week",
          "month",
          "score",
          "category");

  private static final List<String> TEXT_COLUMNS = List.of("origin", "destination", "category");

  /**
   * The 16 constraints over the 10 columns. {@code delay max} fails on a few rows, as a warning, so
   * that the timing includes counting failing rows and fetching example rows.
   */
  static final String CONSTRAINTS =
      """
      data:
        columns:
          date: timestamp
          delay: integer
          distance: integer
          origin: string
          destination: string
          hour: integer
          day_of_week: integer
          month: integer
          score: double
          category: string
      validation:
        inferRules: false
        rules:
          - column: date
            notNull: true
          - column: delay
            min: -1200
            meanBetween: [-50, 50]
          - column: delay
            max: 1500
            severity: warning
          - column: distance
            notNull: true
            min: 1
            max: 6000
          - column: origin
            pattern: "[A-Z]{3}"
          - column: destination
            distinctCountBetween: [100, 1000]
          - column: hour
            min: 0
            max: 23
          - column: day_of_week
            allowedValues: [0, 1, 2, 3, 4, 5, 6]
          - column: month
            completeness: 1.0
          - column: score
            stddevBetween: [0.25, 0.33]
          - column: category
            allowedValues: [C0, C1, C2, C3, C4, C5, C6, C7, C8, C9, C10, C11]
          - condition: "origin <> destination"
      """;

  private ValidateBenchmark() {}

  public static void main(String[] args) throws Exception {
    Options options = new Options(args);
    Path data = options.path("data", "data/flights/flights-3m.parquet");
    long rows = Long.parseLong(options.text("rows", "10000000"));
    int repeats = options.integer("repeats", 5);
    int threads = options.integer("threads", 2);
    Path work = options.path("work", "bench/target/validate");
    Files.createDirectories(work);

    Path parquet = work.resolve("wide-" + rows + ".parquet");
    Path columns = work.resolve("wide-" + rows + "-npy");
    prepare(data, rows, parquet, columns, threads);
    Path constraints = work.resolve("constraints.yaml");
    Files.writeString(constraints, CONSTRAINTS, StandardCharsets.UTF_8);

    validateRepeats(parquet, constraints, repeats, threads);
    if (Boolean.parseBoolean(options.text("pandas", "true"))) {
      runPandas(options, columns, repeats);
    }
    if (Boolean.parseBoolean(options.text("sketches", "true"))) {
      profileSizes(parquet, threads);
    }
  }

  /**
   * Writes {@code rows} rows of the flights file, repeated as often as needed, widened to 10
   * columns, as Parquet and as one NumPy {@code .npy} file per column for pandas. Skipped when both
   * exist.
   */
  static void prepare(Path data, long rows, Path parquet, Path npyFolder, int threads)
      throws SQLException, IOException {
    if (Files.isRegularFile(parquet) && Files.isRegularFile(npyFolder.resolve("done"))) {
      System.out.println("reusing " + parquet + " and " + npyFolder);
      return;
    }
    if (!Files.isRegularFile(data)) {
      throw new IllegalArgumentException(
          "flights data " + data + " not found; pass the path of flights-3m.parquet");
    }
    long started = System.nanoTime();
    try (Connection connection = DriverManager.getConnection("jdbc:duckdb:");
        Statement statement = connection.createStatement()) {
      statement.execute("SET threads = " + threads);
      statement.execute("SET preserve_insertion_order = true");
      long sourceRows;
      try (ResultSet result =
          statement.executeQuery("SELECT count(*) FROM read_parquet(" + literal(data) + ")")) {
        result.next();
        sourceRows = result.getLong(1);
      }
      long copies = (rows + sourceRows - 1) / sourceRows;
      // The score is a hash of the row id scaled to [0, 1), so the file is the same on every run.
      statement.execute(
          "CREATE TABLE wide AS SELECT id, date, delay, distance, origin, destination,"
              + " hour(date) AS hour, dayofweek(date) AS day_of_week, month(date) AS month,"
              + " (hash(id) % 1000000007) / 1000000007.0 AS score,"
              + " 'C' || (hash(id + 1) % 12) AS category"
              + " FROM (SELECT copy * "
              + sourceRows
              + " + file_row_number AS id, *"
              + " FROM range("
              + copies
              + ") copies(copy), read_parquet("
              + literal(data)
              + ", file_row_number = true))"
              + " WHERE id < "
              + rows
              + " ORDER BY id");
      statement.execute(
          "COPY (SELECT "
              + String.join(", ", COLUMNS)
              + " FROM wide ORDER BY id) TO "
              + literal(parquet)
              + " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)");
      writeNpy(statement, rows, npyFolder);
    }
    System.out.printf(
        Locale.ROOT,
        "wrote %s (%.1f MB) and %s in %.1f s%n",
        parquet,
        Files.size(parquet) / 1e6,
        npyFolder,
        (System.nanoTime() - started) / 1e9);
  }

  /**
   * Writes each column as a {@code .npy} file: timestamps as {@code datetime64[us]}, integers as
   * {@code int64}, the score as {@code float64}, and text as {@code int32} category codes with the
   * sorted categories in {@code NAME.categories}, one a line. Origin and destination share one
   * category list so that pandas can compare them.
   */
  private static void writeNpy(Statement statement, long rows, Path folder)
      throws SQLException, IOException {
    Files.createDirectories(folder);
    statement.execute(
        "CREATE TABLE airports AS SELECT name, (row_number() OVER (ORDER BY name)) - 1 AS code"
            + " FROM (SELECT origin AS name FROM wide UNION SELECT destination FROM wide)");
    statement.execute(
        "CREATE TABLE categories AS SELECT name, (row_number() OVER (ORDER BY name)) - 1 AS code"
            + " FROM (SELECT DISTINCT category AS name FROM wide)");
    writeCategories(statement, "airports", folder.resolve("origin.categories"));
    writeCategories(statement, "airports", folder.resolve("destination.categories"));
    writeCategories(statement, "categories", folder.resolve("category.categories"));
    String select =
        "SELECT epoch_us(w.date), w.delay, w.distance, o.code, d.code, w.hour, w.day_of_week,"
            + " w.month, w.score, c.code FROM wide w"
            + " JOIN airports o ON w.origin = o.name JOIN airports d ON w.destination = d.name"
            + " JOIN categories c ON w.category = c.name ORDER BY w.id";
    String[] descr = {"<M8[us]", "<i8", "<i8", "<i4", "<i4", "<i8", "<i8", "<i8", "<f8", "<i4"};
    List<NpyWriter> writers = new ArrayList<>();
    try {
      for (int i = 0; i < COLUMNS.size(); i++) {
        writers.add(new NpyWriter(folder.resolve(COLUMNS.get(i) + ".npy"), descr[i], rows));
      }
      try (ResultSet result = statement.executeQuery(select)) {
        while (result.next()) {
          for (int i = 0; i < COLUMNS.size(); i++) {
            NpyWriter writer = writers.get(i);
            switch (descr[i]) {
              case "<f8" -> writer.putDouble(result.getDouble(i + 1));
              case "<i4" -> writer.putInt(result.getInt(i + 1));
              default -> writer.putLong(result.getLong(i + 1));
            }
          }
        }
      }
    } finally {
      for (NpyWriter writer : writers) {
        writer.close();
      }
    }
    Files.writeString(folder.resolve("done"), rows + "\n");
  }

  private static void writeCategories(Statement statement, String table, Path file)
      throws SQLException, IOException {
    List<String> names = new ArrayList<>();
    try (ResultSet result =
        statement.executeQuery("SELECT name FROM " + table + " ORDER BY code")) {
      while (result.next()) {
        names.add(result.getString(1));
      }
    }
    Files.write(file, names, StandardCharsets.UTF_8);
  }

  /** Writes a one-dimensional NumPy array file, format version 1.0, little-endian. */
  private static final class NpyWriter implements AutoCloseable {
    private final FileChannel channel;
    private final ByteBuffer buffer =
        ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);

    NpyWriter(Path file, String descr, long length) throws IOException {
      channel =
          FileChannel.open(
              file,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.WRITE);
      StringBuilder header =
          new StringBuilder(
              "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + length + ",), }");
      // Magic (6 bytes), version (2) and header length (2) precede the header. The header ends
      // with a newline and is padded so that the data starts at a multiple of 64 bytes.
      while ((10 + header.length() + 1) % 64 != 0) {
        header.append(' ');
      }
      header.append('\n');
      buffer.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
      buffer.putShort((short) header.length());
      buffer.put(header.toString().getBytes(StandardCharsets.US_ASCII));
    }

    void putLong(long value) throws IOException {
      room(8);
      buffer.putLong(value);
    }

    void putInt(int value) throws IOException {
      room(4);
      buffer.putInt(value);
    }

    void putDouble(double value) throws IOException {
      room(8);
      buffer.putDouble(value);
    }

    private void room(int bytes) throws IOException {
      if (buffer.remaining() < bytes) {
        flush();
      }
    }

    private void flush() throws IOException {
      buffer.flip();
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      buffer.clear();
    }

    @Override
    public void close() throws IOException {
      flush();
      channel.close();
    }
  }

  /**
   * Runs the code of {@code evergreen validate --schema CONSTRAINTS DATA} (without printing) once
   * untimed to warm the JIT, then {@code repeats} timed times.
   */
  static void validateRepeats(Path parquet, Path constraints, int repeats, int threads)
      throws IOException {
    System.out.println("== evergreen validate --schema, " + threads + " DuckDB threads");
    System.out.println("repeat\tread s\tcheck s\ttotal s\tverdict\tfailed\tother CPUs");
    List<Double> totals = new ArrayList<>();
    for (int repeat = 0; repeat <= repeats; repeat++) {
      CpuUsage before = CpuUsage.now();
      long started = System.nanoTime();
      // The same steps as ValidateCommand without --html: load the constraints, read the file
      // into DuckDB as a run would, then check the rules on the loaded table.
      PipelineSpec spec =
          fromConstraints(PipelineSpecs.loadConstraints(constraints), parquet.toString());
      ValidationContext context =
          new ValidationContext(ValidationSpec.TRAINING, Instant.now(), null);
      long[] read = new long[1];
      ValidationResult result =
          BatchFiles.check(
              parquet,
              spec,
              null,
              threads,
              (batch, connection, table) -> {
                read[0] = System.nanoTime();
                return new Validator(threads)
                    .check(batch, connection, table, spec, context)
                    .result();
              });
      long done = System.nanoTime();
      CpuUsage after = CpuUsage.now();
      long failed =
          result.constraints().stream().filter(c -> c.status() == ConstraintStatus.FAILED).count();
      String label = repeat == 0 ? "warm-up" : Integer.toString(repeat);
      System.out.printf(
          Locale.ROOT,
          "%s\t%.3f\t%.3f\t%.3f\t%s\t%d of %d\t%.2f%n",
          label,
          (read[0] - started) / 1e9,
          (done - read[0]) / 1e9,
          (done - started) / 1e9,
          result.verdict(),
          failed,
          result.constraints().size(),
          CpuUsage.otherCores(before, after));
      if (repeat == 0) {
        for (ConstraintResult constraint : result.constraints()) {
          System.out.println(
              "  "
                  + constraint.status().text()
                  + " "
                  + constraint.column()
                  + " "
                  + constraint.name()
                  + ": observed "
                  + constraint.observed());
        }
      } else {
        totals.add((done - started) / 1e9);
      }
    }
    totals.sort(null);
    System.out.printf(
        Locale.ROOT,
        "evergreen total: min %.3f s, median %.3f s, max %.3f s%n",
        totals.get(0),
        totals.get(totals.size() / 2),
        totals.get(totals.size() - 1));
  }

  /**
   * Builds the pipeline that {@code evergreen validate --schema} builds from a constraints file.
   */
  static PipelineSpec fromConstraints(ConstraintsSpec constraints, String data) {
    return new PipelineSpec(
        "constraints",
        new SourceSpec(null, data, null, constraints.csv(), null),
        constraints.data(),
        null,
        new FeaturesSpec(null, null, null, null),
        null,
        null,
        constraints.validation(),
        null,
        null);
  }

  /** Runs the pandas script as a child process and copies its output. */
  private static void runPandas(Options options, Path columns, int repeats)
      throws IOException, InterruptedException {
    String python = options.text("python", "/usr/bin/python3");
    String script = options.text("pandas-script", "bench/validate_pandas.py");
    long timeout = Long.parseLong(options.text("timeout", "600"));
    System.out.println("== pandas");
    Process process =
        new ProcessBuilder(
                python, script, "--columns", columns.toString(), "--repeats", "" + repeats)
            .redirectErrorStream(true)
            .start();
    Thread copier =
        Thread.ofPlatform()
            .start(
                () -> {
                  try (BufferedReader reader =
                      new BufferedReader(
                          new InputStreamReader(
                              process.getInputStream(), StandardCharsets.UTF_8))) {
                    reader.lines().forEach(System.out::println);
                  } catch (IOException e) {
                    System.out.println("cannot read the pandas output: " + e.getMessage());
                  }
                });
    if (!process.waitFor(timeout, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      System.out.println("pandas timed out after " + timeout + " s and was stopped");
    }
    copier.join();
    System.out.println("pandas exit code: " + process.exitValue());
  }

  /**
   * Times the sketch profile of the file and prints the serialized size of each column, then of a
   * profile of 1,000 double columns of 100,000 random values each.
   */
  static void profileSizes(Path parquet, int threads) throws SQLException {
    System.out.println("== profile sketches (ProfileBuilder.ofParquet, ProfileCodec)");
    DatasetProfile profile = null;
    for (int repeat = 1; repeat <= 3; repeat++) {
      CpuUsage before = CpuUsage.now();
      long started = System.nanoTime();
      profile = ProfileBuilder.ofParquet(parquet, threads);
      System.out.printf(
          Locale.ROOT,
          "profile of %d rows, repeat %d: %.3f s, other CPUs %.2f%n",
          profile.rows(),
          repeat,
          (System.nanoTime() - started) / 1e9,
          CpuUsage.otherCores(before, CpuUsage.now()));
    }
    for (ColumnSketch column : profile.columns()) {
      System.out.printf(
          Locale.ROOT,
          "  %-12s %-9s %,8d bytes%n",
          column.name(),
          column.type().name().toLowerCase(Locale.ROOT),
          ProfileCodec.encodedSize(column));
    }
    System.out.printf(
        Locale.ROOT, "  whole profile: %,d bytes%n", ProfileCodec.encode(profile).length);

    Random random = new Random(42);
    List<ColumnSketch> wide = new ArrayList<>();
    Runtime runtime = Runtime.getRuntime();
    System.gc();
    long heapBefore = runtime.totalMemory() - runtime.freeMemory();
    for (int c = 0; c < 1000; c++) {
      ColumnSketch sketch = new ColumnSketch("x" + c, ColumnType.DOUBLE);
      for (int i = 0; i < 100_000; i++) {
        sketch.addDouble(random.nextGaussian() * (c + 1));
      }
      wide.add(sketch);
    }
    System.gc();
    long heapAfter = runtime.totalMemory() - runtime.freeMemory();
    byte[] encoded = ProfileCodec.encode(new DatasetProfile(100_000, wide));
    System.out.printf(
        Locale.ROOT,
        "1,000 double columns of 100,000 values: serialized %,d bytes (%,d per column),"
            + " heap after GC about %.1f MB%n",
        encoded.length,
        encoded.length / 1000,
        (heapAfter - heapBefore) / 1e6);
  }

  private static String literal(Path path) {
    return "'" + path.toAbsolutePath().toString().replace("'", "''") + "'";
  }
}
