package dev.evergreen.core.tracking;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.store.ArtifactStore;
import dev.evergreen.core.store.MetadataStore;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * MLflow tracking semantics over one data model: experiments and MLflow-created runs live in a
 * {@link TrackingStore}, and Evergreen pipeline runs are read from the {@link MetadataStore} and
 * mapped by {@link PipelineRuns}, never copied. Each pipeline has one experiment, named after it
 * and created on first use. Experiment and run lifecycle changes are written to the audit log with
 * their actor.
 */
public final class TrackingService {
  /** Audit actions of MLflow tracking changes. */
  public static final String EXPERIMENT_CREATED = "mlflow.experiment.created";

  public static final String EXPERIMENT_UPDATED = "mlflow.experiment.updated";
  public static final String RUN_CREATED = "mlflow.run.created";
  public static final String RUN_UPDATED = "mlflow.run.updated";

  /** Limits of one log-batch request, as the MLflow REST API documents them. */
  public static final int MAX_BATCH_METRICS = 1_000;

  public static final int MAX_BATCH_PARAMS = 100;
  public static final int MAX_BATCH_TAGS = 100;
  public static final int MAX_BATCH_ENTRIES = 1_000;

  /** Largest page a search returns. */
  public static final int MAX_RESULTS = 50_000;

  /** Limits of a dataset input as MLflow 2.x validates them, in characters. */
  public static final int MAX_DATASET_NAME_LENGTH = 500;

  public static final int MAX_DATASET_DIGEST_LENGTH = 36;
  public static final int MAX_DATASET_SOURCE_LENGTH = 65_535;
  public static final int MAX_DATASET_SCHEMA_LENGTH = 1_048_575;
  public static final int MAX_DATASET_PROFILE_LENGTH = 16_777_215;
  public static final int MAX_INPUT_TAG_KEY_LENGTH = 255;
  public static final int MAX_INPUT_TAG_VALUE_LENGTH = 500;

  /** Maximum length of a param value in MLflow 2.17, in characters. */
  public static final int MAX_PARAM_VALUE_LENGTH = 6_000;

  /** URI scheme of artifacts that the server's MLflow artifact proxy stores. */
  public static final String ARTIFACT_SCHEME = "mlflow-artifacts:";

  /** Tag that contains a run's name, kept equal to {@code run_name} as MLflow does. */
  public static final String RUN_NAME_TAG = "mlflow.runName";

  private static final SecureRandom RANDOM = new SecureRandom();

  private final MetadataStore metadata;
  private final TrackingStore tracking;
  private final ArtifactStore artifacts;
  private final AuditLog audit;
  private final Clock clock;

  /**
   * @param artifacts where the pipeline files of pipeline runs are kept, for their params
   */
  public TrackingService(
      MetadataStore metadata,
      TrackingStore tracking,
      ArtifactStore artifacts,
      AuditLog audit,
      Clock clock) {
    this.metadata = metadata;
    this.tracking = tracking;
    this.artifacts = artifacts;
    this.audit = audit;
    this.clock = clock;
  }

  // Experiments

  public Experiment createExperiment(
      String name, String artifactLocation, Map<String, String> tags, String actor) {
    requireName(name, "experiment name");
    return metadata.inTransaction(
        () -> {
          if (tracking.findExperimentByName(name).isPresent()) {
            throw new EvergreenException(
                ErrorKind.ALREADY_EXISTS,
                "experiment '" + name + "' already exists; choose another name");
          }
          Experiment created =
              tracking.insertExperiment(
                  name, artifactLocation == null ? "" : artifactLocation, null, tags, now());
          audit.append(
              actor, EXPERIMENT_CREATED, Map.of("experiment", created.id()), Map.of("name", name));
          return created;
        });
  }

  public Experiment experiment(String id) {
    return tracking
        .findExperiment(id)
        .orElseThrow(
            () ->
                EvergreenException.notFound(
                    "no experiment with id '" + id + "'; search experiments for its id"));
  }

  public Experiment experimentByName(String name) {
    ensurePipelineExperiments();
    return tracking
        .findExperimentByName(name)
        .orElseThrow(
            () ->
                EvergreenException.notFound(
                    "no experiment named '" + name + "'; search experiments for its name"));
  }

  public Page<Experiment> searchExperiments(
      String filter, ViewType view, int maxResults, List<String> orderBy, String pageToken) {
    List<SearchFilter.Clause> clauses = SearchFilter.parse(filter);
    Comparator<Experiment> order = Searches.experimentOrder(orderBy);
    ensurePipelineExperiments();
    List<Experiment> matching = new ArrayList<>();
    for (Experiment experiment : tracking.listExperiments()) {
      if (view.includes(experiment.lifecycleStage()) && Searches.matches(experiment, clauses)) {
        matching.add(experiment);
      }
    }
    matching.sort(order);
    return Searches.page(matching, maxResults, pageToken);
  }

  public void renameExperiment(String id, String newName, String actor) {
    requireName(newName, "new experiment name");
    metadata.inTransaction(
        () -> {
          Experiment experiment = experiment(id);
          Optional<Experiment> other = tracking.findExperimentByName(newName);
          if (other.isPresent() && !other.get().id().equals(id)) {
            throw new EvergreenException(
                ErrorKind.ALREADY_EXISTS,
                "experiment '" + newName + "' already exists; choose another name");
          }
          tracking.updateExperiment(experiment.withName(newName, now()));
          audit.append(
              actor,
              EXPERIMENT_UPDATED,
              Map.of("experiment", id),
              Map.of("from_name", experiment.name(), "to_name", newName));
        });
  }

  /** Marks an experiment and its MLflow-created runs deleted, as MLflow does. */
  public void deleteExperiment(String id, String actor) {
    setExperimentStage(id, LifecycleStage.DELETED, actor);
  }

  /** Restores an experiment and the runs that were deleted with it. */
  public void restoreExperiment(String id, String actor) {
    setExperimentStage(id, LifecycleStage.ACTIVE, actor);
  }

  private void setExperimentStage(String id, LifecycleStage stage, String actor) {
    metadata.inTransaction(
        () -> {
          Experiment experiment = experiment(id);
          if (stage == LifecycleStage.DELETED && id.equals(Experiment.DEFAULT_ID)) {
            throw EvergreenException.invalid(
                "the default experiment (id 0) cannot be deleted; delete its runs instead");
          }
          if (stage == LifecycleStage.ACTIVE
              && experiment.lifecycleStage() == LifecycleStage.ACTIVE) {
            throw EvergreenException.invalid(
                "experiment " + id + " is not deleted, so there is nothing to restore");
          }
          Instant at = now();
          tracking.updateExperiment(experiment.withLifecycleStage(stage, at));
          for (TrackedRun run : tracking.listRuns(List.of(id))) {
            if (run.lifecycleStage() != stage) {
              tracking.updateRun(withStage(run, stage));
            }
          }
          audit.append(
              actor,
              EXPERIMENT_UPDATED,
              Map.of("experiment", id),
              Map.of("lifecycle_stage", stage.mlflowName()));
        });
  }

  public void setExperimentTag(String id, String key, String value, String actor) {
    requireKey(key, "tag key");
    metadata.inTransaction(
        () -> {
          Experiment experiment = experiment(id);
          requireActive(experiment);
          tracking.setExperimentTag(id, key, value == null ? "" : value, now());
          audit.append(
              actor,
              EXPERIMENT_UPDATED,
              Map.of("experiment", id),
              Map.of("tag", key, "value", value == null ? "" : value));
        });
  }

  // Runs

  /**
   * Creates a run in an active experiment ({@code 0} when {@code experimentId} is null).
   *
   * @param startTime null means now
   */
  public TrackedRun createRun(
      String experimentId,
      String userId,
      String runName,
      Instant startTime,
      Map<String, String> tags,
      String actor) {
    String experimentIdOrDefault = experimentId == null ? Experiment.DEFAULT_ID : experimentId;
    return metadata.inTransaction(
        () -> {
          Experiment experiment = experiment(experimentIdOrDefault);
          requireActive(experiment);
          if (experiment.pipeline() != null) {
            throw EvergreenException.invalid(
                "experiment "
                    + experiment.id()
                    + " contains the runs of Evergreen pipeline '"
                    + experiment.pipeline()
                    + "', which only the pipeline creates; log to another experiment");
          }
          String id = newRunId();
          String name = runName;
          if (name == null || name.isEmpty()) {
            name = tags.getOrDefault(RUN_NAME_TAG, "run-" + id.substring(0, 8));
          }
          Map<String, String> runTags = new LinkedHashMap<>(tags);
          runTags.put(RUN_NAME_TAG, name);
          TrackedRun run =
              new TrackedRun(
                  id,
                  experiment.id(),
                  name,
                  userId == null ? actor : userId,
                  RunStatus.RUNNING,
                  startTime == null ? now() : startTime,
                  null,
                  artifactUri(experiment, id),
                  LifecycleStage.ACTIVE,
                  List.of(),
                  Map.of(),
                  runTags,
                  false);
          tracking.insertRun(run);
          audit.append(
              actor,
              RUN_CREATED,
              Map.of("run", id, "experiment", experiment.id()),
              Map.of("run_name", name));
          return run;
        });
  }

  /** Returns a run by id, looking at Evergreen pipeline runs first. */
  public TrackedRun run(String id) {
    requireName(id, "run_id");
    Optional<Run> pipelineRun = metadata.findRun(id);
    if (pipelineRun.isPresent()) {
      return PipelineRuns.toTracked(
          pipelineRun.get(),
          pipelineExperiment(pipelineRun.get()).id(),
          artifacts,
          snapshotOf(pipelineRun.get()));
    }
    return tracking
        .findRun(id)
        .orElseThrow(
            () ->
                EvergreenException.notFound("no run with id '" + id + "'; search runs for its id"));
  }

  /**
   * Updates status, end time and name of a run; null arguments keep the stored value. A terminal
   * status without an end time sets the end time to now.
   */
  public TrackedRun updateRun(
      String id, RunStatus status, Instant endTime, String runName, String actor) {
    return metadata.inTransaction(
        () -> {
          TrackedRun run = writableRun(id);
          RunStatus newStatus = status == null ? run.status() : status;
          Instant newEnd = endTime;
          if (newEnd == null) {
            newEnd = newStatus.isTerminal() && run.endTime() == null ? now() : run.endTime();
          }
          String newName = runName == null || runName.isEmpty() ? run.name() : runName;
          TrackedRun updated =
              new TrackedRun(
                  run.id(),
                  run.experimentId(),
                  newName,
                  run.userId(),
                  newStatus,
                  run.startTime(),
                  newEnd,
                  run.artifactUri(),
                  run.lifecycleStage(),
                  run.metrics(),
                  run.params(),
                  run.tags(),
                  false);
          tracking.updateRun(updated);
          if (!newName.equals(run.name())) {
            tracking.setTags(id, Map.of(RUN_NAME_TAG, newName));
          }
          audit.append(
              actor,
              RUN_UPDATED,
              Map.of("run", id),
              Map.of("status", newStatus.name(), "run_name", newName));
          return run(id);
        });
  }

  public void deleteRun(String id, String actor) {
    setRunStage(id, LifecycleStage.DELETED, actor);
  }

  public void restoreRun(String id, String actor) {
    setRunStage(id, LifecycleStage.ACTIVE, actor);
  }

  private void setRunStage(String id, LifecycleStage stage, String actor) {
    metadata.inTransaction(
        () -> {
          TrackedRun run = run(id);
          requireMlflowRun(run);
          if (stage == LifecycleStage.ACTIVE
              && experiment(run.experimentId()).lifecycleStage() == LifecycleStage.DELETED) {
            throw EvergreenException.invalid(
                "run "
                    + id
                    + " belongs to deleted experiment "
                    + run.experimentId()
                    + "; restore the experiment first");
          }
          tracking.updateRun(withStage(run, stage));
          audit.append(
              actor, RUN_UPDATED, Map.of("run", id), Map.of("lifecycle_stage", stage.mlflowName()));
        });
  }

  /**
   * Logs metrics, params and tags of one run in one transaction, after checking the MLflow limits
   * of a batch.
   */
  public void logBatch(
      String runId,
      List<MetricPoint> metrics,
      Map<String, String> params,
      Map<String, String> tags) {
    checkBatchSize("metrics", metrics.size(), MAX_BATCH_METRICS);
    checkBatchSize("params", params.size(), MAX_BATCH_PARAMS);
    checkBatchSize("tags", tags.size(), MAX_BATCH_TAGS);
    checkBatchSize(
        "metrics, params and tags in total",
        metrics.size() + params.size() + tags.size(),
        MAX_BATCH_ENTRIES);
    metrics.forEach(point -> requireKey(point.key(), "metric key"));
    params.forEach(
        (key, value) -> {
          requireKey(key, "param key");
          if (value != null && value.length() > MAX_PARAM_VALUE_LENGTH) {
            throw EvergreenException.invalid(
                "param '"
                    + key
                    + "' has a value of "
                    + value.length()
                    + " characters; the limit is "
                    + MAX_PARAM_VALUE_LENGTH);
          }
        });
    tags.keySet().forEach(key -> requireKey(key, "tag key"));
    metadata.inTransaction(
        () -> {
          TrackedRun run = writableRun(runId);
          if (!params.isEmpty()) {
            tracking.logParams(runId, params);
          }
          if (!tags.isEmpty()) {
            tracking.setTags(runId, tags);
            String name = tags.get(RUN_NAME_TAG);
            if (name != null && !name.equals(run.name())) {
              tracking.updateRun(withName(run, name));
            }
          }
          if (!metrics.isEmpty()) {
            tracking.logMetrics(runId, metrics);
          }
        });
  }

  /**
   * Logs the datasets a run used. Logging a dataset input that the run already has changes nothing,
   * and a dataset that the experiment already has under the same name and digest keeps its stored
   * source, schema and profile, as in MLflow.
   */
  public void logInputs(String runId, List<DatasetInput> inputs) {
    for (DatasetInput input : inputs) {
      Dataset dataset = input.dataset();
      checkLength("dataset name", dataset.name(), MAX_DATASET_NAME_LENGTH);
      checkLength("dataset digest", dataset.digest(), MAX_DATASET_DIGEST_LENGTH);
      checkLength("dataset source", dataset.source(), MAX_DATASET_SOURCE_LENGTH);
      checkLength("dataset schema", dataset.schema(), MAX_DATASET_SCHEMA_LENGTH);
      checkLength("dataset profile", dataset.profile(), MAX_DATASET_PROFILE_LENGTH);
      input
          .tags()
          .forEach(
              (key, value) -> {
                requireName(key, "input tag key");
                checkLength("input tag key", key, MAX_INPUT_TAG_KEY_LENGTH);
                checkLength("input tag value", value, MAX_INPUT_TAG_VALUE_LENGTH);
              });
    }
    metadata.inTransaction(
        () -> {
          TrackedRun run = writableRun(runId);
          tracking.logInputs(runId, run.experimentId(), inputs);
        });
  }

  private static void checkLength(String field, String value, int max) {
    if (value != null && value.length() > max) {
      throw EvergreenException.invalid(
          field
              + " '"
              + (value.length() > 40 ? value.substring(0, 40) + "..." : value)
              + "' has "
              + value.length()
              + " characters; the limit is "
              + max);
    }
  }

  public void deleteTag(String runId, String key) {
    metadata.inTransaction(
        () -> {
          writableRun(runId);
          if (!tracking.deleteTag(runId, key)) {
            throw EvergreenException.notFound(
                "run " + runId + " has no tag '" + key + "'; get the run to see its tags");
          }
        });
  }

  public List<MetricPoint> metricHistory(String runId, String key) {
    requireName(key, "metric_key");
    TrackedRun run = run(runId);
    if (run.pipelineRun()) {
      return run.metrics().stream().filter(point -> point.key().equals(key)).toList();
    }
    return tracking.metricHistory(runId, key);
  }

  /** Searches the runs of the experiments, pipeline runs included. */
  public Page<TrackedRun> searchRuns(
      List<String> experimentIds,
      String filter,
      ViewType view,
      int maxResults,
      List<String> orderBy,
      String pageToken) {
    List<SearchFilter.Clause> clauses = SearchFilter.parse(filter);
    Searches.checkRunClauses(clauses);
    Comparator<TrackedRun> order = Searches.runOrder(orderBy);
    List<Experiment> experiments = new ArrayList<>();
    for (String id : new LinkedHashSet<>(experimentIds)) {
      experiments.add(experiment(id));
    }
    boolean pipelineRuns = experiments.stream().anyMatch(e -> e.pipeline() != null);
    if (!pipelineRuns && Searches.storeCanEvaluate(clauses)) {
      // Only MLflow-created runs: the store filters, orders and pages, so a page costs about the
      // same however many runs the experiments have.
      Searches.checkMaxResults(maxResults);
      int offset = Searches.offset(pageToken);
      List<SearchFilter.OrderKey> keys = orderBy.stream().map(SearchFilter::parseOrder).toList();
      List<TrackedRun> runs =
          tracking.searchRuns(experimentIds, clauses, view, keys, offset, maxResults + 1);
      if (runs.size() > maxResults) {
        return new Page<>(runs.subList(0, maxResults), pageToken(offset + maxResults));
      }
      return new Page<>(runs, null);
    }
    List<TrackedRun> candidates = new ArrayList<>(tracking.listRuns(experimentIds));
    for (Experiment experiment : experiments) {
      if (experiment.pipeline() != null) {
        // NOTE: reads every run of the pipeline; paging happens after filtering in memory.
        for (Run run : metadata.listRuns(experiment.pipeline(), Integer.MAX_VALUE)) {
          candidates.add(PipelineRuns.toTracked(run, experiment.id(), artifacts, snapshotOf(run)));
        }
      }
    }
    List<TrackedRun> matching = new ArrayList<>();
    for (TrackedRun run : candidates) {
      if (view.includes(run.lifecycleStage()) && Searches.matches(run, clauses)) {
        matching.add(run);
      }
    }
    matching.sort(order);
    return Searches.page(matching, maxResults, pageToken);
  }

  // Pipeline experiments

  /** Returns the snapshot a pipeline run read, or null when it stored none. */
  private Snapshot snapshotOf(Run run) {
    return run.snapshotId() == null ? null : metadata.findSnapshot(run.snapshotId()).orElse(null);
  }

  /** Returns the experiment of a pipeline run's pipeline, creating it on first use. */
  private Experiment pipelineExperiment(Run run) {
    return pipelineExperiment(run.pipeline(), run.actor());
  }

  private Experiment pipelineExperiment(String pipeline, String actor) {
    Optional<Experiment> existing = tracking.findExperimentByPipeline(pipeline);
    if (existing.isPresent()) {
      return existing.get();
    }
    return metadata.inTransaction(
        () -> {
          Optional<Experiment> again = tracking.findExperimentByPipeline(pipeline);
          if (again.isPresent()) {
            return again.get();
          }
          // A user-created experiment may already carry the pipeline's name; the pipeline's
          // experiment then gets a suffix so that both stay reachable by name.
          String name = pipeline;
          if (tracking.findExperimentByName(name).isPresent()) {
            name = pipeline + " (evergreen pipeline)";
          }
          Experiment created =
              tracking.insertExperiment(
                  name, "", pipeline, Map.of(PipelineRuns.PIPELINE_TAG, pipeline), now());
          audit.append(
              actor,
              EXPERIMENT_CREATED,
              Map.of("experiment", created.id(), "pipeline", pipeline),
              Map.of("name", name));
          return created;
        });
  }

  /** Creates the experiment of every pipeline that has runs and none yet. */
  private void ensurePipelineExperiments() {
    Set<String> pipelines = new LinkedHashSet<>();
    // NOTE: scans every pipeline run, which is cheap at thousands of runs but not at millions.
    for (Run run : metadata.listRuns(null, Integer.MAX_VALUE)) {
      if (run.pipeline() != null) {
        pipelines.add(run.pipeline());
      }
    }
    for (String pipeline : pipelines) {
      pipelineExperiment(pipeline, "evergreen");
    }
  }

  // Helpers

  private TrackedRun writableRun(String id) {
    TrackedRun run = run(id);
    requireMlflowRun(run);
    if (run.lifecycleStage() != LifecycleStage.ACTIVE) {
      throw EvergreenException.invalid(
          "run " + id + " is deleted, so it cannot be changed; restore it first");
    }
    return run;
  }

  private static void requireMlflowRun(TrackedRun run) {
    if (run.pipelineRun()) {
      throw EvergreenException.invalid(
          "run "
              + run.id()
              + " is an Evergreen pipeline run; its status, metrics, params and tags are recorded"
              + " by the pipeline and cannot be changed through the MLflow API");
    }
  }

  private static void requireActive(Experiment experiment) {
    if (experiment.lifecycleStage() != LifecycleStage.ACTIVE) {
      throw EvergreenException.invalid(
          "experiment "
              + experiment.id()
              + " is deleted, so it must be in 'active' state for this request; restore it first");
    }
  }

  private static void requireName(String value, String field) {
    if (value == null || value.isEmpty()) {
      throw EvergreenException.invalid("missing value for required parameter '" + field + "'");
    }
  }

  /** Characters MLflow allows in metric, param and tag keys. */
  private static final Pattern KEY_CHARACTERS =
      Pattern.compile("[/\\w.\\- :]*", Pattern.UNICODE_CHARACTER_CLASS);

  /**
   * Checks a metric, param or tag key as MLflow's tracking server does: present, made of letters,
   * digits, {@code _ - . / :} and spaces, and path-unique, because keys become file paths in
   * MLflow's file store and in exported runs.
   */
  private static void requireKey(String key, String field) {
    requireName(key, field);
    if (!KEY_CHARACTERS.matcher(key).matches()) {
      throw EvergreenException.invalid(
          "invalid "
              + field
              + " '"
              + key
              + "': keys may only contain letters, digits, underscores (_), dashes (-), periods"
              + " (.), spaces ( ), colons (:) and slashes (/)");
    }
    String normal = java.nio.file.Path.of(key).normalize().toString();
    if (!normal.equals(key)
        || normal.equals(".")
        || normal.startsWith("..")
        || key.startsWith("/")
        || key.contains("//")) {
      throw EvergreenException.invalid(
          "invalid "
              + field
              + " '"
              + key
              + "': keys must be path-unique, without '.' or '..' segments, a leading '/' or '//';"
              + " use a key such as 'train/auc'");
    }
  }

  private static void checkBatchSize(String field, int size, int max) {
    if (size > max) {
      throw EvergreenException.invalid(
          "a batch may contain at most "
              + max
              + " "
              + field
              + ", got "
              + size
              + "; split it into several log-batch requests");
    }
  }

  private static TrackedRun withStage(TrackedRun run, LifecycleStage stage) {
    return new TrackedRun(
        run.id(),
        run.experimentId(),
        run.name(),
        run.userId(),
        run.status(),
        run.startTime(),
        run.endTime(),
        run.artifactUri(),
        stage,
        run.metrics(),
        run.params(),
        run.tags(),
        run.pipelineRun(),
        run.inputs());
  }

  private static TrackedRun withName(TrackedRun run, String name) {
    return new TrackedRun(
        run.id(),
        run.experimentId(),
        name,
        run.userId(),
        run.status(),
        run.startTime(),
        run.endTime(),
        run.artifactUri(),
        run.lifecycleStage(),
        run.metrics(),
        run.params(),
        run.tags(),
        run.pipelineRun(),
        run.inputs());
  }

  /**
   * Returns a run's artifact URI below its experiment's artifact location. Without a location it is
   * {@code mlflow-artifacts:/<experiment id>/<run id>/artifacts}, which the server's artifact proxy
   * serves, as MLflow's server does with {@code --serve-artifacts}.
   */
  private static String artifactUri(Experiment experiment, String runId) {
    String location = experiment.artifactLocation();
    if (location == null || location.isEmpty()) {
      return ARTIFACT_SCHEME + "/" + experiment.id() + "/" + runId + "/artifacts";
    }
    return (location.endsWith("/") ? location : location + "/") + runId + "/artifacts";
  }

  private String newRunId() {
    while (true) {
      byte[] bytes = new byte[16];
      RANDOM.nextBytes(bytes);
      String id = HexFormat.of().formatHex(bytes);
      if (metadata.findRun(id).isEmpty() && tracking.findRun(id).isEmpty()) {
        return id;
      }
    }
  }

  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MILLIS);
  }

  /** Encodes an offset as an opaque page token. */
  static String pageToken(int offset) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(("offset:" + offset).getBytes(StandardCharsets.UTF_8));
  }
}
