package dev.evergreen.bench;

import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.run.Run;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.deployment.DeploymentManager;
import dev.evergreen.core.deployment.DeploymentResult;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import java.util.Locale;

/**
 * Measures blue-green deployment with the {@link DeploymentManager} of an Evergreen instance.
 *
 * <p>Three runs of the flights pipeline, on January, February and March rows, register versions 1
 * to 3 on a fresh home. A second instance on that home, whose manager has loaded nothing yet, then
 * measures three cases:
 *
 * <ol>
 *   <li>rollback: versions 1 and 2 are loaded (active and standby) and each rollback swaps them;
 *   <li>warm deploy: deploying the standby version, which reuses the loaded, checked model;
 *   <li>cold deploy: deploying versions 1, 2, 3, 1, ... in turn, so that each deploy targets the
 *       version neither slot holds and loads, warms and checks it before the switch.
 * </ol>
 *
 * <p>For each it reports {@link DeploymentResult#switchTime()}, the swap of the serving state, and
 * the wall time of the whole call, which adds loading and checking (cold deploys only) and the
 * SQLite transaction that records the alias move, the deployment event, the audit entry and the
 * lineage edge.
 *
 * <p>Options: {@code --data}, {@code --pipeline}, {@code --rows} rows per month, {@code
 * --iterations} rollbacks and warm deploys, {@code --cold-iterations}, {@code --work}.
 */
public final class SwitchBenchmark {
  private static final String MODEL = "flights-delay";
  private static final String ACTOR = "bench";

  private final PrintStream out = System.out;

  public static void main(String[] args) throws Exception {
    Options options = new Options(args);
    Path data = options.path("data", "data/flights/flights-3m.parquet");
    Path pipeline = options.path("pipeline", "examples/flights-delay/pipeline.yaml");
    int rows = options.integer("rows", 200_000);
    int iterations = options.integer("iterations", 500);
    int coldIterations = options.integer("cold-iterations", 30);
    Path work = options.path("work", "bench/target/switch");

    Files.createDirectories(work);
    Path home = Files.createTempDirectory(work, "home-");
    try {
      new SwitchBenchmark().run(data, pipeline, rows, iterations, coldIterations, work, home);
    } finally {
      Homes.delete(home);
    }
  }

  private void run(
      Path data, Path pipeline, int rows, int iterations, int coldIterations, Path work, Path home)
      throws Exception {
    try (Evergreen trainer = Homes.open(home)) {
      for (int month = 1; month <= 3; month++) {
        Path batch =
            FlightSubsets.monthRows(
                data,
                LocalDate.of(2001, month, 1),
                rows,
                work.resolve("2001-0" + month + ".parquet"));
        Run run = trainer.pipelines().run(pipeline, batch, ACTOR);
        out.printf(Locale.ROOT, "trained on 2001-0%d: run %s %s%n", month, run.id(), run.outcome());
        Files.delete(batch);
      }
      List<ModelVersion> versions = trainer.registry().versions(MODEL);
      if (versions.size() != 3) {
        throw new IllegalStateException(
            "expected 3 registered versions of " + MODEL + " but found " + versions.size());
      }
    }

    try (Evergreen evergreen = Homes.open(home)) {
      DeploymentManager deployments = evergreen.deployments();
      DeploymentResult first = deployments.deploy(MODEL, 1, ACTOR);
      DeploymentResult second = deployments.deploy(MODEL, 2, ACTOR);
      out.println("first deploys: " + first.detail() + "; " + second.detail());

      // Untimed warm-up of the rollback and deploy paths, so that the JIT has compiled them.
      for (int i = 0; i < 50; i++) {
        deployments.rollback(MODEL, ACTOR);
      }

      CpuUsage rollbackStart = CpuUsage.now();
      long[] rollbackSwitch = new long[iterations];
      long[] rollbackCall = new long[iterations];
      for (int i = 0; i < iterations; i++) {
        long start = System.nanoTime();
        DeploymentResult result = deployments.rollback(MODEL, ACTOR);
        rollbackCall[i] = System.nanoTime() - start;
        rollbackSwitch[i] = result.switchTime().toNanos();
      }
      print("rollback switch", rollbackSwitch, 1e3, "us");
      print("rollback call", rollbackCall, 1e6, "ms");
      printNoise("rollbacks", rollbackStart);

      CpuUsage warmStart = CpuUsage.now();

      long[] warmSwitch = new long[iterations];
      long[] warmCall = new long[iterations];
      for (int i = 0; i < iterations; i++) {
        int standby = deployments.serving(MODEL).orElseThrow().standby().version();
        long start = System.nanoTime();
        DeploymentResult result = deployments.deploy(MODEL, standby, ACTOR);
        warmCall[i] = System.nanoTime() - start;
        warmSwitch[i] = result.switchTime().toNanos();
        requireSwitched(result, standby);
      }
      print("warm deploy switch", warmSwitch, 1e3, "us");
      print("warm deploy call", warmCall, 1e6, "ms");
      printNoise("warm deploys", warmStart);

      CpuUsage coldStart = CpuUsage.now();

      long[] coldSwitch = new long[coldIterations];
      long[] coldCall = new long[coldIterations];
      int active = deployments.serving(MODEL).orElseThrow().active().version();
      for (int i = 0; i < coldIterations; i++) {
        // The version after the active one, cycling 1..3, is in neither slot.
        int target = active % 3 + 1;
        long start = System.nanoTime();
        DeploymentResult result = deployments.deploy(MODEL, target, ACTOR);
        coldCall[i] = System.nanoTime() - start;
        coldSwitch[i] = result.switchTime().toNanos();
        requireSwitched(result, target);
        active = target;
      }
      print("cold deploy switch", coldSwitch, 1e3, "us");
      print("cold deploy call (load, warm-up, check, switch, record)", coldCall, 1e6, "ms");
      printNoise("cold deploys", coldStart);
    }
  }

  private static void requireSwitched(DeploymentResult result, int version) {
    if (!result.switched() || result.version() != version) {
      throw new IllegalStateException(
          "deploy of version " + version + " did not switch: " + result.detail());
    }
  }

  /**
   * Prints how many CPUs other processes kept busy since {@code start}, the measurement's noise.
   */
  private void printNoise(String name, CpuUsage start) {
    out.printf(
        Locale.ROOT,
        "other processes used %.2f CPUs during the %s%n",
        CpuUsage.otherCores(start, CpuUsage.now()),
        name);
  }

  private void print(String name, long[] nanos, double divisor, String unit) {
    Percentiles percentiles = Percentiles.of(nanos);
    out.printf(Locale.ROOT, "%s: %s%n", name, percentiles.summary(divisor, unit));
  }
}
