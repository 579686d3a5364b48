package dev.evergreen.core.tracking;

import dev.evergreen.api.run.RunStatus;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A run as MLflow shows it: either created through the MLflow API, or an Evergreen pipeline run
 * mapped onto MLflow's fields.
 *
 * @param metrics the latest point of each metric key (see {@link MetricPoint#isLaterThan})
 * @param endTime null while the run is not terminal
 * @param pipelineRun true for an Evergreen pipeline run, which the MLflow API cannot change
 * @param inputs datasets logged with {@code runs/log-inputs}, in logging order
 */
public record TrackedRun(
    String id,
    String experimentId,
    String name,
    String userId,
    RunStatus status,
    Instant startTime,
    Instant endTime,
    String artifactUri,
    LifecycleStage lifecycleStage,
    List<MetricPoint> metrics,
    Map<String, String> params,
    Map<String, String> tags,
    boolean pipelineRun,
    List<DatasetInput> inputs) {
  public TrackedRun {
    metrics = List.copyOf(metrics);
    params = Map.copyOf(params);
    tags = Map.copyOf(tags);
    inputs = List.copyOf(inputs);
  }

  /** Creates a run without dataset inputs. */
  public TrackedRun(
      String id,
      String experimentId,
      String name,
      String userId,
      RunStatus status,
      Instant startTime,
      Instant endTime,
      String artifactUri,
      LifecycleStage lifecycleStage,
      List<MetricPoint> metrics,
      Map<String, String> params,
      Map<String, String> tags,
      boolean pipelineRun) {
    this(
        id,
        experimentId,
        name,
        userId,
        status,
        startTime,
        endTime,
        artifactUri,
        lifecycleStage,
        metrics,
        params,
        tags,
        pipelineRun,
        List.of());
  }

  /** Returns the latest value of a metric, or null when the run has no such metric. */
  public Double metric(String key) {
    for (MetricPoint point : metrics) {
      if (point.key().equals(key)) {
        return point.value();
      }
    }
    return null;
  }
}
