package dev.evergreen.core.tracking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.store.sqlite.SqliteMetadataStore;
import dev.evergreen.store.sqlite.SqliteTrackingStore;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks that the SQL run search of {@link SqliteTrackingStore} returns what the in-memory search
 * of {@link Searches} returns, for filters and orders over NaN, infinite and missing metrics,
 * missing params and tags, LIKE wildcards and ties. It lives in the package of {@code Searches} to
 * call it directly.
 */
class SqliteRunSearchTest {
  private static final double[] METRIC_VALUES = {
    Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -1, 0, 0.5, 1, 2.5
  };
  private static final String[] TEXT_VALUES = {
    "abc", "Abc", "ABC", "a*c", "a?c", "a[c", "b", "ébc", "run-10", ""
  };

  @TempDir static Path dir;

  private static SqliteMetadataStore metadata;
  private static SqliteTrackingStore tracking;
  private static String experimentId;

  @BeforeAll
  static void createRuns() {
    metadata = SqliteMetadataStore.open(dir.resolve("evergreen.db"));
    tracking = new SqliteTrackingStore(metadata);
    experimentId = tracking.insertExperiment("search", "", null, Map.of(), Instant.EPOCH).id();
    Random random = new Random(42);
    for (int i = 0; i < 120; i++) {
      String id = String.format("%032x", i * 7919L);
      Map<String, String> params = new LinkedHashMap<>();
      if (random.nextInt(5) > 0) {
        params.put("p", TEXT_VALUES[random.nextInt(TEXT_VALUES.length)]);
      }
      Map<String, String> tags = new LinkedHashMap<>();
      if (random.nextBoolean()) {
        tags.put("t", TEXT_VALUES[random.nextInt(TEXT_VALUES.length)]);
      }
      Long[] starts = {null, 1_000L, 2_000L, 3_000L};
      Long start = starts[random.nextInt(starts.length)];
      Long end = random.nextBoolean() ? null : 3_000L + random.nextInt(3);
      RunStatus status = RunStatus.values()[random.nextInt(RunStatus.values().length)];
      tracking.insertRun(
          new TrackedRun(
              id,
              experimentId,
              "run-" + i,
              random.nextBoolean() ? "u1" : null,
              status,
              start == null ? null : Instant.ofEpochMilli(start),
              end == null ? null : Instant.ofEpochMilli(end),
              "mlflow-artifacts:/" + experimentId + "/" + id + "/artifacts",
              random.nextInt(6) == 0 ? LifecycleStage.DELETED : LifecycleStage.ACTIVE,
              List.of(),
              params,
              tags,
              false));
      List<MetricPoint> points = new ArrayList<>();
      for (String key : List.of("a", "b")) {
        int count = random.nextInt(4);
        for (int point = 0; point < count; point++) {
          points.add(
              new MetricPoint(
                  key,
                  METRIC_VALUES[random.nextInt(METRIC_VALUES.length)],
                  random.nextInt(3),
                  random.nextInt(2)));
        }
      }
      // Two requests, so the latest point is also chosen across stored and new points.
      int half = points.size() / 2;
      tracking.logMetrics(id, points.subList(0, half));
      tracking.logMetrics(id, points.subList(half, points.size()));
    }
  }

  @AfterAll
  static void close() {
    metadata.close();
  }

  @Test
  void storedLatestMetricMatchesHistory() {
    for (TrackedRun run : tracking.listRuns(List.of(experimentId))) {
      for (String key : List.of("a", "b")) {
        MetricPoint expected = null;
        for (MetricPoint point : tracking.metricHistory(run.id(), key)) {
          if (expected == null || point.isLaterThan(expected)) {
            expected = point;
          }
        }
        MetricPoint actual =
            run.metrics().stream().filter(p -> p.key().equals(key)).findFirst().orElse(null);
        assertThat(actual).as("metric %s of run %s", key, run.id()).isEqualTo(expected);
      }
    }
  }

  @Test
  void filtersMatchInMemorySearch() {
    List<String> filters =
        List.of(
            "",
            "metrics.a > 0.5",
            "metrics.a >= 0",
            "metrics.a < 1",
            "metrics.a <= -1",
            "metrics.a = 1",
            "metrics.a != 0.5",
            "metrics.a = NaN",
            "metrics.a != NaN",
            "metrics.a < Infinity",
            "metrics.a > -Infinity",
            "metrics.b != 0 AND metrics.a > -1",
            "params.p = 'abc'",
            "params.p != 'abc'",
            "params.p LIKE 'a%'",
            "params.p LIKE 'a_c'",
            "params.p LIKE '%*%'",
            "params.p LIKE 'a[c'",
            "params.p LIKE '_bc'",
            "params.p ILIKE 'a%'",
            "params.p ILIKE 'ABC'",
            "params.p IN ('abc', 'b')",
            "params.p NOT IN ('abc', '')",
            "tags.t = 'b'",
            "tags.t LIKE '%'",
            "attributes.status = 'FINISHED'",
            "attributes.status IN ('RUNNING', 'FAILED')",
            "attributes.run_name LIKE 'run-1%'",
            "attributes.user_id = 'u1'",
            "attributes.user_id != 'u1'",
            "attributes.start_time > 1000",
            "attributes.start_time != 2000",
            "attributes.end_time = 3001",
            "attributes.end_time != NaN",
            "attributes.artifact_uri LIKE '%/artifacts'",
            "metrics.a > 0 AND params.p = 'abc' AND attributes.status != 'KILLED'");
    for (String filter : filters) {
      for (ViewType view : ViewType.values()) {
        assertSameResults(filter, view, List.of(), 0, 1_000);
      }
    }
  }

  @Test
  void sqlSearchRejectsOrderingOnText() {
    for (String filter : List.of("params.p > 'a'", "tags.t <= 'b'", "attributes.status >= 'F'")) {
      List<SearchFilter.Clause> clauses = SearchFilter.parse(filter);

      assertThatThrownBy(
              () ->
                  tracking.searchRuns(
                      List.of(experimentId), clauses, ViewType.ALL, List.of(), 0, 10))
          .as(filter)
          .isInstanceOfSatisfying(
              EvergreenException.class,
              e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT));
    }
  }

  @Test
  void ordersMatchInMemorySearch() {
    List<List<String>> orders =
        List.of(
            List.of(),
            List.of("metrics.a"),
            List.of("metrics.a DESC"),
            List.of("metrics.b ASC", "metrics.a DESC"),
            List.of("params.p"),
            List.of("params.p DESC", "metrics.b"),
            List.of("tags.t DESC"),
            List.of("attributes.start_time"),
            List.of("attributes.end_time DESC"),
            List.of("attributes.run_name DESC"),
            List.of("attributes.status", "metrics.a DESC"),
            List.of("attributes.user_id"),
            List.of("attributes.run_id DESC"));
    for (List<String> order : orders) {
      assertSameResults("", ViewType.ALL, order, 0, 1_000);
      assertSameResults("metrics.a > -1", ViewType.ACTIVE_ONLY, order, 0, 1_000);
    }
  }

  @Test
  void pagesMatchInMemorySearch() {
    for (int offset : new int[] {0, 5, 50, 119, 200}) {
      assertSameResults("", ViewType.ALL, List.of("metrics.a DESC"), offset, 7);
      assertSameResults("params.p LIKE '%'", ViewType.ALL, List.of(), offset, 11);
      assertSameResults("", ViewType.ALL, List.of("metrics.b", "params.p"), offset, 13);
      assertSameResults("", ViewType.ALL, List.of("attributes.start_time DESC"), offset, 3);
    }
  }

  private static void assertSameResults(
      String filter, ViewType view, List<String> orderBy, int offset, int limit) {
    List<SearchFilter.Clause> clauses = SearchFilter.parse(filter);
    Comparator<TrackedRun> order = Searches.runOrder(orderBy);
    List<TrackedRun> expected = new ArrayList<>();
    for (TrackedRun run : tracking.listRuns(List.of(experimentId))) {
      if (view.includes(run.lifecycleStage()) && Searches.matches(run, clauses)) {
        expected.add(run);
      }
    }
    expected.sort(order);
    List<String> expectedIds =
        expected
            .subList(Math.min(offset, expected.size()), Math.min(offset + limit, expected.size()))
            .stream()
            .map(TrackedRun::id)
            .toList();

    List<String> actualIds =
        tracking
            .searchRuns(
                List.of(experimentId),
                clauses,
                view,
                orderBy.stream().map(SearchFilter::parseOrder).toList(),
                offset,
                limit)
            .stream()
            .map(TrackedRun::id)
            .toList();

    assertThat(actualIds)
        .as("filter '%s', view %s, order %s, offset %d", filter, view, orderBy, offset)
        .isEqualTo(expectedIds);
  }
}
