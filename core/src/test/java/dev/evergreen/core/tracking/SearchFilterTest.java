package dev.evergreen.core.tracking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import java.util.List;
import org.junit.jupiter.api.Test;

class SearchFilterTest {
  @Test
  void parseClausesJoinedWithAnd() {
    List<SearchFilter.Clause> clauses =
        SearchFilter.parse(
            "metrics.auc > 0.5 and params.depth = '6' AND tags.\"mlflow.runName\" LIKE 'cv-%'"
                + " AND attributes.status IN ('FINISHED', \"FAILED\") AND run_name != 'x'");

    assertThat(clauses).hasSize(5);
    assertThat(clauses.get(0))
        .isEqualTo(new SearchFilter.Clause(SearchFilter.Entity.METRIC, "auc", ">", List.of("0.5")));
    assertThat(clauses.get(1))
        .isEqualTo(new SearchFilter.Clause(SearchFilter.Entity.PARAM, "depth", "=", List.of("6")));
    assertThat(clauses.get(2))
        .isEqualTo(
            new SearchFilter.Clause(
                SearchFilter.Entity.TAG, "mlflow.runName", "LIKE", List.of("cv-%")));
    assertThat(clauses.get(3))
        .isEqualTo(
            new SearchFilter.Clause(
                SearchFilter.Entity.ATTRIBUTE, "status", "IN", List.of("FINISHED", "FAILED")));
    assertThat(clauses.get(4))
        .isEqualTo(
            new SearchFilter.Clause(SearchFilter.Entity.ATTRIBUTE, "run_name", "!=", List.of("x")));
  }

  @Test
  void parseBacktickKeyAndNotIn() {
    List<SearchFilter.Clause> clauses =
        SearchFilter.parse("tags.`team name` NOT IN ('a','b') AND metric.`val loss` <= 1e-3");

    assertThat(clauses.get(0).key()).isEqualTo("team name");
    assertThat(clauses.get(0).comparator()).isEqualTo("NOT IN");
    assertThat(clauses.get(0).values()).containsExactly("a", "b");
    assertThat(clauses.get(1).key()).isEqualTo("val loss");
    assertThat(clauses.get(1).number()).isEqualTo(1e-3);
  }

  @Test
  void parseBlankFilterReturnsNothing() {
    assertThat(SearchFilter.parse(null)).isEmpty();
    assertThat(SearchFilter.parse("  ")).isEmpty();
  }

  @Test
  void invalidFiltersAreRejected() {
    for (String filter :
        List.of(
            "metrics.auc >> 1",
            "metrics.auc > 0.5 OR params.a = 'b'",
            "datasets.name = 'x'",
            "params.a = 'unterminated",
            "params.a IN ('x'")) {
      assertThatThrownBy(() -> SearchFilter.parse(filter))
          .as(filter)
          .isInstanceOfSatisfying(
              EvergreenException.class,
              e -> {
                assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
                assertThat(e.getMessage()).contains(filter);
              });
    }
  }

  @Test
  void parseOrderReadsDirection() {
    assertThat(SearchFilter.parseOrder("metrics.auc DESC"))
        .isEqualTo(new SearchFilter.OrderKey(SearchFilter.Entity.METRIC, "auc", false));
    assertThat(SearchFilter.parseOrder("attributes.start_time"))
        .isEqualTo(new SearchFilter.OrderKey(SearchFilter.Entity.ATTRIBUTE, "start_time", true));
    assertThat(SearchFilter.parseOrder("name asc"))
        .isEqualTo(new SearchFilter.OrderKey(SearchFilter.Entity.ATTRIBUTE, "name", true));
    assertThatThrownBy(() -> SearchFilter.parseOrder("name sideways"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("ASC or DESC");
  }

  @Test
  void likeMatchesSqlWildcards() {
    assertThat(SearchFilter.like("cv-%", "cv-12", false)).isTrue();
    assertThat(SearchFilter.like("cv-_", "cv-12", false)).isFalse();
    assertThat(SearchFilter.like("cv-_2", "cv-12", false)).isTrue();
    assertThat(SearchFilter.like("CV-%", "cv-12", false)).isFalse();
    assertThat(SearchFilter.like("CV-%", "cv-12", true)).isTrue();
    assertThat(SearchFilter.like("a.b", "axb", false)).as("regex characters are literal").isFalse();
  }

  @Test
  void compareNumberSkipsMissingValues() {
    SearchFilter.Clause clause = SearchFilter.parse("metrics.auc >= 0.5").get(0);

    assertThat(SearchFilter.compareNumber(clause, 0.5)).isTrue();
    assertThat(SearchFilter.compareNumber(clause, 0.49)).isFalse();
    assertThat(SearchFilter.compareNumber(clause, null)).isFalse();
    SearchFilter.Clause like = SearchFilter.parse("metrics.auc LIKE '1'").get(0);
    assertThatThrownBy(() -> SearchFilter.compareNumber(like, 1.0))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("LIKE");
  }

  @Test
  void compareTextRejectsOrderingComparators() {
    for (String filter :
        List.of(
            "params.depth > '3'",
            "params.depth >= '3'",
            "tags.team < 't2'",
            "tags.team <= 't2'",
            "attributes.status > 'A'")) {
      SearchFilter.Clause clause = SearchFilter.parse(filter).get(0);

      assertThatThrownBy(() -> SearchFilter.compareText(clause, "t3"))
          .as(filter)
          .isInstanceOfSatisfying(
              EvergreenException.class,
              e -> {
                assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
                assertThat(e.getMessage()).contains("'" + clause.comparator() + "'");
                assertThat(e.getMessage()).contains("'" + clause.key() + "'");
                assertThat(e.getMessage()).contains("=, !=, LIKE, ILIKE, IN, NOT IN");
              });
      assertThatThrownBy(() -> SearchFilter.compareText(clause, null))
          .as("%s on a missing value", filter)
          .isInstanceOf(EvergreenException.class);
    }
  }

  @Test
  void compareTextAcceptsTextComparators() {
    assertThat(SearchFilter.compareText(SearchFilter.parse("params.d = '6'").get(0), "6")).isTrue();
    assertThat(SearchFilter.compareText(SearchFilter.parse("params.d != '6'").get(0), "6"))
        .isFalse();
    assertThat(SearchFilter.compareText(SearchFilter.parse("tags.t LIKE 't%'").get(0), "t3"))
        .isTrue();
    assertThat(SearchFilter.compareText(SearchFilter.parse("tags.t ILIKE 'T%'").get(0), "t3"))
        .isTrue();
    assertThat(SearchFilter.compareText(SearchFilter.parse("status IN ('A', 'B')").get(0), "B"))
        .isTrue();
    assertThat(SearchFilter.compareText(SearchFilter.parse("status NOT IN ('A')").get(0), "A"))
        .isFalse();
  }
}
