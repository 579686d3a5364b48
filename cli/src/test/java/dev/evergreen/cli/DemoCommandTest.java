package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.core.Evergreen;
import dev.evergreen.core.TestData;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo command on a small sample of the flight data: every month runs through the landing
 * folder, the corrupted April batch is rejected, and the demo never touches a running server's data
 * directory or the original pipeline's landing folder.
 */
class DemoCommandTest {
  /** Flights per month in the sample; enough for the example pipeline's validation rules. */
  private static final int ROWS_PER_MONTH = 3_000;

  @TempDir static Path work;

  private static Path flights;
  private static Path pipeline;

  @BeforeAll
  static void writeSample() throws Exception {
    flights = work.resolve("flights-sample.parquet");
    try (Connection duckdb = DriverManager.getConnection("jdbc:duckdb:");
        Statement statement = duckdb.createStatement()) {
      statement.execute("SET threads = 1");
      statement.execute(
          String.format(
              "COPY (SELECT * FROM read_parquet('%s') WHERE month(date) <= 6"
                  + " QUALIFY row_number() OVER (PARTITION BY month(date) ORDER BY date) <= %d)"
                  + " TO '%s' (FORMAT parquet)",
              TestData.flights(), ROWS_PER_MONTH, flights));
    }
    Path folder = Files.createDirectories(work.resolve("example"));
    pipeline = folder.resolve("pipeline.yaml");
    Files.copy(TestData.repositoryRoot().resolve("examples/flights-delay/pipeline.yaml"), pipeline);
  }

  @Test
  void demoFeedsEveryMonthAndRejectsCorruptedBatch() throws Exception {
    Path landing = Files.createDirectories(pipeline.resolveSibling("landing"));
    Path unrelated = Files.writeString(landing.resolve("notes.txt"), "keep me");
    Path home = work.resolve("demo-home");

    Output result = demo(home, 0);

    assertThat(result.exitCode()).as(result.text()).isZero();
    List<String> rows = result.text().lines().filter(line -> line.startsWith("2001-")).toList();
    assertThat(rows).hasSize(7);
    assertThat(rows.get(3)).startsWith("2001-04-corrupted.parquet").contains("REJECTED");
    assertThat(result.text()).contains("distance column deliberately set to null");
    assertThat(result.text()).contains("Response (200)");
    assertThat(unrelated).hasContent("keep me");
    assertThat(home.resolve("pipelines/flights-delay.yaml")).exists();
    try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry())) {
      assertThat(evergreen.store().listRuns("flights-delay", 100)).hasSize(7);
      assertThat(evergreen.verifyAudit().intact()).isTrue();
    }
  }

  @Test
  void demoRefusesHomeOfRunningServer() throws Exception {
    Path home = work.resolve("served-home");
    try (ServerRuntime server =
        ServerRuntime.start(home, "127.0.0.1", 0, List.of(), null, Duration.ofSeconds(1))) {
      long entries = server.evergreen().verifyAudit().entries();

      Output result = demo(home, 0);

      assertThat(result.exitCode()).isEqualTo(Main.EXIT_FAILED);
      assertThat(result.text()).contains("a server is running on");
      assertThat(home.resolve("metadata.db")).exists();
      assertThat(server.evergreen().verifyAudit().entries()).isEqualTo(entries);
    }
  }

  @Test
  void demoChecksPortBeforeEmptyingHome() throws Exception {
    Path home = Files.createDirectories(work.resolve("port-home"));
    try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry())) {
      evergreen.tokens().bootstrapAdmin(null);
    }
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Output result = demo(home, taken.getLocalPort());

      assertThat(result.exitCode()).isEqualTo(Main.EXIT_FAILED);
      assertThat(result.text()).contains("port " + taken.getLocalPort()).contains("in use");
    }
    try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry())) {
      assertThat(evergreen.tokens().list()).hasSize(1);
    }
  }

  private record Output(int exitCode, String text) {}

  /** Runs the demo with standard output and error captured into one text. */
  private static Output demo(Path home, int port) {
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    PrintStream capture = new PrintStream(buffer, true, StandardCharsets.UTF_8);
    PrintStream out = System.out;
    PrintStream err = System.err;
    System.setOut(capture);
    System.setErr(capture);
    int exit;
    try {
      picocli.CommandLine line = Main.commandLine();
      line.setErr(new java.io.PrintWriter(capture, true));
      exit =
          line.execute(
              "demo",
              "--home",
              home.toString(),
              "--port",
              Integer.toString(port),
              "--flights",
              flights.toString(),
              "--pipeline",
              pipeline.toString(),
              "--exit");
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
    return new Output(exit, buffer.toString(StandardCharsets.UTF_8));
  }
}
