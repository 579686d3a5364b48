package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.core.Evergreen;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a server process with SIGKILL in the middle of a run and starts it again: the same champion
 * serves, the interrupted run is marked failed and the audit chain is intact.
 */
class ServerRestartTest {
  private static final Pattern LISTENING =
      Pattern.compile("serving on http://127\\.0\\.0\\.1:(\\d+)");
  private static final String ADMIN = "evg_restart_admin_secret";

  @TempDir Path work;

  @Test
  void killDuringRunKeepsChampion() throws Exception {
    Path home = work.resolve("home");
    Path pipeline = FlightBatches.pipeline(work.resolve("pipeline"), 400);
    Path batches = work.resolve("batches");
    Path small = FlightBatches.month(batches, 1, 10_000, null);
    Path large = FlightBatches.month(batches, 2, 200_000, null);
    Path quick = FlightBatches.pipeline(work.resolve("quick"), 10);
    assertThat(ContinuousTrainingLoopTest.run(quick, small, home)).isZero();
    int champion = ContinuousTrainingLoopTest.champion(home);

    Process first = startServer(home, pipeline);
    try {
      int port = awaitPort(first);
      Path landing = pipeline.resolveSibling("landing");
      Files.createDirectories(landing);
      Files.copy(large, landing.resolve("big.parquet.part"));
      Files.move(landing.resolve("big.parquet.part"), landing.resolve("big.parquet"));
      Run running = awaitTrainingStep(home);
      assertThat(running.status()).isEqualTo(RunStatus.RUNNING);
      assertThat(infer(port).statusCode()).isEqualTo(200);
    } finally {
      first.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }

    // The landing file is still there, so the restarted server would run it again; remove it to
    // check the interrupted run alone.
    Files.deleteIfExists(pipeline.resolveSibling("landing").resolve("big.parquet"));
    Process second = startServer(home, pipeline);
    try {
      int port = awaitPort(second);
      HttpResponse<String> response = infer(port);
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).contains("\"model_version\":\"" + champion + "\"");
      try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry())) {
        Run interrupted =
            evergreen.store().listRuns("flights-delay", 10).stream()
                .filter(r -> r.source().endsWith("big.parquet"))
                .findFirst()
                .orElseThrow();
        assertThat(interrupted.status()).isEqualTo(RunStatus.FAILED);
        assertThat(interrupted.outcome()).isEqualTo(RunOutcome.FAILED);
        assertThat(interrupted.reason()).contains("interrupted");
        assertThat(ContinuousTrainingLoopTest.champion(evergreen)).isEqualTo(champion);
        assertThat(evergreen.registry().versions("flights-delay")).hasSize(1);
        assertThat(evergreen.verifyAudit().intact()).isTrue();
      }
    } finally {
      second.destroy();
      second.waitFor(30, TimeUnit.SECONDS);
    }
    assertThat(Main.execute("audit", "verify", "--home", home.toString())).isZero();
  }

  private static Process startServer(Path home, Path pipeline) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("--enable-native-access=ALL-UNNAMED");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Main.class.getName());
    command.add("server");
    command.add("--home");
    command.add(home.toString());
    command.add("--port");
    command.add("0");
    command.add("--grpc-port");
    command.add("0");
    command.add("--pipeline");
    command.add(pipeline.toString());
    command.add("--poll-millis");
    command.add("100");
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("EVERGREEN_ADMIN_TOKEN", ADMIN);
    return builder.start();
  }

  private static int awaitPort(Process process) throws Exception {
    BufferedReader output =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    StringBuilder seen = new StringBuilder();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    String line;
    while (System.nanoTime() < deadline && (line = output.readLine()) != null) {
      seen.append(line).append('\n');
      Matcher matcher = LISTENING.matcher(line);
      if (matcher.find()) {
        Thread.ofPlatform().daemon().start(() -> drain(output));
        return Integer.parseInt(matcher.group(1));
      }
    }
    throw new AssertionError("server did not report its port; output:\n" + seen);
  }

  private static void drain(BufferedReader output) {
    try {
      while (output.readLine() != null) {
        // Keeps the pipe empty so the server never blocks on a full buffer.
      }
    } catch (java.io.IOException e) {
      // The process ended.
    }
  }

  private static Run awaitTrainingStep(Path home) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline) {
      try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry())) {
        Optional<Run> run =
            evergreen.store().listRuns("flights-delay", 10).stream()
                .filter(r -> r.source().endsWith("big.parquet"))
                .filter(r -> r.stepSeconds().containsKey("validate"))
                .findFirst();
        if (run.isPresent()) {
          return run.get();
        }
      }
      Thread.sleep(100);
    }
    throw new AssertionError("the run on big.parquet did not reach training within 120 s");
  }

  private static HttpResponse<String> infer(int port) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/v2/models/flights-delay/infer"))
                .header("Authorization", "Bearer " + ADMIN)
                .POST(HttpRequest.BodyPublishers.ofString(ContinuousTrainingLoopTest.INFER))
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }
}
