package dev.evergreen.core.validation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.validation.Anomaly;
import dev.evergreen.api.validation.FeatureDrift;
import dev.evergreen.api.validation.Severity;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.snapshot.SnapshotService;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import dev.evergreen.core.testing.TempDirArtifactStore;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestPipelines;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks each drift metric against an independent computation: brute-force ECDFs, quantile
 * integration, the entropy form of Jensen-Shannon, closed forms of the chi-squared distribution and
 * tabulated quantiles of the Kolmogorov distribution, on synthetic data and on two flight months.
 */
class DriftMetricsTest {
  static final int ROWS = 4000;

  @TempDir static Path shared;
  static Path january;
  static Path february;

  @BeforeAll
  static void writeFlightMonths() {
    january = TestDuckDb.flightsMonth(shared.resolve("january.parquet"), 1, ROWS);
    february = TestDuckDb.flightsMonth(shared.resolve("february.parquet"), 2, ROWS);
  }

  /** Returns sorted samples with many ties: values rounded to one decimal. */
  static double[] sample(Random random, int size, double mean, double spread) {
    double[] values = new double[size];
    for (int i = 0; i < size; i++) {
      values[i] = Math.round((mean + spread * random.nextGaussian()) * 10) / 10.0;
    }
    Arrays.sort(values);
    return values;
  }

  /** Evaluates both empirical CDFs at every value of either sample, one pair at a time. */
  static double bruteForceKs(double[] reference, double[] current) {
    TreeSet<Double> points = new TreeSet<>();
    Arrays.stream(reference).forEach(points::add);
    Arrays.stream(current).forEach(points::add);
    double largest = 0;
    for (double point : points) {
      double before =
          Arrays.stream(reference).filter(v -> v <= point).count() / (double) reference.length;
      double after =
          Arrays.stream(current).filter(v -> v <= point).count() / (double) current.length;
      largest = Math.max(largest, Math.abs(before - after));
    }
    return largest;
  }

  /**
   * Integrates |F⁻¹(u) - G⁻¹(u)| over u in (0, 1): the quantile functions of sorted samples are
   * step functions that change at multiples of 1/n and 1/m.
   */
  static double quantileWasserstein(double[] reference, double[] current) {
    TreeSet<Double> breaks = new TreeSet<>();
    for (int k = 0; k <= reference.length; k++) {
      breaks.add((double) k / reference.length);
    }
    for (int k = 0; k <= current.length; k++) {
      breaks.add((double) k / current.length);
    }
    double area = 0;
    Double previous = null;
    for (double u : breaks) {
      if (previous != null && u > previous) {
        double middle = (previous + u) / 2;
        double x = reference[(int) Math.floor(middle * reference.length)];
        double y = current[(int) Math.floor(middle * current.length)];
        area += Math.abs(x - y) * (u - previous);
      }
      previous = u;
    }
    return area;
  }

  static double entropy(double[] shares) {
    double sum = 0;
    for (double share : shares) {
      sum -= share > 0 ? share * Math.log(share) : 0;
    }
    return sum;
  }

  /** Jensen-Shannon distance as H(M) - (H(P) + H(Q)) / 2, the entropy form of the divergence. */
  static double entropyJensenShannon(List<long[]> bins) {
    double referenceTotal = bins.stream().mapToLong(b -> b[0]).sum();
    double currentTotal = bins.stream().mapToLong(b -> b[1]).sum();
    double[] p = bins.stream().mapToDouble(b -> b[0] / referenceTotal).toArray();
    double[] q = bins.stream().mapToDouble(b -> b[1] / currentTotal).toArray();
    double[] m = new double[p.length];
    for (int i = 0; i < p.length; i++) {
      m[i] = (p[i] + q[i]) / 2;
    }
    return Math.sqrt(entropy(m) - (entropy(p) + entropy(q)) / 2);
  }

  /** Chi-squared statistic of a 2 x k table by the Brandt-Snedecor formula. */
  static double brandtSnedecor(List<long[]> bins) {
    double n1 = bins.stream().mapToLong(b -> b[0]).sum();
    double n2 = bins.stream().mapToLong(b -> b[1]).sum();
    double total = n1 + n2;
    double sum = 0;
    for (long[] bin : bins) {
      sum += (double) bin[0] * bin[0] / (bin[0] + bin[1]);
    }
    return total * total / (n1 * n2) * (sum - n1 * n1 / total);
  }

  /** Survival function of chi-squared with an even number of degrees of freedom, in closed form. */
  static double evenChiSquaredSurvival(double x, int degrees) {
    double term = 1;
    double sum = 1;
    for (int k = 1; k < degrees / 2; k++) {
      term *= x / 2 / k;
      sum += term;
    }
    return Math.exp(-x / 2) * sum;
  }

  @Test
  void ksMatchesBruteForceWithTies() {
    Random random = new Random(7);
    for (int round = 0; round < 20; round++) {
      double[] reference = sample(random, 50 + random.nextInt(300), 0, 1);
      double[] current = sample(random, 50 + random.nextInt(300), random.nextDouble(), 1.5);

      assertThat(DriftMetrics.ks(reference, current))
          .as("round %d", round)
          .isCloseTo(bruteForceKs(reference, current), within(1e-12));
    }
  }

  @Test
  void ksOfIdenticalSamplesIsZero() {
    double[] values = sample(new Random(1), 500, 3, 2);

    assertThat(DriftMetrics.ks(values, values.clone())).isZero();
    assertThat(DriftMetrics.ksPValue(0, 500, 500)).isEqualTo(1.0);
  }

  @Test
  void kolmogorovSurvivalMatchesTables() {
    // Quantiles of the Kolmogorov distribution: P(K > 1.2238) = 0.10, P(K > 1.3581) = 0.05,
    // P(K > 1.6276) = 0.01; and P(K <= 0.5) = 0.0361, P(K <= 1.0) = 0.7300.
    assertThat(DriftMetrics.kolmogorovSurvival(1.2238)).isCloseTo(0.10, within(5e-5));
    assertThat(DriftMetrics.kolmogorovSurvival(1.3581)).isCloseTo(0.05, within(5e-5));
    assertThat(DriftMetrics.kolmogorovSurvival(1.6276)).isCloseTo(0.01, within(5e-5));
    assertThat(DriftMetrics.kolmogorovSurvival(0.5)).isCloseTo(1 - 0.0361, within(5e-5));
    assertThat(DriftMetrics.kolmogorovSurvival(1.0)).isCloseTo(1 - 0.7300, within(5e-5));
    // Both branches of the implementation agree where they meet.
    assertThat(DriftMetrics.kolmogorovSurvival(1.18 - 1e-9))
        .isCloseTo(DriftMetrics.kolmogorovSurvival(1.18), within(1e-9));
  }

  @Test
  void ksPValueUsesEffectiveSampleSize() {
    int n = 400;
    int m = 900;
    double critical = 1.3581 * Math.sqrt((double) (n + m) / ((double) n * m));

    assertThat(DriftMetrics.ksPValue(critical, n, m)).isCloseTo(0.05, within(5e-5));
  }

  @Test
  void wassersteinMatchesSortedPairsForEqualSizes() {
    Random random = new Random(11);
    double[] reference = sample(random, 1000, 0, 1);
    double[] current = sample(random, 1000, 0.3, 1.2);
    double pairs = 0;
    for (int i = 0; i < reference.length; i++) {
      pairs += Math.abs(reference[i] - current[i]);
    }

    assertThat(DriftMetrics.wasserstein(reference, current))
        .isCloseTo(pairs / reference.length, within(1e-9));
  }

  @Test
  void wassersteinMatchesQuantileIntegration() {
    Random random = new Random(13);
    for (int round = 0; round < 20; round++) {
      double[] reference = sample(random, 30 + random.nextInt(400), 5, 2);
      double[] current = sample(random, 30 + random.nextInt(400), 5 + random.nextGaussian(), 3);

      assertThat(DriftMetrics.wasserstein(reference, current))
          .as("round %d", round)
          .isCloseTo(quantileWasserstein(reference, current), within(1e-9));
    }
  }

  @Test
  void wassersteinOfShiftIsShift() {
    double[] reference = sample(new Random(3), 300, 10, 4);
    double[] current = Arrays.stream(reference).map(v -> v + 2.5).toArray();

    assertThat(DriftMetrics.wasserstein(reference, current)).isCloseTo(2.5, within(1e-9));
    assertThat(DriftMetrics.normalisedWasserstein(reference, current))
        .isCloseTo(2.5 / DriftMetrics.standardDeviation(reference), within(1e-9));
  }

  @Test
  void normalisedWassersteinFloorsConstantReference() {
    double[] reference = {4, 4, 4, 4};
    double[] current = {4, 4, 5, 5};

    assertThat(DriftMetrics.normalisedWasserstein(reference, current))
        .isCloseTo(0.5 / DriftMetrics.MIN_SCALE, within(1e-6));
  }

  @Test
  void jensenShannonMatchesEntropyForm() {
    Random random = new Random(17);
    for (int round = 0; round < 20; round++) {
      List<long[]> bins = new ArrayList<>();
      for (int i = 0; i < 2 + random.nextInt(20); i++) {
        bins.add(new long[] {random.nextInt(50), random.nextInt(50)});
      }
      bins.add(new long[] {5, 0});
      bins.add(new long[] {0, 5});

      assertThat(DriftMetrics.jensenShannon(bins))
          .as("round %d", round)
          .isCloseTo(entropyJensenShannon(bins), within(1e-9));
    }
  }

  @Test
  void jensenShannonOfDisjointBinsIsMaximum() {
    List<long[]> bins = List.of(new long[] {10, 0}, new long[] {0, 30});

    assertThat(DriftMetrics.jensenShannon(bins)).isCloseTo(Math.sqrt(Math.log(2)), within(1e-12));
    assertThat(DriftMetrics.lInfinity(bins)).isEqualTo(1.0);
  }

  @Test
  void lInfinityIsLargestShareDifference() {
    List<long[]> bins = List.of(new long[] {50, 20}, new long[] {30, 30}, new long[] {20, 50});

    // Shares 0.5/0.2, 0.3/0.3, 0.2/0.5 of 100 rows each.
    assertThat(DriftMetrics.lInfinity(bins)).isCloseTo(0.3, within(1e-12));
  }

  @Test
  void chiSquaredSurvivalMatchesClosedForms() {
    for (int degrees = 2; degrees <= 40; degrees += 2) {
      for (double x : new double[] {0.1, 1, 2.5, 7, 15, 30, 60, 120}) {
        assertThat(DriftMetrics.chiSquaredSurvival(x, degrees))
            .as("x %s, %d degrees of freedom", x, degrees)
            .isCloseTo(evenChiSquaredSurvival(x, degrees), within(1e-10));
      }
    }
  }

  @Test
  void chiSquaredSurvivalMatchesOddTables() {
    // 95th percentiles of chi-squared with 1, 5 and 29 degrees of freedom.
    assertThat(DriftMetrics.chiSquaredSurvival(3.841459, 1)).isCloseTo(0.05, within(1e-6));
    assertThat(DriftMetrics.chiSquaredSurvival(11.070498, 5)).isCloseTo(0.05, within(1e-6));
    assertThat(DriftMetrics.chiSquaredSurvival(42.556968, 29)).isCloseTo(0.05, within(1e-6));
  }

  @Test
  void chiSquaredPValueMatchesBrandtSnedecor() {
    // Three bins give two degrees of freedom, whose survival function is exp(-x / 2).
    List<long[]> bins = List.of(new long[] {120, 90}, new long[] {60, 75}, new long[] {20, 35});

    double statistic = brandtSnedecor(bins);

    assertThat(DriftMetrics.chiSquaredPValue(bins))
        .isCloseTo(Math.exp(-statistic / 2), within(1e-12));
  }

  @Test
  void chiSquaredPValueSkipsEmptyBins() {
    List<long[]> withEmpty =
        List.of(new long[] {120, 90}, new long[] {0, 0}, new long[] {60, 75}, new long[] {20, 35});
    List<long[]> without = List.of(new long[] {120, 90}, new long[] {60, 75}, new long[] {20, 35});

    assertThat(DriftMetrics.chiSquaredPValue(withEmpty))
        .isEqualTo(DriftMetrics.chiSquaredPValue(without));
    assertThat(DriftMetrics.chiSquaredPValue(List.of(new long[] {10, 10}))).isEqualTo(1.0);
  }

  // Real data: January and February 2001.

  static Map<String, FeatureDrift> measureMonths(String validation) throws IOException {
    Path artifacts = shared.resolve("artifacts-" + RUNS.incrementAndGet());
    InMemoryMetadataStore store = new InMemoryMetadataStore();
    Clock clock = Clock.systemUTC();
    SnapshotService snapshots =
        new SnapshotService(
            store, new TempDirArtifactStore(artifacts), new AuditLog(store, clock), clock, null, 1);
    PipelineSpec spec = TestPipelines.flights(validation);
    Snapshot reference = snapshots.ingest(january, spec, "test").snapshot();
    Snapshot current = snapshots.ingest(february, spec, "test").snapshot();
    ValidationReport report =
        new Validator(1)
            .validate(
                current,
                snapshots.parquetOf(current),
                reference,
                snapshots.parquetOf(reference),
                spec,
                List.of());
    lastReport = report;
    return report.drift().stream()
        .collect(Collectors.toMap(FeatureDrift::feature, Function.identity()));
  }

  static final AtomicInteger RUNS = new AtomicInteger();
  static ValidationReport lastReport;

  static double[] sortedDistances(Path parquet) {
    return TestDuckDb.rows(
            "SELECT CAST(distance AS DOUBLE) FROM read_parquet("
                + TestDuckDb.path(parquet)
                + ") WHERE distance IS NOT NULL ORDER BY 1")
        .stream()
        .mapToDouble(row -> Double.parseDouble(row.get(0)))
        .toArray();
  }

  @Test
  void flightMonthsNumericMetricsMatchIndependentValues() throws IOException {
    FeatureDrift distance = measureMonths("").get("distance");

    // KS as the largest gap between the two ECDFs, computed by DuckDB over every distinct value.
    String ecdf =
        "WITH r AS (SELECT CAST(distance AS DOUBLE) AS v FROM read_parquet(%s) WHERE distance IS"
            + " NOT NULL), c AS (SELECT CAST(distance AS DOUBLE) AS v FROM read_parquet(%s) WHERE"
            + " distance IS NOT NULL), points AS (SELECT v FROM r UNION SELECT v FROM c)"
            + " SELECT max(abs((SELECT count(*) FROM r WHERE r.v <= p.v) / (SELECT count(*) FROM r)"
            + " - (SELECT count(*) FROM c WHERE c.v <= p.v) / (SELECT count(*) FROM c))) FROM"
            + " points p";
    double ks =
        Double.parseDouble(
            TestDuckDb.value(
                String.format(ecdf, TestDuckDb.path(january), TestDuckDb.path(february))));
    double[] reference = sortedDistances(january);
    double[] current = sortedDistances(february);
    double deviation =
        Double.parseDouble(
            TestDuckDb.value(
                "SELECT stddev_pop(distance) FROM read_parquet(" + TestDuckDb.path(january) + ")"));

    assertThat(distance.kind()).isEqualTo("numeric");
    assertThat(distance.ks()).isCloseTo(ks, within(1e-12));
    assertThat(distance.ksPValue())
        .isCloseTo(
            DriftMetrics.kolmogorovSurvival(
                Math.sqrt(
                        (double) reference.length
                            * current.length
                            / (reference.length + current.length))
                    * ks),
            within(1e-12));
    assertThat(distance.wasserstein())
        .isCloseTo(quantileWasserstein(reference, current) / deviation, within(1e-9));
    assertThat(distance.jensenShannon()).isBetween(0.0, Math.sqrt(Math.log(2)));
    assertThat(distance.lInfinity()).isNull();
    assertThat(distance.chiSquaredPValue()).isNull();
    // 4000 reference values exceed smallSample (1000), so the distances decide.
    assertThat(distance.drifted())
        .isEqualTo(distance.wasserstein() >= 0.1 || distance.jensenShannon() >= 0.1);
  }

  @Test
  void flightMonthsCategoricalMetricsMatchIndependentBins() throws IOException {
    Map<String, FeatureDrift> drift = measureMonths("");
    List<LocalDateTime> before = ValidatorTest.dates(january);
    List<LocalDateTime> after = ValidatorTest.dates(february);
    List<long[]> bins = javaBins(before, after, LocalDateTime::getHour);
    FeatureDrift hour = drift.get("hour");

    double lInfinity = 0;
    double referenceTotal = before.size();
    double currentTotal = after.size();
    for (long[] bin : bins) {
      lInfinity = Math.max(lInfinity, Math.abs(bin[0] / referenceTotal - bin[1] / currentTotal));
    }

    assertThat(hour.kind()).isEqualTo("categorical");
    assertThat(hour.lInfinity()).isCloseTo(lInfinity, within(1e-12));
    assertThat(hour.jensenShannon()).isCloseTo(entropyJensenShannon(bins), within(1e-9));
    double statistic = brandtSnedecor(bins.stream().filter(b -> b[0] + b[1] > 0).toList());
    int degrees = (int) bins.stream().filter(b -> b[0] + b[1] > 0).count() - 1;
    assertThat(hour.chiSquaredPValue())
        .isCloseTo(DriftMetrics.chiSquaredSurvival(statistic, degrees), within(1e-12));
    assertThat(hour.ks()).isNull();
    assertThat(hour.wasserstein()).isNull();
    assertThat(hour.drifted()).isEqualTo(hour.lInfinity() >= 0.1 || hour.jensenShannon() >= 0.1);
  }

  /**
   * Bins of a derived feature in plain Java: the reference's 20 most frequent values, then other.
   */
  static List<long[]> javaBins(
      List<LocalDateTime> reference,
      List<LocalDateTime> current,
      Function<LocalDateTime, Integer> feature) {
    Map<Integer, Long> referenceCounts =
        reference.stream().collect(Collectors.groupingBy(feature, Collectors.counting()));
    Map<Integer, Long> currentCounts =
        current.stream().collect(Collectors.groupingBy(feature, Collectors.counting()));
    Set<Integer> top =
        referenceCounts.entrySet().stream()
            .sorted(
                Comparator.comparing(Map.Entry<Integer, Long>::getValue)
                    .reversed()
                    .thenComparing(Map.Entry::getKey))
            .limit(20)
            .map(Map.Entry::getKey)
            .collect(Collectors.toSet());
    Map<Integer, long[]> bins = new HashMap<>();
    referenceCounts.forEach(
        (value, count) ->
            bins.computeIfAbsent(top.contains(value) ? value : -1, k -> new long[2])[0] += count);
    currentCounts.forEach(
        (value, count) ->
            bins.computeIfAbsent(top.contains(value) ? value : -1, k -> new long[2])[1] += count);
    return new ArrayList<>(bins.values());
  }

  @Test
  void perFeatureThresholdMarksDriftAndDataset() throws IOException {
    String validation =
        """
        validation:
          drift:
            driftShare: 0.2
            datasetSeverity: error
            features:
              distance:
                wasserstein: 0.000001
        """;

    Map<String, FeatureDrift> drift = measureMonths(validation);
    ValidationReport report = lastReport;

    assertThat(drift.get("distance").drifted()).isTrue();
    List<Anomaly> featureAnomalies =
        report.anomalies().stream().filter(a -> a.rule().equals("drift")).toList();
    assertThat(featureAnomalies)
        .extracting(Anomaly::column)
        .containsExactlyElementsOf(
            report.drift().stream()
                .filter(FeatureDrift::drifted)
                .map(FeatureDrift::feature)
                .toList());
    assertThat(featureAnomalies)
        .allSatisfy(a -> assertThat(a.severity()).isEqualTo(Severity.WARNING));
    assertThat(report.anomalies())
        .filteredOn(a -> a.rule().equals("dataset_drift"))
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.column()).isEqualTo("*");
              assertThat(a.severity()).isEqualTo(Severity.ERROR);
              assertThat(a.observed()).contains("distance");
            });
    assertThat(report.accepted()).isFalse();
  }

  @Test
  void defaultDatasetDriftIsWarning() throws IOException {
    Map<String, FeatureDrift> drift = measureMonths("");
    ValidationReport report = lastReport;

    long drifted = drift.values().stream().filter(FeatureDrift::drifted).count();
    assertThat(report.anomalies().stream().filter(a -> a.rule().equals("drift")).count())
        .isEqualTo(drifted);
    boolean datasetDrift = drifted >= 0.5 * drift.size();
    assertThat(report.anomalies().stream().anyMatch(a -> a.rule().equals("dataset_drift")))
        .isEqualTo(datasetDrift);
    // Batch-level drift is a warning by default, so only rules and PSI errors can reject.
    assertThat(report.accepted()).isTrue();
  }
}
