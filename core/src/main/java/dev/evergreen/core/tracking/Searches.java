package dev.evergreen.core.tracking;

import dev.evergreen.api.EvergreenException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/** Filtering, ordering and paging of experiments and runs by MLflow's search rules. */
final class Searches {
  private Searches() {}

  static boolean matches(Experiment experiment, List<SearchFilter.Clause> clauses) {
    for (SearchFilter.Clause clause : clauses) {
      boolean match =
          switch (clause.entity()) {
            case TAG -> SearchFilter.compareText(clause, experiment.tags().get(clause.key()));
            case ATTRIBUTE ->
                switch (clause.key().toLowerCase(Locale.ROOT)) {
                  case "name" -> SearchFilter.compareText(clause, experiment.name());
                  case "experiment_id" -> SearchFilter.compareText(clause, experiment.id());
                  case "creation_time" ->
                      SearchFilter.compareNumber(clause, millis(experiment.creationTime()));
                  case "last_update_time" ->
                      SearchFilter.compareNumber(clause, millis(experiment.lastUpdateTime()));
                  default ->
                      throw EvergreenException.invalid(
                          "experiments cannot be filtered by attribute '"
                              + clause.key()
                              + "'; use name, creation_time, last_update_time or tags.<key>");
                };
            default ->
                throw EvergreenException.invalid(
                    "experiments cannot be filtered by "
                        + clause.describe()
                        + "; use name, creation_time, last_update_time or tags.<key>");
          };
      if (!match) {
        return false;
      }
    }
    return true;
  }

  static boolean matches(TrackedRun run, List<SearchFilter.Clause> clauses) {
    for (SearchFilter.Clause clause : clauses) {
      boolean match =
          switch (clause.entity()) {
            case METRIC -> SearchFilter.compareNumber(clause, run.metric(clause.key()));
            case PARAM -> SearchFilter.compareText(clause, run.params().get(clause.key()));
            case TAG -> SearchFilter.compareText(clause, run.tags().get(clause.key()));
            case ATTRIBUTE -> matchesAttribute(run, clause);
          };
      if (!match) {
        return false;
      }
    }
    return true;
  }

  private static boolean matchesAttribute(TrackedRun run, SearchFilter.Clause clause) {
    return switch (clause.key().toLowerCase(Locale.ROOT)) {
      case "status" -> SearchFilter.compareText(clause, run.status().name());
      case "run_name" -> SearchFilter.compareText(clause, run.name());
      case "run_id" -> SearchFilter.compareText(clause, run.id());
      case "user_id" -> SearchFilter.compareText(clause, run.userId());
      case "artifact_uri" -> SearchFilter.compareText(clause, run.artifactUri());
      case "start_time" -> SearchFilter.compareNumber(clause, millis(run.startTime()));
      case "end_time" -> SearchFilter.compareNumber(clause, millis(run.endTime()));
      default -> throw unknownRunAttribute(clause);
    };
  }

  private static EvergreenException unknownRunAttribute(SearchFilter.Clause clause) {
    return EvergreenException.invalid(
        "runs cannot be filtered by attribute '"
            + clause.key()
            + "'; use status, run_name, run_id, user_id, artifact_uri, start_time or"
            + " end_time");
  }

  /**
   * Checks run filter clauses with the errors that {@link #matches(TrackedRun, List)} raises, so a
   * search with an invalid clause fails even when no run would reach that clause.
   */
  static void checkRunClauses(List<SearchFilter.Clause> clauses) {
    for (SearchFilter.Clause clause : clauses) {
      switch (clause.entity()) {
        case METRIC -> SearchFilter.compareNumber(clause, 0.0);
        case PARAM, TAG -> SearchFilter.checkTextComparator(clause);
        case ATTRIBUTE -> {
          switch (clause.key().toLowerCase(Locale.ROOT)) {
            case "status", "run_name", "run_id", "user_id", "artifact_uri" ->
                SearchFilter.checkTextComparator(clause);
            case "start_time", "end_time" -> SearchFilter.compareNumber(clause, 0.0);
            default -> throw unknownRunAttribute(clause);
          }
        }
      }
    }
  }

  /**
   * Returns whether a store can evaluate the clauses exactly. SQLite's LIKE folds the case of ASCII
   * letters only, so an ILIKE pattern with other characters is matched in memory.
   */
  static boolean storeCanEvaluate(List<SearchFilter.Clause> clauses) {
    for (SearchFilter.Clause clause : clauses) {
      if (clause.comparator().equals("ILIKE")
          && !clause.values().get(0).chars().allMatch(c -> c < 0x80)) {
        return false;
      }
    }
    return true;
  }

  static void checkMaxResults(int maxResults) {
    if (maxResults < 1 || maxResults > TrackingService.MAX_RESULTS) {
      throw EvergreenException.invalid(
          "max_results must be between 1 and "
              + TrackingService.MAX_RESULTS
              + ", got "
              + maxResults);
    }
  }

  /** Orders experiments; after the given keys by creation time, newest first, then by id. */
  static Comparator<Experiment> experimentOrder(List<String> orderBy) {
    List<Comparator<Experiment>> keys = new ArrayList<>();
    for (String text : orderBy) {
      SearchFilter.OrderKey key = SearchFilter.parseOrder(text);
      if (key.entity() != SearchFilter.Entity.ATTRIBUTE) {
        throw EvergreenException.invalid(
            "experiments cannot be ordered by '"
                + text
                + "'; use name, experiment_id, creation_time or last_update_time");
      }
      Comparator<Experiment> comparator =
          switch (key.key().toLowerCase(Locale.ROOT)) {
            case "name" -> Comparator.comparing(Experiment::name);
            case "experiment_id" -> Comparator.comparingLong(e -> Long.parseLong(e.id()));
            case "creation_time" -> Comparator.comparing(Experiment::creationTime);
            case "last_update_time" -> Comparator.comparing(Experiment::lastUpdateTime);
            default ->
                throw EvergreenException.invalid(
                    "experiments cannot be ordered by '"
                        + text
                        + "'; use name, experiment_id, creation_time or last_update_time");
          };
      keys.add(key.ascending() ? comparator : comparator.reversed());
    }
    keys.add(Comparator.comparing(Experiment::creationTime).reversed());
    keys.add(Comparator.comparingLong(e -> Long.parseLong(e.id())));
    return chain(keys);
  }

  /**
   * Orders runs; after the given keys by start time, newest first, then by id. Runs without the
   * ordering value come last in both directions, as in MLflow.
   */
  static Comparator<TrackedRun> runOrder(List<String> orderBy) {
    List<Comparator<TrackedRun>> keys = new ArrayList<>();
    for (String text : orderBy) {
      SearchFilter.OrderKey key = SearchFilter.parseOrder(text);
      keys.add(
          switch (key.entity()) {
            case METRIC -> nullsLast(run -> run.metric(key.key()), key.ascending());
            case PARAM -> nullsLast(run -> run.params().get(key.key()), key.ascending());
            case TAG -> nullsLast(run -> run.tags().get(key.key()), key.ascending());
            case ATTRIBUTE -> attributeOrder(key, text);
          });
    }
    keys.add(nullsLast(TrackedRun::startTime, false));
    keys.add(Comparator.comparing(TrackedRun::id));
    return chain(keys);
  }

  private static Comparator<TrackedRun> attributeOrder(SearchFilter.OrderKey key, String text) {
    return switch (key.key().toLowerCase(Locale.ROOT)) {
      case "start_time" -> nullsLast(TrackedRun::startTime, key.ascending());
      case "end_time" -> nullsLast(TrackedRun::endTime, key.ascending());
      case "run_name" -> nullsLast(TrackedRun::name, key.ascending());
      case "status" -> nullsLast(run -> run.status().name(), key.ascending());
      case "run_id" -> nullsLast(TrackedRun::id, key.ascending());
      case "user_id" -> nullsLast(TrackedRun::userId, key.ascending());
      default ->
          throw EvergreenException.invalid(
              "runs cannot be ordered by '"
                  + text
                  + "'; use metrics.<key>, params.<key>, tags.<key> or attributes.start_time,"
                  + " end_time, run_name, status, run_id or user_id");
    };
  }

  private static <T, U extends Comparable<? super U>> Comparator<T> nullsLast(
      Function<T, U> value, boolean ascending) {
    Comparator<U> natural = Comparator.naturalOrder();
    return Comparator.comparing(
        value, Comparator.nullsLast(ascending ? natural : natural.reversed()));
  }

  private static <T> Comparator<T> chain(List<Comparator<T>> keys) {
    Comparator<T> result = keys.get(0);
    for (int i = 1; i < keys.size(); i++) {
      result = result.thenComparing(keys.get(i));
    }
    return result;
  }

  /** Cuts one page from sorted items; the token encodes the offset of the next page. */
  static <T> Page<T> page(List<T> sorted, int maxResults, String pageToken) {
    checkMaxResults(maxResults);
    int offset = offset(pageToken);
    int end = Math.min(sorted.size(), offset + maxResults);
    List<T> items = offset >= sorted.size() ? List.of() : sorted.subList(offset, end);
    String next = end < sorted.size() ? TrackingService.pageToken(end) : null;
    return new Page<>(items, next);
  }

  /** Returns the offset that a page token encodes, 0 for no token. */
  static int offset(String pageToken) {
    if (pageToken == null || pageToken.isEmpty()) {
      return 0;
    }
    try {
      String text = new String(Base64.getUrlDecoder().decode(pageToken), StandardCharsets.UTF_8);
      if (text.startsWith("offset:")) {
        int offset = Integer.parseInt(text.substring("offset:".length()));
        if (offset >= 0) {
          return offset;
        }
      }
    } catch (IllegalArgumentException e) {
      // Falls through to the error below; NumberFormatException is an IllegalArgumentException.
    }
    throw EvergreenException.invalid(
        "invalid page_token '"
            + pageToken
            + "'; pass the next_page_token of the previous response unchanged");
  }

  private static Double millis(Instant instant) {
    return instant == null ? null : (double) instant.toEpochMilli();
  }
}
