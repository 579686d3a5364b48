package dev.evergreen.api.pipeline;

import java.util.Map;

/**
 * Promotion gate: the challenger is promoted when its {@code metric} on the holdout beats the
 * champion's on the same rows by at least {@code minImprovement} and every floor is met.
 *
 * @param metric one of auc, log_loss, accuracy, f1, rmse, mae, r2; for log_loss, rmse and mae lower
 *     is better
 * @param minImprovement required margin over the champion, in the metric's units
 * @param floors metric name to the worst acceptable value (a minimum, or a maximum for metrics
 *     where lower is better)
 */
public record EvaluationSpec(String metric, Double minImprovement, Map<String, Double> floors) {
  public EvaluationSpec {
    minImprovement = minImprovement == null ? 0.0 : minImprovement;
    floors = floors == null ? Map.of() : Map.copyOf(floors);
  }
}
