package dev.evergreen.core.tracking;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Durable MLflow experiments and the runs created through the MLflow API, with their metric
 * history, params and tags. Evergreen pipeline runs are not stored here: {@link TrackingService}
 * maps them from the metadata store. Each method is atomic on its own; {@link #inTransaction}
 * groups calls of one thread.
 */
public interface TrackingStore {
  <T> T inTransaction(Supplier<T> work);

  /**
   * Inserts an experiment with the next free id.
   *
   * @throws dev.evergreen.api.EvergreenException CONFLICT when the name is taken
   */
  Experiment insertExperiment(
      String name,
      String artifactLocation,
      String pipeline,
      Map<String, String> tags,
      Instant createdAt);

  Optional<Experiment> findExperiment(String id);

  Optional<Experiment> findExperimentByName(String name);

  Optional<Experiment> findExperimentByPipeline(String pipeline);

  /** Returns every experiment, by id. */
  List<Experiment> listExperiments();

  /**
   * Stores the name, lifecycle stage and last update time of an experiment.
   *
   * @throws dev.evergreen.api.EvergreenException CONFLICT when the new name is taken
   */
  void updateExperiment(Experiment experiment);

  void setExperimentTag(String experimentId, String key, String value, Instant at);

  /** Inserts a run with its params, tags and metric points. */
  void insertRun(TrackedRun run);

  Optional<TrackedRun> findRun(String id);

  /** Returns the runs of the experiments, in insertion order. */
  List<TrackedRun> listRuns(Collection<String> experimentIds);

  /**
   * Returns one page of the runs of the experiments that are in the view and match every clause,
   * ordered by the keys, then by start time (newest first), then by id. Filters and ordering follow
   * {@link TrackingService#searchRuns}; the caller has validated clauses and keys.
   *
   * @param offset number of matching runs to skip
   * @param limit maximum number of runs to return
   */
  List<TrackedRun> searchRuns(
      Collection<String> experimentIds,
      List<SearchFilter.Clause> clauses,
      ViewType view,
      List<SearchFilter.OrderKey> orderBy,
      int offset,
      int limit);

  /** Stores the name, status, end time and lifecycle stage of a run. */
  void updateRun(TrackedRun run);

  void logMetrics(String runId, List<MetricPoint> points);

  /**
   * Inserts params. Logging a param again with the same value changes nothing.
   *
   * @throws dev.evergreen.api.EvergreenException INVALID_INPUT when a param already has another
   *     value
   */
  void logParams(String runId, Map<String, String> params);

  /** Inserts or replaces tags. */
  void setTags(String runId, Map<String, String> tags);

  /** Deletes a tag; returns false when the run has no such tag. */
  boolean deleteTag(String runId, String key);

  /**
   * Logs dataset inputs of a run of an experiment. As in MLflow, a dataset that the experiment
   * already has under the same name and digest is reused as stored, and an input that the run
   * already has is left unchanged, tags included.
   */
  void logInputs(String runId, String experimentId, List<DatasetInput> inputs);

  /** Returns every point of a metric, in logging order. */
  List<MetricPoint> metricHistory(String runId, String key);
}
