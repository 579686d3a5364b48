package dev.evergreen.cli;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.validation.FeatureDrift;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.deployment.ServingState;
import dev.evergreen.core.pipeline.RegisteredPipeline;
import dev.evergreen.core.security.IssuedToken;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Feeds the flight data through a server's landing folder month by month and prints one table row
 * per batch. One batch is a real month with its {@code distance} column corrupted, so validation
 * rejects it and the champion keeps serving.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Start a server on a fresh data directory, feed real US flight data (January to June 2001)"
          + " through the landing folder in monthly batches, and print what each batch did.",
      "The server stays up at the end, with a curl command for the inference endpoint."
    })
final class DemoCommand implements Callable<Integer> {
  private static final String MODEL = "flights-delay";
  private static final String[] MONTHS = {"01", "02", "03", "04", "05", "06"};

  /** Month whose copy with a corrupted column is fed before the real one. */
  private static final String CORRUPTED_MONTH = "04";

  @Option(
      names = "--home",
      defaultValue = "demo-home",
      paramLabel = "DIR",
      description =
          "Data directory, emptied first; the demo refuses a directory that a running server"
              + " uses (default: ${DEFAULT-VALUE}).")
  Path home;

  @Option(
      names = "--pipeline",
      paramLabel = "FILE",
      defaultValue = "examples/flights-delay/pipeline.yaml",
      description =
          "Pipeline file, copied into HOME/pipelines so the demo uses its own landing folder"
              + " (default: ${DEFAULT-VALUE}).")
  Path pipeline;

  @Option(
      names = "--flights",
      paramLabel = "FILE",
      defaultValue = "data/flights/flights-3m.parquet",
      description = "Flight data (default: ${DEFAULT-VALUE}).")
  Path flights;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      defaultValue = "8080",
      description = "HTTP port of the server (default: ${DEFAULT-VALUE}; 0 picks a free port).")
  int port;

  @Option(
      names = "--verbose",
      description = "Print the server's INFO logs; by default the demo shows warnings only.")
  boolean verbose;

  @Option(
      names = "--exit",
      description = "Stop the server after the last batch instead of keeping it up.")
  boolean exit;

  @Override
  public Integer call() throws Exception {
    if (!verbose) {
      ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME))
          .setLevel(ch.qos.logback.classic.Level.WARN);
    }
    requireFile(flights, "the flight data; run the demo from the repository root");
    requireFile(pipeline, "the demo pipeline; run the demo from the repository root");
    requirePortFree();
    resetHome();
    // The demo runs a copy of the pipeline inside its home, so its landing folder is the demo's
    // own and files in the original pipeline's landing folder are left alone. A later
    // `evergreen server --home` picks the copy up from HOME/pipelines.
    Path pipelines = Files.createDirectories(home.resolve("pipelines"));
    Path pipelineCopy = pipelines.resolve(MODEL + ".yaml");
    Files.copy(pipeline, pipelineCopy);
    Path batches = home.resolve("batches");
    Files.createDirectories(batches);
    System.out.println("Splitting " + flights + " into monthly batches ...");
    List<Path> files = writeBatches(batches);

    ServerRuntime runtime =
        ServerRuntime.start(
            home,
            "127.0.0.1",
            port,
            List.of(),
            System.getenv(ServerCommand.ENV_ADMIN_TOKEN),
            Duration.ofMillis(200));
    try {
      Evergreen evergreen = runtime.evergreen();
      RegisteredPipeline registered = evergreen.pipelines().list().get(0);
      Path landing = registered.landingFolder();
      Files.createDirectories(landing);
      runtime
          .createdAdminSecret()
          .ifPresent(s -> System.out.println("Admin token (shown once): " + s));
      System.out.println("Server on http://127.0.0.1:" + runtime.port() + ", watching " + landing);
      System.out.println();
      printHeader();
      for (Path batch : files) {
        Run run = feed(evergreen, batch, landing);
        printRow(evergreen, batch, run);
      }
      System.out.println();
      IssuedToken viewer =
          evergreen
              .tokens()
              .create("demo-viewer", dev.evergreen.api.security.Role.VIEWER, Main.actor());
      printCurl(runtime.port(), viewer.secret());
      System.out.println();
      System.out.println(
          "The demo's data directory is "
              + home
              + "; pass --home "
              + home
              + " to other commands, for example: java -jar cli/target/evergreen.jar models"
              + " history "
              + MODEL
              + " --home "
              + home);
      if (exit) {
        return 0;
      }
      System.out.println();
      System.out.println("The server keeps running; stop it with Ctrl-C.");
      CountDownLatch forever = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(forever::countDown));
      forever.await();
      return 0;
    } finally {
      runtime.close();
    }
  }

  private static void requireFile(Path file, String contents) {
    if (!Files.isRegularFile(file)) {
      throw EvergreenException.invalid(
          "file " + file.toAbsolutePath() + " not found; it contains " + contents);
    }
  }

  /** Fails before anything is deleted when the port is taken, as by a demo still running. */
  private void requirePortFree() {
    if (port == 0) {
      return;
    }
    try (ServerSocket probe = new ServerSocket()) {
      probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    } catch (IOException e) {
      throw new EvergreenException(
          ErrorKind.CONFLICT,
          "port "
              + port
              + " on 127.0.0.1 is in use, perhaps by a demo that is still running; stop it or"
              + " pass another --port");
    }
  }

  /**
   * Empties the demo's data directory, rejecting folders that are not an Evergreen home and homes
   * that a running server uses.
   */
  private void resetHome() throws IOException {
    if (!Files.exists(home)) {
      return;
    }
    if (ServerLock.isHeld(home)) {
      throw new EvergreenException(
          ErrorKind.CONFLICT,
          "a server is running on "
              + home.toAbsolutePath()
              + ", so the demo will not empty it; stop that server or pass another --home");
    }
    if (!Files.exists(home.resolve("metadata.db"))) {
      try (Stream<Path> entries = Files.list(home)) {
        if (entries.findAny().isPresent()) {
          throw EvergreenException.invalid(
              "--home "
                  + home
                  + " is not empty and not an Evergreen data directory; pick another"
                  + " folder");
        }
      }
    }
    deleteTree(home);
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path path : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    }
  }

  private List<Path> writeBatches(Path folder) throws SQLException {
    List<Path> files = new ArrayList<>();
    try (Connection duckdb = DriverManager.getConnection("jdbc:duckdb:");
        Statement statement = duckdb.createStatement()) {
      statement.execute("SET threads = 2");
      String source =
          "read_parquet('" + flights.toAbsolutePath().toString().replace("'", "''") + "')";
      for (String month : MONTHS) {
        String where =
            "date >= TIMESTAMP '2001-"
                + month
                + "-01' AND date < TIMESTAMP '2001-"
                + month
                + "-01' + INTERVAL 1 MONTH";
        if (month.equals(CORRUPTED_MONTH)) {
          // The same real month with every distance lost, as a broken upstream join would leave it.
          Path corrupted = folder.resolve("2001-" + month + "-corrupted.parquet");
          statement.execute(
              "COPY (SELECT date, delay, CAST(NULL AS "
                  + "BIGINT) AS distance, origin, destination FROM "
                  + source
                  + " WHERE "
                  + where
                  + ") TO '"
                  + corrupted
                  + "' (FORMAT parquet)");
          files.add(corrupted);
        }
        Path batch = folder.resolve("2001-" + month + ".parquet");
        statement.execute(
            "COPY (SELECT * FROM "
                + source
                + " WHERE "
                + where
                + ") TO '"
                + batch
                + "' (FORMAT parquet)");
        files.add(batch);
      }
    }
    return files;
  }

  /** Renames a batch into the landing folder and waits for the run it starts. */
  private static Run feed(Evergreen evergreen, Path batch, Path landing)
      throws IOException, InterruptedException {
    Path part = landing.resolve(batch.getFileName() + ".part");
    Path target = landing.resolve(batch.getFileName());
    // The watcher changes a run's source to the file's path under processed/ once it moves the
    // file, so the run of this batch is the one run that did not exist before it landed.
    Set<String> earlier =
        evergreen.store().listRuns(null, Integer.MAX_VALUE).stream()
            .map(Run::id)
            .collect(Collectors.toSet());
    Files.copy(batch, part, StandardCopyOption.REPLACE_EXISTING);
    Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
    long deadline = System.nanoTime() + Duration.ofMinutes(15).toNanos();
    while (System.nanoTime() < deadline) {
      Optional<Run> run =
          evergreen.store().listRuns(null, 20).stream()
              .filter(r -> !earlier.contains(r.id()) && r.status().isTerminal())
              .findFirst();
      if (run.isPresent()) {
        return run.get();
      }
      Thread.sleep(200);
    }
    throw new EvergreenException(
        ErrorKind.INTERNAL,
        "no run finished for " + target + " within 15 minutes; see the server log");
  }

  private static void printHeader() {
    System.out.printf(
        "%-27s %-12s %8s %-9s %-22s %7s %10s %10s %-14s %s%n",
        "batch",
        "snapshot",
        "rows",
        "verdict",
        "largest PSI",
        "train s",
        "chall. AUC",
        "champ. AUC",
        "decision",
        "serving");
  }

  private static void printRow(Evergreen evergreen, Path batch, Run run) {
    Snapshot snapshot =
        run.snapshotId() == null
            ? null
            : evergreen.store().findSnapshot(run.snapshotId()).orElse(null);
    ValidationReport report = evergreen.store().findValidationReport(run.id()).orElse(null);
    String verdict = report == null ? "error" : report.accepted() ? "accepted" : "REJECTED";
    String psi =
        report == null
            ? "-"
            : report.largestDrift().map(DemoCommand::describe).orElse("- (reference)");
    Optional<ServingState> serving = evergreen.deployments().serving(MODEL);
    System.out.printf(
        "%-27s %-12s %8s %-9s %-22s %7s %10s %10s %-14s %s%n",
        batch.getFileName(),
        snapshot == null ? "-" : snapshot.shortId(),
        snapshot == null ? "-" : Long.toString(snapshot.profile().rowCount()),
        verdict,
        psi,
        number(run.stepSeconds().get("train"), "%.1f"),
        number(run.metrics().get("auc"), "%.4f"),
        number(run.metrics().get("champion_auc"), "%.4f"),
        run.outcome().name().toLowerCase(Locale.ROOT),
        serving.map(s -> "v" + s.active().version()).orElse("none"));
    if (report != null && !report.accepted()) {
      System.out.println(
          "    ^ this batch is the real "
              + batch.getFileName().toString().substring(0, 7)
              + " data with its distance column deliberately set to null; "
              + report.errors().get(0).describe());
    }
  }

  private static String describe(FeatureDrift drift) {
    return String.format(Locale.ROOT, "%.3f %s", drift.psi(), drift.feature());
  }

  private static String number(Double value, String format) {
    return value == null || value.isNaN() ? "-" : String.format(Locale.ROOT, format, value);
  }

  private static void printCurl(int port, String token) throws IOException, InterruptedException {
    String body =
        "{\"id\":\"demo-1\",\"inputs\":["
            + "{\"name\":\"date\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"2001-06-15T17:30:00\"]},"
            + "{\"name\":\"distance\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[1846]},"
            + "{\"name\":\"origin\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"ORD\"]},"
            + "{\"name\":\"destination\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"LAX\"]}]}";
    String url = "http://127.0.0.1:" + port + "/v2/models/" + MODEL + "/infer";
    System.out.println(
        "Try the model (probability that the flight arrives more than 15 minutes late), with a"
            + " token of role viewer created for this command:");
    System.out.println(
        "curl -s -H 'Authorization: Bearer "
            + token
            + "' -H 'Content-Type: application/json' \\\n  -d '"
            + body
            + "' \\\n  "
            + url);
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(url))
                    .header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    System.out.println("Response (" + response.statusCode() + "): " + response.body());
  }
}
