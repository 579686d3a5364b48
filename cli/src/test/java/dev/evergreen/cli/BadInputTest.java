package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.TestData;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Malformed batches through {@code evergreen run}: each is rejected with an error naming the file
 * and the line or column, and stores no snapshot and no model, and loses nothing stored before.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputTest {
  private static final String HEADER = "date,delay,distance,origin,destination\n";

  @TempDir static Path work;

  private Path home;
  private Path pipeline;
  private String goodRows;

  @BeforeAll
  void trainChampion() throws Exception {
    home = work.resolve("home");
    pipeline = FlightBatches.pipeline(work.resolve("pipeline"), 10);
    Path good = work.resolve("good.csv");
    try (Connection duckdb = DriverManager.getConnection("jdbc:duckdb:");
        Statement statement = duckdb.createStatement()) {
      statement.execute(
          "COPY (SELECT strftime(date, '%Y-%m-%d %H:%M:%S') AS date, delay, distance, origin,"
              + " destination FROM read_parquet('"
              + TestData.flights()
              + "') LIMIT 8000) TO '"
              + good
              + "' (HEADER, DELIMITER ',')");
    }
    List<String> lines = Files.readAllLines(good);
    goodRows = String.join("\n", lines.subList(1, 200)) + "\n";
    assertThat(ContinuousTrainingLoopTest.run(pipeline, good, home)).isZero();
  }

  static Stream<Arguments> badFiles() {
    return Stream.of(
        Arguments.of("ragged.csv", "extra field", "line"),
        Arguments.of("unclosed-quote.csv", "unclosed quote", "line"),
        Arguments.of("empty.csv", "empty file", "empty"),
        Arguments.of("header-only.csv", "header only", "no data rows"),
        Arguments.of("no-label.csv", "missing label column", "delay"),
        Arguments.of("wrong-type.csv", "text in an integer column", "delay"),
        Arguments.of("huge-field.csv", "10 MB field", "line"),
        Arguments.of("latin1.csv", "not UTF-8", "line"));
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("badFiles")
  void badBatchIsRejectedAndStoresNothing(String name, String description, String mentions)
      throws Exception {
    Path file = write(name);
    long artifactsBefore = countArtifacts();
    int versionsBefore;
    int championBefore;
    long auditBefore;
    try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry())) {
      versionsBefore = evergreen.registry().versions("flights-delay").size();
      championBefore = evergreen.registry().aliases("flights-delay").get(Aliases.CHAMPION);
      auditBefore = evergreen.verifyAudit().entries();
    }

    int exit = ContinuousTrainingLoopTest.run(pipeline, file, home);

    assertThat(exit).as(description).isEqualTo(RunOutcome.REJECTED.exitCode());
    assertThat(countArtifacts()).as("artifacts after " + description).isEqualTo(artifactsBefore);
    try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry())) {
      Run run = evergreen.store().listRuns("flights-delay", 1).get(0);
      assertThat(run.snapshotId()).isNull();
      assertThat(run.reason()).contains(name);
      assertThat(run.reason().toLowerCase()).contains(mentions.toLowerCase());
      assertThat(evergreen.registry().versions("flights-delay")).hasSize(versionsBefore);
      assertThat(evergreen.registry().aliases("flights-delay"))
          .containsEntry(Aliases.CHAMPION, championBefore);
      assertThat(evergreen.verifyAudit().intact()).isTrue();
      assertThat(evergreen.verifyAudit().entries()).isGreaterThan(auditBefore);
    }
  }

  @Test
  void missingDataFileFailsWithoutRun() throws Exception {
    int runsBefore = runCount();

    Result result =
        capture("run", pipeline.toString(), "--data", "no-such.csv", "--home", "" + home);

    assertThat(result.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(result.err()).contains("no-such.csv").contains("does not exist");
    assertThat(runCount()).isEqualTo(runsBefore);
  }

  @Test
  void runWithoutDataIsUsageError() throws Exception {
    Result result = capture("run", pipeline.toString(), "--home", home.toString());

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err()).contains("no source.file").contains("--data");
  }

  @Test
  void runUsesSourceFileWhenDataIsOmitted() throws Exception {
    Path folder = work.resolve("with-file");
    Files.createDirectories(folder);
    Files.copy(work.resolve("good.csv"), folder.resolve("batch.csv"));
    String text =
        Files.readString(pipeline)
            .replace("  landing: landing\n", "  file: batch.csv\n")
            .replace("name: flights-delay", "name: flights-from-file");
    Path withFile = Files.writeString(folder.resolve("pipeline.yaml"), text);
    Path otherHome = work.resolve("home-file");

    int exit = Main.execute("run", withFile.toString(), "--home", otherHome.toString());

    assertThat(exit).isEqualTo(RunOutcome.PROMOTED.exitCode());
    try (Evergreen evergreen = Home.open(otherHome, new SimpleMeterRegistry())) {
      Run run = evergreen.store().listRuns("flights-from-file", 1).get(0);
      assertThat(run.source()).isEqualTo(folder.resolve("batch.csv").toAbsolutePath().toString());
    }
  }

  @Test
  void missingPseudonymKeyFailsRunInsteadOfRejecting() throws Exception {
    Path folder = work.resolve("pii");
    Files.createDirectories(folder);
    StringBuilder rows = new StringBuilder(HEADER.strip()).append(",passenger\n");
    int index = 0;
    for (String line : goodRows.split("\n")) {
      rows.append(line).append(",p").append(index++).append('\n');
    }
    Path data = Files.writeString(folder.resolve("passengers.csv"), rows);
    String text =
        Files.readString(pipeline)
            .replace("name: flights-delay", "name: flights-pii")
            .replace("data:\n", "data:\n  personalData:\n    passenger: direct_identifier\n");
    Path pii = Files.writeString(folder.resolve("pipeline.yaml"), text);
    Path piiHome = work.resolve("home-pii");
    assertThat(System.getenv(Home.ENV_PSEUDONYM_KEY)).as("test needs the key unset").isNull();

    int exit = ContinuousTrainingLoopTest.run(pii, data, piiHome);

    assertThat(exit).isEqualTo(RunOutcome.FAILED.exitCode());
    try (Evergreen evergreen = Home.open(piiHome, new SimpleMeterRegistry())) {
      Run run = evergreen.store().listRuns("flights-pii", 1).get(0);
      assertThat(run.outcome()).isEqualTo(RunOutcome.FAILED);
      assertThat(run.reason()).contains(Home.ENV_PSEUDONYM_KEY).contains("passenger");
      assertThat(run.snapshotId()).isNull();
    }
  }

  private record Result(int exitCode, String out, String err) {}

  private static Result capture(String... args) {
    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    picocli.CommandLine line = Main.commandLine();
    line.setOut(new java.io.PrintWriter(out, true));
    line.setErr(new java.io.PrintWriter(err, true));
    int exit = line.execute(args);
    return new Result(exit, out.toString(), err.toString());
  }

  private int runCount() throws IOException {
    try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry())) {
      return evergreen.store().listRuns("flights-delay", 1_000).size();
    }
  }

  private Path write(String name) throws IOException {
    Path file = work.resolve("bad").resolve(name);
    Files.createDirectories(file.getParent());
    switch (name) {
      case "ragged.csv" ->
          Files.writeString(file, HEADER + goodRows + "2001-01-02 10:00:00,5,300,ORD,LGA,EXTRA\n");
      case "unclosed-quote.csv" ->
          Files.writeString(file, HEADER + goodRows + "2001-01-02 10:00:00,5,300,\"ORD,LGA\n");
      case "empty.csv" -> Files.write(file, new byte[0]);
      case "header-only.csv" -> Files.writeString(file, HEADER);
      case "no-label.csv" -> {
        StringBuilder out = new StringBuilder("date,distance,origin,destination\n");
        for (String line : goodRows.split("\n")) {
          String[] fields = line.split(",");
          out.append(fields[0])
              .append(',')
              .append(fields[2])
              .append(',')
              .append(fields[3])
              .append(',')
              .append(fields[4])
              .append('\n');
        }
        Files.writeString(file, out);
      }
      case "wrong-type.csv" ->
          Files.writeString(file, HEADER + goodRows + "2001-01-02 10:00:00,abc,300,ORD,LGA\n");
      case "huge-field.csv" ->
          Files.writeString(
              file,
              HEADER
                  + goodRows
                  + "2001-01-02 10:00:00,5,300,"
                  + "X".repeat(10 * 1024 * 1024)
                  + ",LGA\n");
      case "latin1.csv" -> {
        List<byte[]> parts = new ArrayList<>();
        parts.add((HEADER + goodRows).getBytes(StandardCharsets.UTF_8));
        parts.add("2001-01-02 10:00:00,5,300,S\u00e3o,LGA\n".getBytes(StandardCharsets.ISO_8859_1));
        try (var out = Files.newOutputStream(file)) {
          for (byte[] part : parts) {
            out.write(part);
          }
        }
      }
      default -> throw new IllegalArgumentException(name);
    }
    return file;
  }

  private long countArtifacts() throws IOException {
    Path root = home.resolve("artifacts").resolve("sha256");
    if (!Files.exists(root)) {
      return 0;
    }
    try (Stream<Path> files = Files.walk(root)) {
      return files.filter(Files::isRegularFile).count();
    }
  }
}
