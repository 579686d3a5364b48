package dev.evergreen.bench;

import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.PipelineSpecs;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.core.Evergreen;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Measures what a full pipeline run costs on top of bare XGBoost training on the same rows.
 *
 * <p>For each row count it writes the first rows of the flights file to a Parquet subset, then, for
 * each repeat, times a bare training ({@link BareTrainer}) and a platform run ({@code
 * Evergreen.pipelines().run}) on a fresh home, alternating which goes first. Overhead is {@code
 * (platform run wall time - bare total) / bare total}. The platform run includes snapshot,
 * validation, training, evaluation on the 20% holdout, registration and the blue-green deploy; the
 * bare training trains on the same 80% of the rows. One untimed round on a small subset loads the
 * native libraries and warms the JIT first, so neither side pays for that.
 *
 * <p>Options: {@code --data} flights Parquet, {@code --pipeline} pipeline file, {@code --rows}
 * comma-separated row counts, {@code --repeats}, {@code --work} folder for subsets and homes,
 * {@code --out} tab-separated results file.
 */
public final class OverheadBenchmark {
  private static final int WARM_UP_ROWS = 20_000;

  private final Path pipelineFile;
  private final BareTrainer bare;
  private final Path work;
  private final PrintStream out;
  private final List<String> results = new ArrayList<>();

  private OverheadBenchmark(Path pipelineFile, PipelineSpec spec, Path work, PrintStream out) {
    this.pipelineFile = pipelineFile;
    this.bare = new BareTrainer(spec, 2);
    this.work = work;
    this.out = out;
  }

  /** One platform run: wall times in seconds and what the run recorded. */
  private record PlatformResult(
      double openSeconds,
      double runSeconds,
      double closeSeconds,
      Map<String, Double> stepSeconds,
      double trainRows,
      double xgboostSeconds,
      RunOutcome outcome,
      String modelSha256) {}

  public static void main(String[] args) throws Exception {
    Options options = new Options(args);
    Path data = options.path("data", "data/flights/flights-3m.parquet");
    Path pipeline = options.path("pipeline", "examples/flights-delay/pipeline.yaml");
    List<Integer> rowCounts = options.integers("rows", "100000,1000000");
    int repeats = options.integer("repeats", 3);
    Path work = options.path("work", "bench/target/overhead");
    Path resultsFile = options.path("out", work.resolve("results.tsv").toString());

    Files.createDirectories(work);
    PipelineSpec spec = PipelineSpecs.load(pipeline);
    OverheadBenchmark benchmark = new OverheadBenchmark(pipeline, spec, work, System.out);
    benchmark.out.printf(
        Locale.ROOT,
        "XGBoost parameters: %s, %d rounds; DuckDB threads 2%n",
        benchmark.bare.params(),
        spec.trainer().rounds());

    Path warmUp = FlightSubsets.firstRows(data, WARM_UP_ROWS, work.resolve("warm-up.parquet"));
    benchmark.bare.train(warmUp);
    benchmark.platform(warmUp);
    benchmark.out.println("warm-up done on " + WARM_UP_ROWS + " rows");

    for (int rows : rowCounts) {
      Path subset = FlightSubsets.firstRows(data, rows, work.resolve("first-" + rows + ".parquet"));
      benchmark.measure(rows, subset, repeats);
      Files.delete(subset);
    }
    Files.delete(warmUp);
    Files.write(resultsFile, benchmark.results);
    benchmark.out.println("results written to " + resultsFile);
  }

  private void measure(int rows, Path subset, int repeats) throws Exception {
    double[] bareTotals = new double[repeats];
    double[] platformTotals = new double[repeats];
    double[] overheads = new double[repeats];
    for (int repeat = 0; repeat < repeats; repeat++) {
      BareTrainer.Result bareResult = null;
      PlatformResult platformResult = null;
      double bareOthers = Double.NaN;
      double platformOthers = Double.NaN;
      // Alternates the order, so that neither side always runs on a warmer page cache.
      for (int side = 0; side < 2; side++) {
        CpuUsage before = CpuUsage.now();
        if ((side + repeat) % 2 == 0) {
          bareResult = bare.train(subset);
          bareOthers = CpuUsage.otherCores(before, CpuUsage.now());
        } else {
          platformResult = platform(subset);
          platformOthers = CpuUsage.otherCores(before, CpuUsage.now());
        }
      }
      if (bareResult.trainRows() != (int) platformResult.trainRows()) {
        throw new IllegalStateException(
            "bare training used "
                + bareResult.trainRows()
                + " rows but the platform trained on "
                + (long) platformResult.trainRows()
                + "; the two no longer train on the same rows");
      }
      bareTotals[repeat] = bareResult.totalSeconds();
      platformTotals[repeat] = platformResult.runSeconds();
      overheads[repeat] =
          (platformResult.runSeconds() - bareResult.totalSeconds()) / bareResult.totalSeconds();
      report(rows, repeat + 1, bareResult, platformResult, overheads[repeat]);
      out.printf(
          Locale.ROOT,
          "rows=%d repeat=%d other processes used %.2f CPUs during bare, %.2f during platform%n",
          rows,
          repeat + 1,
          bareOthers,
          platformOthers);
      results.set(
          results.size() - 1,
          results.getLast()
              + String.format(Locale.ROOT, "\t%.2f\t%.2f", bareOthers, platformOthers));
    }
    double bestBare = Arrays.stream(bareTotals).min().orElseThrow();
    double bestPlatform = Arrays.stream(platformTotals).min().orElseThrow();
    out.printf(
        Locale.ROOT,
        "SUMMARY rows=%d repeats=%d bare_total_s=%s platform_run_s=%s overhead=%s"
            + " overhead_of_fastest=%.1f%%%n",
        rows,
        repeats,
        spread(bareTotals, 1, "%.3f"),
        spread(platformTotals, 1, "%.3f"),
        spread(overheads, 100, "%.1f%%"),
        (bestPlatform - bestBare) / bestBare * 100);
  }

  private void report(
      int rows,
      int repeat,
      BareTrainer.Result bareResult,
      PlatformResult platformResult,
      double overhead) {
    boolean sameModel = bareResult.modelSha256().equals(platformResult.modelSha256());
    out.printf(
        Locale.ROOT,
        "rows=%d repeat=%d bare: total=%.3f s (read %.3f, encode %.3f, train %.3f) on %d rows%n",
        rows,
        repeat,
        bareResult.totalSeconds(),
        bareResult.readSeconds(),
        bareResult.encodeSeconds(),
        bareResult.trainSeconds(),
        bareResult.trainRows());
    out.printf(
        Locale.ROOT,
        "rows=%d repeat=%d platform: run=%.3f s (open %.3f, close %.3f) steps %s,"
            + " XGBoost.train %.3f s, outcome %s, same model file as bare: %s%n",
        rows,
        repeat,
        platformResult.runSeconds(),
        platformResult.openSeconds(),
        platformResult.closeSeconds(),
        formatSteps(platformResult.stepSeconds()),
        platformResult.xgboostSeconds(),
        platformResult.outcome(),
        sameModel);
    out.printf(Locale.ROOT, "rows=%d repeat=%d overhead=%.1f%%%n", rows, repeat, overhead * 100);
    StringBuilder line = new StringBuilder();
    line.append(rows).append('\t').append(repeat);
    line.append('\t').append(bareResult.totalSeconds());
    line.append('\t').append(bareResult.readSeconds());
    line.append('\t').append(bareResult.encodeSeconds());
    line.append('\t').append(bareResult.trainSeconds());
    line.append('\t').append(platformResult.runSeconds());
    line.append('\t').append(platformResult.openSeconds());
    line.append('\t').append(formatSteps(platformResult.stepSeconds()));
    line.append('\t').append(platformResult.xgboostSeconds());
    line.append('\t').append(overhead);
    line.append('\t').append(sameModel);
    results.add(line.toString());
  }

  private PlatformResult platform(Path subset) throws Exception {
    Path home = Files.createTempDirectory(work, "home-");
    try {
      long start = System.nanoTime();
      Evergreen evergreen = Homes.open(home);
      long opened = System.nanoTime();
      Run run;
      String sha;
      try {
        run = evergreen.pipelines().run(pipelineFile, subset, "bench");
        long finished = System.nanoTime();
        if (run.outcome() != RunOutcome.PROMOTED) {
          throw new IllegalStateException(
              "run " + run.id() + " ended " + run.outcome() + ": " + run.reason());
        }
        List<ModelVersion> versions = evergreen.registry().versions("flights-delay");
        sha = versions.get(versions.size() - 1).artifactSha256();
        long closing = System.nanoTime();
        evergreen.close();
        long closed = System.nanoTime();
        return new PlatformResult(
            (opened - start) / 1e9,
            (finished - opened) / 1e9,
            (closed - closing) / 1e9,
            new TreeMap<>(run.stepSeconds()),
            run.metrics().getOrDefault("train_rows", Double.NaN),
            run.metrics().getOrDefault("train_seconds", Double.NaN),
            run.outcome(),
            sha);
      } catch (RuntimeException e) {
        evergreen.close();
        throw e;
      }
    } finally {
      Homes.delete(home);
    }
  }

  private static String formatSteps(Map<String, Double> steps) {
    StringBuilder text = new StringBuilder();
    // Pipeline order, so the columns of every line line up.
    for (String step : List.of("snapshot", "validate", "train", "evaluate", "register", "deploy")) {
      Double seconds = steps.get(step);
      if (!text.isEmpty()) {
        text.append(' ');
      }
      text.append(step)
          .append('=')
          .append(seconds == null ? "n/a" : String.format(Locale.ROOT, "%.3f", seconds));
    }
    return text.toString();
  }

  /** Formats min/median/max of values scaled by {@code scale}, such as {@code 1.2/1.3/1.5}. */
  static String spread(double[] values, double scale, String format) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    double median =
        sorted.length % 2 == 1
            ? sorted[sorted.length / 2]
            : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    return String.format(Locale.ROOT, format, sorted[0] * scale)
        + "/"
        + String.format(Locale.ROOT, format, median * scale)
        + "/"
        + String.format(Locale.ROOT, format, sorted[sorted.length - 1] * scale)
        + " (min/median/max)";
  }
}
