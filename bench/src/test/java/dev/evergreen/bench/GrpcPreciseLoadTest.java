package dev.evergreen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.PipelineSpecs;
import dev.evergreen.api.security.Role;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.training.DatasetLoader;
import dev.evergreen.core.training.ModelBundles;
import dev.evergreen.core.training.TrainedModel;
import dev.evergreen.core.training.TrainingData;
import dev.evergreen.core.training.XgboostTrainer;
import dev.evergreen.server.EvergreenServer;
import dev.evergreen.server.ServerOptions;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs GrpcPreciseLoad against a real Evergreen server with its gRPC service on an ephemeral
 * loopback port, serving an XGBoost model trained on 20,000 January 2001 flights.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GrpcPreciseLoadTest {
  private static final String MODEL = "flights-delay";
  private static final Pattern RESULT =
      Pattern.compile(
          "RESULT \\S+ target=(\\d+) achieved=\\d+ req/s completed=(\\d+)/(\\d+)"
              + " errors=(\\d+) p50=([0-9.]+) .*");
  private static final Pattern HTTP2 =
      Pattern.compile(
          "http2: (\\d+) DATA bytes received on (\\d+) connections, (\\d+) WINDOW_UPDATE frames"
              + " sent, \\d+ PINGs acknowledged");

  /** Two flights from March 2001 as a V2 REST body, the format InferBodies writes. */
  private static final String BODY =
      "{\"inputs\":["
          + "{\"name\":\"date\",\"shape\":[2],\"datatype\":\"BYTES\","
          + "\"data\":[\"2001-03-01T08:05:00\",\"2001-03-02T17:40:00\"]},"
          + "{\"name\":\"distance\",\"shape\":[2],\"datatype\":\"FP64\",\"data\":[2419.0,584.0]},"
          + "{\"name\":\"origin\",\"shape\":[2],\"datatype\":\"BYTES\",\"data\":[\"JFK\",\"ORD\"]},"
          + "{\"name\":\"destination\",\"shape\":[2],\"datatype\":\"BYTES\","
          + "\"data\":[\"SFO\",\"ATL\"]}]}";

  private Evergreen evergreen;
  private EvergreenServer server;
  private String token;
  private Path body;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    Path root = repositoryRoot();
    Path subset =
        FlightSubsets.monthRows(
            root.resolve("data/flights/flights-3m.parquet"),
            LocalDate.of(2001, 1, 1),
            20_000,
            dir.resolve("2001-01.parquet"));

    PipelineSpec spec = PipelineSpecs.load(root.resolve("examples/flights-delay/pipeline.yaml"));
    evergreen = Homes.open(dir.resolve("home"));
    TrainingData data = DatasetLoader.load(subset, spec, 1);
    TrainedModel trained = new XgboostTrainer().train(data, spec.trainer());
    ModelBundles.StoredBundle bundle =
        ModelBundles.store(evergreen.artifacts(), trained, data, spec.trainer());
    evergreen
        .registry()
        .register(
            new ModelVersion(
                MODEL,
                0,
                bundle.manifestKey(),
                bundle.modelSha256(),
                null,
                null,
                Map.of("auc", 0.7),
                null,
                Instant.now()),
            "test");

    evergreen.registry().moveAlias(MODEL, Aliases.CHAMPION, 1, "test", "first version");
    token = evergreen.tokens().create("load-test", Role.VIEWER, "test").secret();

    server = EvergreenServer.start(evergreen, new ServerOptions("127.0.0.1", 0, 1).withGrpcPort(0));
    awaitModelReady();
    body = Files.writeString(dir.resolve("body.json"), BODY);
  }

  @AfterAll
  void stop() {
    if (server != null) {
      server.close();
    }
    if (evergreen != null) {
      evergreen.close();
    }
  }

  private static Path repositoryRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isDirectory(dir.resolve("data/flights"))) {
      dir = dir.getParent();
    }
    assertThat(dir).as("repository root with data/flights above the working directory").isNotNull();
    return dir;
  }

  /** Waits until the champion is deployed, which the server does after it starts listening. */
  private void awaitModelReady() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpRequest ready =
        HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + server.port() + "/v2/models/" + MODEL + "/ready"))
            .header("Authorization", "Bearer " + token)
            .timeout(Duration.ofSeconds(10))
            .build();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      if (http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("model " + MODEL + " was not ready within 60 s");
  }

  private String run(String... options) throws Exception {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--port",
                Integer.toString(server.grpcPort()),
                "--body",
                body.toString(),
                "--token-env",
                "TEST_TOKEN"));
    args.addAll(List.of(options));
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      GrpcPreciseLoad.run(args.toArray(String[]::new), Map.of("TEST_TOKEN", token));
    } finally {
      System.setOut(original);
    }
    return captured.toString(StandardCharsets.UTF_8);
  }

  private static Matcher line(Pattern pattern, String output) {
    return output
        .lines()
        .map(pattern::matcher)
        .filter(Matcher::matches)
        .findFirst()
        .orElseThrow(() -> new AssertionError("no line matching " + pattern + " in\n" + output));
  }

  @Test
  void runCompletesEveryScheduledCall() throws Exception {
    String output =
        run("--rate", "200", "--seconds", "1", "--warmup-seconds", "1", "--connections", "4");

    Matcher result = line(RESULT, output);
    assertThat(result.group(1)).isEqualTo("200");
    assertThat(result.group(2)).as(output).isEqualTo("200");
    assertThat(result.group(3)).isEqualTo("200");
    assertThat(result.group(4)).as(output).isEqualTo("0");
    assertThat(Double.parseDouble(result.group(5))).isPositive();
    assertThat(output).contains("first response: HTTP 200, grpc-status 0, model flights-delay");
    assertThat(output).contains("output probability shape [2]");
    assertThat(output).containsPattern("send lag: n=200 ");
    assertThat(output).contains("other processes (not this generator) used");
  }

  @Test
  void runCountsUnknownModelAsError() throws Exception {
    String output =
        run(
            "--model",
            "no-such-model",
            "--rate",
            "100",
            "--seconds",
            "1",
            "--warmup-seconds",
            "0",
            "--connections",
            "2");

    Matcher result = line(RESULT, output);
    assertThat(result.group(2)).as(output).isEqualTo("100");
    assertThat(result.group(4)).as(output).isEqualTo("100");
    // NOT_FOUND is gRPC status code 5.
    assertThat(output).contains("first failed response: HTTP 200, grpc-status 5");
    assertThat(output).contains("'model 'no-such-model'");
  }

  @Test
  void grpcMessageIsPercentDecoded() {
    assertThat(GrpcPreciseLoad.percentDecoded("model%20%27x%27 is 100%25 a+b %C3%A9 %zz"))
        .isEqualTo("model 'x' is 100% a+b \u00e9 %zz");
  }

  @Test
  void runKeepsConnectionWindowOpenBeyondInitialWindow() throws Exception {
    String output =
        run("--rate", "1000", "--seconds", "2", "--warmup-seconds", "0", "--connections", "1");

    Matcher result = line(RESULT, output);
    assertThat(result.group(2)).as(output).isEqualTo("2000");
    assertThat(result.group(4)).as(output).isEqualTo("0");
    Matcher http2 = line(HTTP2, output);
    // More DATA than the 65,535-byte initial window of RFC 9113 arrived on one connection, which
    // the server could send only after this client's WINDOW_UPDATE frames.
    assertThat(Long.parseLong(http2.group(1))).isGreaterThan(65_535L);
    assertThat(http2.group(2)).isEqualTo("1");
    assertThat(Long.parseLong(http2.group(3))).isPositive();
  }

  @Test
  void runWritesOneSampleLinePerRecordedCall() throws Exception {
    Path samples = body.resolveSibling("samples.csv");

    run(
        "--rate",
        "100",
        "--seconds",
        "1",
        "--warmup-seconds",
        "0",
        "--connections",
        "2",
        "--samples",
        samples.toString());

    List<String> lines = Files.readAllLines(samples);
    assertThat(lines.getFirst()).isEqualTo("scheduled_ns,send_lag_ns,latency_ns,connection");
    assertThat(lines).hasSize(101);
    String[] first = lines.get(1).split(",");
    assertThat(Long.parseLong(first[1])).isBetween(0L, Long.parseLong(first[2]));
    assertThat(Integer.parseInt(first[3])).isBetween(0, 1);
  }
}
