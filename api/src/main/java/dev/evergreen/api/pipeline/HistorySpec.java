package dev.evergreen.api.pipeline;

import com.fasterxml.jackson.annotation.JsonCreator;
import dev.evergreen.api.validation.Severity;

/**
 * Checks of a batch's row count and per-column null fractions against the pipeline's recent
 * accepted batches: a value more than {@code k} standard deviations from the mean of the last
 * {@code window} batches is an anomaly.
 *
 * @param enabled false turns the checks off; true by default
 * @param k number of population standard deviations from the mean beyond which a value is an
 *     anomaly, greater than 0, 3 by default
 * @param minBatches fewest earlier batches the checks need; with fewer they are skipped, 5 by
 *     default
 * @param window most recent accepted batches the mean and standard deviation are taken over, 20 by
 *     default
 * @param severity severity of a history anomaly, warning by default
 */
public record HistorySpec(
    Boolean enabled, Double k, Integer minBatches, Integer window, Severity severity) {
  public static final HistorySpec DEFAULT = new HistorySpec(null, null, null, null, null);

  @JsonCreator
  public HistorySpec {
    enabled = enabled == null ? Boolean.TRUE : enabled;
    k = k == null ? 3.0 : k;
    minBatches = minBatches == null ? 5 : minBatches;
    window = window == null ? 20 : window;
    severity = severity == null ? Severity.WARNING : severity;
    if (!(k > 0)) {
      throw new IllegalArgumentException("validation.history.k must be greater than 0, got " + k);
    }
    if (minBatches < 2) {
      throw new IllegalArgumentException(
          "validation.history.minBatches must be at least 2, got " + minBatches);
    }
    if (window < minBatches) {
      throw new IllegalArgumentException(
          "validation.history.window must be at least minBatches ("
              + minBatches
              + "), got "
              + window);
    }
  }
}
