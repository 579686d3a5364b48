package dev.evergreen.store.sqlite;

import dev.evergreen.core.tracking.LifecycleStage;
import dev.evergreen.core.tracking.SearchFilter;
import dev.evergreen.core.tracking.ViewType;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * The SQL of an MLflow run search: it selects the ids of one page of matching runs from {@code
 * tracking_runs r}, with the same results as the in-memory search of {@code Searches}.
 *
 * <p>Metric clauses and keys read {@code latest_metrics}, where a NULL value is NaN: NaN matches
 * only {@code !=}, and orders above every number, as {@link Double#compare} does. Runs without the
 * value of an order key come last in both directions.
 *
 * <p>NOTE: SQLite compares text by UTF-8 bytes, which is code point order, while the in-memory
 * search compares UTF-16 units; the two orders differ only between characters above U+FFFF and
 * characters from U+E000 to U+FFFF.
 */
final class RunSearchQuery {
  private final StringBuilder joins = new StringBuilder();
  private final List<Object> joinArguments = new ArrayList<>();
  private final StringBuilder conditions = new StringBuilder();
  private final List<Object> conditionArguments = new ArrayList<>();
  private final List<String> order = new ArrayList<>();
  private int aliases;

  private RunSearchQuery() {}

  /** The statement text and its arguments, in binding order. */
  record Statement(String sql, List<Object> arguments) {
    void bind(PreparedStatement statement) throws SQLException {
      for (int i = 0; i < arguments.size(); i++) {
        statement.setObject(i + 1, arguments.get(i));
      }
    }
  }

  /**
   * Builds the statements of a search, to run in order: each returns run ids in the final order,
   * and their results concatenated, then cut at {@code offset}, are the page.
   *
   * <p>When the first order key is a metric, the search runs in three parts: runs with a number for
   * it, walked in value order through the {@code (key, value)} index so that SQLite stops after
   * {@code offset + limit} matches; runs where it is NaN; and runs without it. Otherwise one
   * statement reads every run of the experiments and sorts the matches.
   */
  static List<Statement> build(
      List<Long> experimentIds,
      List<SearchFilter.Clause> clauses,
      ViewType view,
      List<SearchFilter.OrderKey> orderBy,
      int offset,
      int limit) {
    RunSearchQuery query = new RunSearchQuery();
    query.conditions.append(
        "r.experiment_id IN ("
            + String.join(", ", Collections.nCopies(experimentIds.size(), "?"))
            + ")");
    query.conditionArguments.addAll(experimentIds);
    switch (view) {
      case ACTIVE_ONLY ->
          query.condition("r.lifecycle_stage = ?", LifecycleStage.ACTIVE.mlflowName());
      case DELETED_ONLY ->
          query.condition("r.lifecycle_stage = ?", LifecycleStage.DELETED.mlflowName());
      case ALL -> {}
    }
    for (SearchFilter.Clause clause : clauses) {
      query.filter(clause);
    }
    // Without order keys, the first key is the start time, newest first.
    SearchFilter.OrderKey first =
        orderBy.isEmpty()
            ? new SearchFilter.OrderKey(SearchFilter.Entity.ATTRIBUTE, "start_time", false)
            : orderBy.get(0);
    boolean metricFirst = first.entity() == SearchFilter.Entity.METRIC;
    boolean startTimeFirst =
        first.entity() == SearchFilter.Entity.ATTRIBUTE
            && first.key().equalsIgnoreCase("start_time");
    List<SearchFilter.OrderKey> rest =
        metricFirst || startTimeFirst
            ? orderBy.subList(Math.min(1, orderBy.size()), orderBy.size())
            : orderBy;
    for (SearchFilter.OrderKey key : rest) {
      query.orderBy(key);
    }
    query.order.add("r.start_time IS NULL");
    query.order.add("r.start_time DESC");
    query.order.add("r.id");

    int fetch = offset + limit;
    String byRun = "SELECT r.id FROM tracking_runs r";
    // INDEXED BY, because without statistics SQLite 3.54 prefers the experiment index and sorts
    // every run of the experiment.
    String byStartTime = byRun + " INDEXED BY tracking_runs_by_experiment_start";
    if (startTimeFirst) {
      // Runs with a start time walk the (experiment_id, start_time) index; runs without one
      // come last in both directions.
      return List.of(
          query.statement(
              byStartTime,
              "r.start_time IS NOT NULL AND ",
              List.of(),
              first.ascending() ? "r.start_time, " : "r.start_time DESC, ",
              fetch,
              null),
          query.statement(byStartTime, "r.start_time IS NULL AND ", List.of(), "", fetch, null));
    }
    if (!metricFirst) {
      return List.of(query.statement(byRun, "", List.of(), "", limit, offset));
    }
    String byMetric =
        "SELECT r.id FROM latest_metrics f INDEXED BY latest_metrics_by_key_value"
            + " JOIN tracking_runs r ON r.id = f.run_id";
    Statement numbers =
        query.statement(
            byMetric,
            "f.key = ? AND f.value IS NOT NULL AND ",
            List.of(first.key()),
            first.ascending() ? "f.value, " : "f.value DESC, ",
            fetch,
            null);
    Statement nans =
        query.statement(
            byMetric, "f.key = ? AND f.value IS NULL AND ", List.of(first.key()), "", fetch, null);
    Statement missing =
        query.statement(
            byRun,
            "NOT EXISTS (SELECT 1 FROM latest_metrics f WHERE f.run_id = r.id AND f.key = ?) AND ",
            List.of(first.key()),
            "",
            fetch,
            null);
    // NaN orders above every number, as Double.compare does.
    return first.ascending() ? List.of(numbers, nans, missing) : List.of(nans, numbers, missing);
  }

  /**
   * Assembles one statement from a select, the joins of the order keys, a leading condition, the
   * filter conditions and the order terms.
   *
   * @param offset null for a statement that returns its first {@code limit} rows
   */
  private Statement statement(
      String select,
      String leadingCondition,
      List<Object> leadingArguments,
      String leadingOrder,
      int limit,
      Integer offset) {
    List<Object> arguments = new ArrayList<>(joinArguments);
    arguments.addAll(leadingArguments);
    arguments.addAll(conditionArguments);
    arguments.add(limit);
    String sql =
        select
            + joins
            + " WHERE "
            + leadingCondition
            + conditions
            + " ORDER BY "
            + leadingOrder
            + String.join(", ", order)
            + " LIMIT ?";
    if (offset != null) {
      sql += " OFFSET ?";
      arguments.add(offset);
    }
    return new Statement(sql, arguments);
  }

  private void condition(String sql, Object... arguments) {
    conditions.append(" AND ").append(sql);
    conditionArguments.addAll(List.of(arguments));
  }

  private void filter(SearchFilter.Clause clause) {
    switch (clause.entity()) {
      case METRIC -> {
        conditionArguments.add(clause.key());
        String comparison = number(clause, "m.value", true);
        conditions
            .append(" AND EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_id = r.id")
            .append(" AND m.key = ? AND ")
            .append(comparison)
            .append(")");
      }
      case PARAM -> keyValueFilter("run_params", clause);
      case TAG -> keyValueFilter("run_tags", clause);
      case ATTRIBUTE -> {
        String attribute = clause.key().toLowerCase(Locale.ROOT);
        String comparison =
            switch (attribute) {
              case "start_time", "end_time" -> number(clause, "r." + attribute, false);
              default -> text(clause, attributeColumn(attribute));
            };
        conditions.append(" AND ").append(comparison);
      }
    }
  }

  private void keyValueFilter(String table, SearchFilter.Clause clause) {
    conditionArguments.add(clause.key());
    String comparison = text(clause, "v.value");
    conditions
        .append(" AND EXISTS (SELECT 1 FROM ")
        .append(table)
        .append(" v WHERE v.run_id = r.id AND v.key = ? AND ")
        .append(comparison)
        .append(")");
  }

  /**
   * Returns a numeric comparison and adds its argument.
   *
   * @param nullIsNaN true for metric values, where NULL is NaN; false for attributes, where NULL is
   *     a missing value that never matches
   */
  private String number(SearchFilter.Clause clause, String column, boolean nullIsNaN) {
    double expected = clause.number();
    String comparator = clause.comparator();
    if (Double.isNaN(expected)) {
      // Every comparison with NaN is false except !=, which is true for any present value.
      if (!comparator.equals("!=")) {
        return "0";
      }
      return nullIsNaN ? "1" : column + " IS NOT NULL";
    }
    conditionArguments.add(expected);
    if (comparator.equals("!=") && nullIsNaN) {
      return "(" + column + " IS NULL OR " + column + " != ?)";
    }
    return column + " " + comparator + " ?";
  }

  /** Returns a text comparison and adds its arguments. */
  private String text(SearchFilter.Clause clause, String column) {
    SearchFilter.checkTextComparator(clause);
    String comparator = clause.comparator();
    switch (comparator) {
      case "LIKE" -> {
        conditionArguments.add(glob(clause.values().get(0)));
        return column + " GLOB ?";
      }
      case "ILIKE" -> {
        // Without an ESCAPE clause SQLite's LIKE has no escape character, as MLflow's patterns.
        conditionArguments.add(clause.values().get(0));
        return column + " LIKE ?";
      }
      case "IN", "NOT IN" -> {
        conditionArguments.addAll(clause.values());
        return column
            + " "
            + comparator
            + " ("
            + String.join(", ", Collections.nCopies(clause.values().size(), "?"))
            + ")";
      }
      default -> {
        conditionArguments.add(clause.values().get(0));
        return column + " " + comparator + " ?";
      }
    }
  }

  /**
   * Translates a case-sensitive LIKE pattern into a GLOB pattern: {@code %} and {@code _} become
   * {@code *} and {@code ?}, and GLOB's own wildcards are matched literally.
   */
  static String glob(String like) {
    StringBuilder glob = new StringBuilder();
    for (char c : like.toCharArray()) {
      switch (c) {
        case '%' -> glob.append('*');
        case '_' -> glob.append('?');
        case '*', '?', '[' -> glob.append('[').append(c).append(']');
        default -> glob.append(c);
      }
    }
    return glob.toString();
  }

  private void orderBy(SearchFilter.OrderKey key) {
    String direction = key.ascending() ? "" : " DESC";
    String alias = "o" + aliases++;
    switch (key.entity()) {
      case METRIC -> {
        join("latest_metrics", alias, key.key());
        order.add(alias + ".run_id IS NULL");
        order.add(alias + ".value IS NULL" + direction);
        order.add(alias + ".value" + direction);
      }
      case PARAM -> orderByValue(join("run_params", alias, key.key()), direction);
      case TAG -> orderByValue(join("run_tags", alias, key.key()), direction);
      case ATTRIBUTE -> {
        String column =
            switch (key.key().toLowerCase(Locale.ROOT)) {
              case "start_time" -> "r.start_time";
              case "end_time" -> "r.end_time";
              default -> attributeColumn(key.key().toLowerCase(Locale.ROOT));
            };
        order.add(column + " IS NULL");
        order.add(column + direction);
      }
    }
  }

  private void orderByValue(String alias, String direction) {
    order.add(alias + ".value IS NULL");
    order.add(alias + ".value" + direction);
  }

  private String join(String table, String alias, String key) {
    joins
        .append(" LEFT JOIN ")
        .append(table)
        .append(' ')
        .append(alias)
        .append(" ON ")
        .append(alias)
        .append(".run_id = r.id AND ")
        .append(alias)
        .append(".key = ?");
    joinArguments.add(key);
    return alias;
  }

  /** Returns the column of a text attribute; the caller has validated the name. */
  private static String attributeColumn(String attribute) {
    return switch (attribute) {
      case "status" -> "r.status";
      case "run_name" -> "r.name";
      case "run_id" -> "r.id";
      case "user_id" -> "r.user_id";
      case "artifact_uri" -> "r.artifact_uri";
      default -> throw new IllegalArgumentException("unknown run attribute " + attribute);
    };
  }
}
