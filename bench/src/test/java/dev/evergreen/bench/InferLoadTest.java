package dev.evergreen.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InferLoadTest {
  private static final Pattern RESULT =
      Pattern.compile(
          "RESULT \\S+ target=(\\d+) achieved=\\d+ req/s completed=(\\d+)/(\\d+)"
              + " errors=(\\d+) p50=([0-9.]+) .*");

  @TempDir Path dir;

  private HttpServer server;
  private final AtomicInteger received = new AtomicInteger();
  private Path body;

  @BeforeEach
  void startServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/fixed", exchange -> answer(exchange, 200, false));
    server.createContext("/chunked", exchange -> answer(exchange, 200, true));
    server.createContext("/failing", exchange -> answer(exchange, 500, false));
    server.start();
    body = Files.writeString(dir.resolve("body.json"), "{\"inputs\":[]}");
  }

  @AfterEach
  void stopServer() {
    server.stop(0);
  }

  private void answer(HttpExchange exchange, int status, boolean chunked) throws IOException {
    byte[] request = exchange.getRequestBody().readAllBytes();
    received.incrementAndGet();
    byte[] response =
        ("{\"received\":" + request.length + ",\"padding\":\"" + "x".repeat(3000) + "\"}")
            .getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, chunked ? 0 : response.length);
    try (OutputStream out = exchange.getResponseBody()) {
      // Two writes make at least two chunks when the body is chunked.
      out.write(response, 0, 100);
      out.flush();
      out.write(response, 100, response.length - 100);
    }
  }

  private String run(String path, String... extra) throws Exception {
    List<String> args =
        new java.util.ArrayList<>(
            List.of(
                "--url",
                "http://127.0.0.1:" + server.getAddress().getPort() + path,
                "--body",
                body.toString(),
                "--rate",
                "200",
                "--seconds",
                "1",
                "--warmup-seconds",
                "1",
                "--connections",
                "4",
                "--token-env",
                "-"));
    args.addAll(List.of(extra));
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      InferLoad.main(args.toArray(String[]::new));
    } finally {
      System.setOut(original);
    }
    return captured.toString(StandardCharsets.UTF_8);
  }

  private static Matcher result(String output) {
    Matcher matcher =
        output.lines().map(RESULT::matcher).filter(Matcher::matches).findFirst().orElseThrow();
    return matcher;
  }

  @Test
  void runRecordsEveryMeasuredRequestWithContentLength() throws Exception {
    String output = run("/fixed");

    Matcher result = result(output);
    assertThat(result.group(2)).isEqualTo("200");
    assertThat(result.group(3)).isEqualTo("200");
    assertThat(result.group(4)).isEqualTo("0");
    assertThat(Double.parseDouble(result.group(5))).isPositive();
    // The warm-up's 200 requests are sent too, but not recorded.
    assertThat(received.get()).isEqualTo(400);
    assertThat(output).contains("first response: 200 {\"received\":13,");
  }

  @Test
  void runReadsChunkedResponses() throws Exception {
    Matcher result = result(run("/chunked"));

    assertThat(result.group(2)).isEqualTo("200");
    assertThat(result.group(4)).isEqualTo("0");
    assertThat(received.get()).isEqualTo(400);
  }

  @Test
  void runCountsErrorStatusesAsErrors() throws Exception {
    Matcher result = result(run("/failing"));

    assertThat(result.group(2)).isEqualTo("200");
    assertThat(result.group(4)).isEqualTo("200");
  }

  @Test
  void runWritesOneSampleLinePerRecordedRequest() throws Exception {
    Path samples = dir.resolve("samples.csv");

    run("/fixed", "--samples", samples.toString());

    List<String> lines = Files.readAllLines(samples);
    assertThat(lines.getFirst()).isEqualTo("scheduled_ns,send_lag_ns,latency_ns,connection");
    assertThat(lines).hasSize(201);
    String[] first = lines.get(1).split(",");
    long scheduled = Long.parseLong(first[0]);
    long lag = Long.parseLong(first[1]);
    long latency = Long.parseLong(first[2]);
    assertThat(scheduled).isGreaterThanOrEqualTo(1_000_000_000L);
    assertThat(lag).isBetween(0L, latency);
    assertThat(Integer.parseInt(first[3])).isBetween(0, 3);
  }

  @Test
  void mainRejectsHostThatIsNotLoopback() {
    assertThatThrownBy(
            () ->
                InferLoad.main(
                    new String[] {
                      "--url",
                      "http://192.0.2.1:8080/x",
                      "--body",
                      body.toString(),
                      "--token-env",
                      "-"
                    }))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a loopback address");
  }
}
