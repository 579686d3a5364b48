package dev.evergreen.bench;

import dev.evergreen.api.run.RunStatus;
import dev.evergreen.api.security.Role;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.tracking.LifecycleStage;
import dev.evergreen.core.tracking.MetricPoint;
import dev.evergreen.core.tracking.TrackedRun;
import dev.evergreen.server.EvergreenServer;
import dev.evergreen.server.ServerOptions;
import dev.evergreen.store.sqlite.SqliteMetadataStore;
import dev.evergreen.store.sqlite.SqliteTrackingStore;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Latency of the MLflow tracking API of an in-process server on 127.0.0.1, on a fresh home: {@code
 * runs/log-batch} with 10 and with 500 metrics, {@code runs/search} with a filter and an order over
 * many runs, and concurrent writers. Requests go over HTTP/1.1 from one {@link HttpClient}, as
 * MLflow's Python client sends them; each latency is the time from sending a request to reading its
 * whole response.
 */
public final class MlflowBenchmark {
  private static final String API = "/api/2.0/mlflow";
  private static final Pattern RUN_ID = Pattern.compile("\"run_id\"\\s*:\\s*\"([0-9a-f]{32})\"");
  private static final Pattern EXPERIMENT_ID =
      Pattern.compile("\"experiment_id\"\\s*:\\s*\"(\\d+)\"");

  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
  private final String url;
  private final String secret;

  private MlflowBenchmark(String url, String secret) {
    this.url = url;
    this.secret = secret;
  }

  /**
   * Options: {@code --home} (deleted first), {@code --calls} per log-batch size, {@code --warmup}
   * calls before each measurement, {@code --runs} to search, {@code --searches}, {@code
   * --max-results} per search, {@code --writers} and {@code --writes} per writer, {@code
   * --event-loops}.
   */
  public static void main(String[] args) throws Exception {
    Options options = new Options(args);
    Path home = options.path("home", "bench/target/mlflow-home");
    int calls = options.integer("calls", 1_000);
    int warmup = options.integer("warmup", 200);
    int runs = options.integer("runs", 100_000);
    int searches = options.integer("searches", 100);
    int maxResults = options.integer("max-results", 100);
    int writers = options.integer("writers", 64);
    int writes = options.integer("writes", 50);
    int eventLoops = options.integer("event-loops", 2);

    Homes.delete(home);
    try (Evergreen evergreen = Homes.open(home)) {
      String secret = evergreen.tokens().create("bench", Role.OPERATOR, "bench").secret();
      try (EvergreenServer server =
          EvergreenServer.start(evergreen, new ServerOptions("127.0.0.1", 0, eventLoops))) {
        MlflowBenchmark bench = new MlflowBenchmark("http://127.0.0.1:" + server.port(), secret);
        System.out.printf(
            Locale.ROOT,
            "server: 127.0.0.1:%d, %d event loops, home %s%n",
            server.port(),
            eventLoops,
            home);
        bench.logBatch(10, warmup, calls);
        bench.logBatch(500, warmup, calls);
        bench.concurrentWriters(writers, writes);
        String experimentId = bench.loadRuns(evergreen, runs);
        bench.search(experimentId, runs, "metrics.auc DESC", warmup / 10, searches, maxResults);
        bench.search(experimentId, runs, null, warmup / 10, searches, maxResults);
      }
    }
  }

  // log-batch

  private void logBatch(int metrics, int warmup, int calls) throws Exception {
    String runId = createRun("0");
    for (int i = 0; i < warmup; i++) {
      expectOk(post("/runs/log-batch", batch(runId, metrics, -1 - i)));
    }
    long[] nanos = new long[calls];
    for (int i = 0; i < calls; i++) {
      String body = batch(runId, metrics, i);
      long start = System.nanoTime();
      HttpResponse<String> response = post("/runs/log-batch", body);
      nanos[i] = System.nanoTime() - start;
      expectOk(response);
    }
    System.out.printf(
        Locale.ROOT,
        "log-batch %d metrics (distinct keys, one run): %s%n",
        metrics,
        Percentiles.of(nanos).summary(1e6, "ms"));
  }

  /** Returns a log-batch body with one point for each of {@code metrics} keys at a step. */
  private static String batch(String runId, int metrics, int step) {
    long now = System.currentTimeMillis();
    StringBuilder body = new StringBuilder(64 + metrics * 80);
    body.append("{\"run_id\": \"").append(runId).append("\", \"metrics\": [");
    for (int key = 0; key < metrics; key++) {
      if (key > 0) {
        body.append(", ");
      }
      body.append("{\"key\": \"metric_")
          .append(key)
          .append("\", \"value\": ")
          .append(0.001 * ((step * 31L + key) % 1000))
          .append(", \"timestamp\": ")
          .append(now)
          .append(", \"step\": ")
          .append(step)
          .append('}');
    }
    return body.append("]}").toString();
  }

  // Concurrent writers

  private void concurrentWriters(int writers, int writes) throws Exception {
    List<String> runIds = new ArrayList<>();
    for (int i = 0; i < writers; i++) {
      runIds.add(createRun("0"));
    }
    AtomicInteger errors = new AtomicInteger();
    AtomicInteger busy = new AtomicInteger();
    long[] nanos = new long[writers * writes];
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    long start = System.nanoTime();
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int writer = 0; writer < writers; writer++) {
        int index = writer;
        done.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < writes; i++) {
                    String body = batch(runIds.get(index), 10, i);
                    long sent = System.nanoTime();
                    try {
                      HttpResponse<String> response = post("/runs/log-batch", body);
                      nanos[index * writes + i] = System.nanoTime() - sent;
                      if (response.statusCode() != 200) {
                        errors.incrementAndGet();
                        if (response.body().contains("SQLITE_BUSY")
                            || response.body().contains("database is locked")) {
                          busy.incrementAndGet();
                        }
                      }
                    } catch (IOException e) {
                      nanos[index * writes + i] = System.nanoTime() - sent;
                      errors.incrementAndGet();
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                      return;
                    }
                  }
                }));
      }
      for (Future<?> writer : done) {
        writer.get();
      }
    } finally {
      pool.shutdownNow();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf(
        Locale.ROOT,
        "concurrent writers: %d threads x %d log-batch (10 metrics, own run each), %d errors,"
            + " %d SQLITE_BUSY, %.0f requests/s, latency %s%n",
        writers,
        writes,
        errors.get(),
        busy.get(),
        writers * writes / seconds,
        Percentiles.of(nanos).summary(1e6, "ms"));
  }

  // search

  /**
   * Inserts runs into a new experiment directly through the tracking store, in transactions of
   * 5,000 runs, because only searching them is measured. Each run has metrics {@code rmse} and
   * {@code auc}, params {@code model} and {@code depth}, and a tag.
   */
  private String loadRuns(Evergreen evergreen, int runs) throws Exception {
    String experimentId = createExperiment("search-bench");
    SqliteTrackingStore store = new SqliteTrackingStore((SqliteMetadataStore) evergreen.store());
    Random random = new Random(1);
    String[] models = {"xgboost", "lightgbm", "linear", "forest"};
    long start = System.nanoTime();
    int batch = 5_000;
    for (int first = 0; first < runs; first += batch) {
      int from = first;
      int to = Math.min(runs, first + batch);
      store.inTransaction(
          () -> {
            for (int i = from; i < to; i++) {
              byte[] bytes = new byte[16];
              random.nextBytes(bytes);
              String id = HexFormat.of().formatHex(bytes);
              Instant started = Instant.ofEpochMilli(1_700_000_000_000L + i * 1_000L);
              long timestamp = started.toEpochMilli();
              store.insertRun(
                  new TrackedRun(
                      id,
                      experimentId,
                      "run-" + i,
                      "bench",
                      RunStatus.FINISHED,
                      started,
                      started.plusSeconds(60),
                      "mlflow-artifacts:/" + experimentId + "/" + id + "/artifacts",
                      LifecycleStage.ACTIVE,
                      List.of(
                          new MetricPoint("rmse", random.nextDouble(), timestamp, 0),
                          new MetricPoint("auc", 0.5 + random.nextDouble() / 2, timestamp, 0)),
                      Map.of(
                          "model",
                          models[random.nextInt(models.length)],
                          "depth",
                          Integer.toString(2 + random.nextInt(8))),
                      Map.of("mlflow.runName", "run-" + i, "team", "t" + random.nextInt(10)),
                      false));
            }
            return null;
          });
    }
    System.out.printf(
        Locale.ROOT,
        "loaded %d runs into experiment %s in %.1f s%n",
        runs,
        experimentId,
        (System.nanoTime() - start) / 1e9);
    return experimentId;
  }

  /**
   * Measures one search of the loaded runs.
   *
   * @param orderBy one order key, or null for the default order (start time, newest first)
   */
  private void search(
      String experimentId, int runs, String orderBy, int warmup, int searches, int maxResults)
      throws Exception {
    String filter = "metrics.rmse < 0.5 AND params.model = 'xgboost'";
    String body =
        "{\"experiment_ids\": [\""
            + experimentId
            + "\"], \"filter\": \""
            + filter
            + "\""
            + (orderBy == null ? "" : ", \"order_by\": [\"" + orderBy + "\"]")
            + ", \"max_results\": "
            + maxResults
            + "}";
    for (int i = 0; i < warmup; i++) {
      expectOk(post("/runs/search", body));
    }
    long[] nanos = new long[searches];
    int returned = 0;
    for (int i = 0; i < searches; i++) {
      long start = System.nanoTime();
      HttpResponse<String> response = post("/runs/search", body);
      nanos[i] = System.nanoTime() - start;
      expectOk(response);
      returned = countMatches(RUN_ID, response.body());
    }
    Percentiles percentiles = Percentiles.of(nanos);
    System.out.printf(
        Locale.ROOT,
        "search %d runs, filter \"%s\", order_by \"%s\", max_results %d (%d returned):"
            + " %s, p95=%.3f ms%n",
        runs,
        filter,
        orderBy == null ? "(none)" : orderBy,
        maxResults,
        returned,
        percentiles.summary(1e6, "ms"),
        percentiles.percentile(95) / 1e6);
  }

  // HTTP

  private String createRun(String experimentId) throws Exception {
    HttpResponse<String> response =
        post("/runs/create", "{\"experiment_id\": \"" + experimentId + "\"}");
    expectOk(response);
    return first(RUN_ID, response.body());
  }

  private String createExperiment(String name) throws Exception {
    HttpResponse<String> response = post("/experiments/create", "{\"name\": \"" + name + "\"}");
    expectOk(response);
    return first(EXPERIMENT_ID, response.body());
  }

  private HttpResponse<String> post(String path, String body)
      throws IOException, InterruptedException {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(url + API + path))
            .timeout(Duration.ofSeconds(60))
            .header("Authorization", "Bearer " + secret)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  private static void expectOk(HttpResponse<String> response) {
    if (response.statusCode() != 200) {
      throw new IllegalStateException(
          "request "
              + response.uri()
              + " failed with "
              + response.statusCode()
              + ": "
              + response.body());
    }
  }

  private static String first(Pattern pattern, String text) {
    Matcher matcher = pattern.matcher(text);
    if (!matcher.find()) {
      throw new IllegalStateException("no " + pattern + " in response " + text);
    }
    return matcher.group(1);
  }

  private static int countMatches(Pattern pattern, String text) {
    Matcher matcher = pattern.matcher(text);
    int count = 0;
    while (matcher.find()) {
      count++;
    }
    return count;
  }
}
