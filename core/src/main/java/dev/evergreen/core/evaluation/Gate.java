package dev.evergreen.core.evaluation;

import dev.evergreen.api.pipeline.EvaluationSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The promotion gate: decides whether a challenger model replaces the champion, both scored on the
 * same holdout rows.
 */
public final class Gate {
  /** Metrics where a lower value is better; for all others higher is better. */
  public static final Set<String> LOWER_IS_BETTER = Set.of("log_loss", "rmse", "mae");

  /**
   * Slack for floating-point rounding when comparing a margin with the required improvement, so
   * that 0.6 against 0.5 meets a required 0.1 although 0.6 - 0.5 is 0.09999999999999998.
   */
  private static final double ROUNDING = 1e-12;

  private Gate() {}

  /** Returns whether lower values of a metric are better. */
  public static boolean lowerIsBetter(String metric) {
    return LOWER_IS_BETTER.contains(metric);
  }

  /**
   * Decides whether to promote. The challenger is promoted when every floor of {@code spec} is met
   * and either there is no champion or the challenger beats the champion's {@code spec.metric()} by
   * at least {@code spec.minImprovement()}. A missing or NaN metric never passes.
   *
   * @param champion the champion's metrics on the same holdout, or null when there is no champion
   */
  public static GateDecision decide(
      EvaluationSpec spec, Map<String, Double> challenger, Map<String, Double> champion) {
    String metric = spec.metric();
    List<String> failures = new ArrayList<>();
    for (Map.Entry<String, Double> floor : new TreeMap<>(spec.floors()).entrySet()) {
      String failure = checkFloor(floor.getKey(), floor.getValue(), challenger.get(floor.getKey()));
      if (failure != null) {
        failures.add(failure);
      }
    }

    Double challengerValue = challenger.get(metric);
    String comparison;
    boolean beatsChampion;
    if (!isNumber(challengerValue)) {
      comparison =
          "challenger " + metric + " is " + describe(challengerValue) + ", which never passes";
      beatsChampion = false;
    } else if (champion == null) {
      comparison = "no champion; challenger " + metric + " " + format(challengerValue);
      beatsChampion = true;
    } else {
      Double championValue = champion.get(metric);
      if (!isNumber(championValue)) {
        comparison =
            "challenger "
                + metric
                + " "
                + format(challengerValue)
                + " vs champion "
                + describe(championValue)
                + ": the champion's metric cannot be compared, so the challenger is not promoted";
        beatsChampion = false;
      } else {
        double improvement =
            lowerIsBetter(metric)
                ? championValue - challengerValue
                : challengerValue - championValue;
        beatsChampion = improvement >= spec.minImprovement() - ROUNDING;
        comparison =
            "challenger "
                + metric
                + " "
                + format(challengerValue)
                + " vs champion "
                + format(championValue)
                + ": improvement "
                + format(improvement)
                + (beatsChampion ? " >= " : " < ")
                + "required "
                + format(spec.minImprovement())
                + (lowerIsBetter(metric) ? " (lower is better)" : "");
      }
    }

    StringBuilder reason = new StringBuilder(comparison);
    for (String failure : failures) {
      reason.append("; ").append(failure);
    }
    return new GateDecision(beatsChampion && failures.isEmpty(), reason.toString());
  }

  /** Returns a description of the failed floor, or null when the floor is met. */
  private static String checkFloor(String metric, double floor, Double value) {
    boolean lower = lowerIsBetter(metric);
    String bound = "floor " + metric + (lower ? " <= " : " >= ") + format(floor);
    if (!isNumber(value)) {
      return bound + " failed: challenger " + metric + " is " + describe(value);
    }
    boolean met = lower ? value <= floor : value >= floor;
    return met ? null : bound + " failed: challenger " + metric + " " + format(value);
  }

  private static boolean isNumber(Double value) {
    return value != null && !value.isNaN();
  }

  private static String describe(Double value) {
    return value == null ? "missing" : format(value);
  }

  /**
   * Formats a metric with four decimals, or three significant digits when it is nonzero and that
   * would hide it (below 0.001 in magnitude).
   */
  static String format(double value) {
    if (Double.isNaN(value)) {
      return "NaN";
    }
    if (value != 0 && Math.abs(value) < 0.001) {
      return String.format(Locale.ROOT, "%.3g", value);
    }
    return String.format(Locale.ROOT, "%.4f", value);
  }
}
