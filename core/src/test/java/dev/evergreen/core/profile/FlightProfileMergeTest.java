package dev.evergreen.core.profile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.evergreen.core.TestData;
import dev.evergreen.core.testing.TestDuckDb;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Merges the profiles of January and February 2001 of the flight data and compares the result with
 * exact values computed by DuckDB over both months, and with the profile of both months built in
 * one pass.
 */
class FlightProfileMergeTest {
  /** Largest rank error accepted from a KLL sketch with k = 200, as a share of the count. */
  static final double RANK_ERROR = 0.02;

  /** Largest relative error accepted from a HyperLogLog estimate with 4,096 registers. */
  static final double DISTINCT_ERROR = 0.05;

  @TempDir static Path dir;
  static Path january;
  static Path february;
  static Path both;
  static DatasetProfile merged;
  static DatasetProfile direct;

  @BeforeAll
  static void profileTwoMonths() throws SQLException {
    january = month("january.parquet", "date < TIMESTAMP '2001-02-01'");
    february =
        month(
            "february.parquet", "date >= TIMESTAMP '2001-02-01' AND date < TIMESTAMP '2001-03-01'");
    both = month("both.parquet", "date < TIMESTAMP '2001-03-01'");
    long start = System.nanoTime();
    merged = ProfileBuilder.ofParquet(january, 2);
    System.out.printf(
        "profiled %d rows of 5 columns in %d ms%n",
        merged.rows(), (System.nanoTime() - start) / 1_000_000);
    merged.merge(ProfileBuilder.ofParquet(february, 2));
    direct = ProfileBuilder.ofParquet(both, 2);
  }

  private static Path month(String name, String where) {
    Path file = dir.resolve(name);
    TestDuckDb.execute(
        "COPY (SELECT * FROM read_parquet("
            + TestDuckDb.path(TestData.flights())
            + ") WHERE "
            + where
            + ") TO "
            + TestDuckDb.path(file)
            + " (FORMAT parquet)");
    return file;
  }

  private static String exact(String expression) {
    return TestDuckDb.value(
        "SELECT " + expression + " FROM read_parquet(" + TestDuckDb.path(both) + ")");
  }

  @Test
  void mergeKeepsExactCounts() {
    assertThat(merged.rows()).isEqualTo(Long.parseLong(exact("count(*)")));
    for (String column : List.of("date", "delay", "distance", "origin", "destination")) {
      ColumnSketch sketch = merged.column(column).orElseThrow();
      assertThat(sketch.rows()).as(column).isEqualTo(merged.rows());
      assertThat(sketch.nulls())
          .as(column)
          .isEqualTo(Long.parseLong(exact("count(*) - count(" + column + ")")));
    }
  }

  @Test
  void mergeKeepsMomentsAndExtremes() {
    for (String column : List.of("delay", "distance")) {
      Moments moments = merged.column(column).orElseThrow().moments();
      double mean = Double.parseDouble(exact("avg(" + column + ")"));
      double variance = Double.parseDouble(exact("var_samp(" + column + ")"));
      assertThat(moments.mean()).as(column).isCloseTo(mean, within(1e-9 * Math.abs(mean)));
      assertThat(moments.sampleVariance()).as(column).isCloseTo(variance, within(1e-9 * variance));
      assertThat(moments.min())
          .as(column)
          .isEqualTo(Double.parseDouble(exact("min(" + column + ")")));
      assertThat(moments.max())
          .as(column)
          .isEqualTo(Double.parseDouble(exact("max(" + column + ")")));
    }
    Moments date = merged.column("date").orElseThrow().moments();
    assertThat((long) date.min()).isEqualTo(Long.parseLong(exact("epoch_us(min(date))")));
    assertThat((long) date.max()).isEqualTo(Long.parseLong(exact("epoch_us(max(date))")));
  }

  @Test
  void mergedQuantilesWithinRankError() {
    for (String column : List.of("delay", "distance")) {
      double[] values = sortedValues(column);
      KllSketch.Cdf cdf = merged.column(column).orElseThrow().quantiles().cdf();
      assertThat(cdf.total()).isEqualTo(values.length);
      double largest = 0;
      for (int i = 1; i < 100; i++) {
        double q = i / 100.0;
        double sketched = cdf.quantile(q);
        // With ties, every q between the exact shares below and at the value is correct.
        double below = (double) lowerBound(values, sketched) / values.length;
        double atMost = (double) upperBound(values, sketched) / values.length;
        double error = Math.max(0, Math.max(below - q, q - atMost));
        largest = Math.max(largest, error);
        assertThat(error).as("%s quantile %.2f", column, q).isLessThanOrEqualTo(RANK_ERROR);
      }
      System.out.printf("%s: largest quantile rank error %.4f%n", column, largest);
    }
  }

  @Test
  void mergedDistinctCountsWithinError() {
    for (String column : List.of("date", "delay", "distance", "origin", "destination")) {
      double exactDistinct = Double.parseDouble(exact("count(DISTINCT " + column + ")"));
      double estimate = merged.column(column).orElseThrow().distinct().estimate();
      System.out.printf("%s: distinct %.0f, estimated %.1f%n", column, exactDistinct, estimate);
      assertThat(estimate)
          .as(column)
          .isCloseTo(exactDistinct, within(DISTINCT_ERROR * exactDistinct));
    }
  }

  @Test
  void mergedFrequentValuesWithinBounds() {
    for (String column : List.of("origin", "destination", "distance")) {
      FrequentItems frequent = merged.column(column).orElseThrow().frequent();
      List<List<String>> counts =
          TestDuckDb.rows(
              "SELECT CAST("
                  + column
                  + " AS VARCHAR), count(*) FROM read_parquet("
                  + TestDuckDb.path(both)
                  + ") WHERE "
                  + column
                  + " IS NOT NULL GROUP BY ALL ORDER BY 2 DESC, 1");
      assertThat(frequent.maxError())
          .as(column)
          .isLessThanOrEqualTo(frequent.total() / (frequent.capacity() + 1));
      for (List<String> row : counts) {
        long exactCount = Long.parseLong(row.get(1));
        Object value = column.equals("distance") ? (Object) Long.parseLong(row.get(0)) : row.get(0);
        long estimate = frequent.count(value);
        assertThat(estimate).as("%s %s", column, row.get(0)).isLessThanOrEqualTo(exactCount);
        assertThat(estimate + frequent.maxError())
            .as("%s %s", column, row.get(0))
            .isGreaterThanOrEqualTo(exactCount);
      }
      if (counts.size() <= frequent.capacity()) {
        assertThat(frequent.maxError()).as(column).isZero();
      }
    }
  }

  @Test
  void mergeMatchesProfileOfUnion() {
    for (ColumnSketch one : direct.columns()) {
      ColumnSketch two = merged.column(one.name()).orElseThrow();
      assertThat(two.rows()).as(one.name()).isEqualTo(one.rows());
      assertThat(two.nulls()).as(one.name()).isEqualTo(one.nulls());
      assertThat(two.distinct()).as(one.name()).isEqualTo(one.distinct());
      if (one.hours() != null) {
        assertThat(two.hours()).as(one.name()).isEqualTo(one.hours());
        assertThat(two.days()).as(one.name()).isEqualTo(one.days());
      }
      if (one.moments() != null) {
        assertThat(two.moments().mean())
            .as(one.name())
            .isCloseTo(one.moments().mean(), within(1e-9 * Math.abs(one.moments().mean()) + 1e-9));
        KllSketch.Cdf a = one.quantiles().cdf();
        KllSketch.Cdf b = two.quantiles().cdf();
        for (int i = 1; i < 20; i++) {
          double x = a.quantile(i / 20.0);
          assertThat((double) b.rankAtMost(x) / b.total())
              .as("%s at %f", one.name(), x)
              .isCloseTo((double) a.rankAtMost(x) / a.total(), within(2 * RANK_ERROR));
        }
      }
    }
  }

  private static double[] sortedValues(String column) {
    return TestDuckDb.rows(
            "SELECT CAST("
                + column
                + " AS DOUBLE) AS v FROM read_parquet("
                + TestDuckDb.path(both)
                + ") WHERE "
                + column
                + " IS NOT NULL ORDER BY v")
        .stream()
        .mapToDouble(row -> Double.parseDouble(row.get(0)))
        .toArray();
  }

  static int upperBound(double[] sorted, double x) {
    int index = Arrays.binarySearch(sorted, Math.nextUp(x));
    if (index < 0) {
      return -index - 1;
    }
    while (index > 0 && sorted[index - 1] >= Math.nextUp(x)) {
      index--;
    }
    return index;
  }

  static int lowerBound(double[] sorted, double x) {
    return upperBound(sorted, Math.nextDown(x));
  }
}
