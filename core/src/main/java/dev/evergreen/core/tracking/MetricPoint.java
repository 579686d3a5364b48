package dev.evergreen.core.tracking;

/**
 * One logged value of a metric.
 *
 * @param value may be NaN or infinite, as MLflow allows
 * @param timestamp milliseconds since the epoch
 */
public record MetricPoint(String key, double value, long timestamp, long step) {
  /**
   * Returns whether this point replaces {@code other} as the latest value of its key: MLflow keeps
   * the point with the highest step, then the latest timestamp, then the highest value.
   */
  public boolean isLaterThan(MetricPoint other) {
    if (step != other.step) {
      return step > other.step;
    }
    if (timestamp != other.timestamp) {
      return timestamp > other.timestamp;
    }
    return Double.compare(value, other.value) > 0;
  }
}
