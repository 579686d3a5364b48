package dev.evergreen.core.tracking;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.data.Column;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.PipelineSpecs;
import dev.evergreen.api.pipeline.TrainerSpec;
import dev.evergreen.api.run.Provenance;
import dev.evergreen.api.run.Run;
import dev.evergreen.core.pipeline.RecordedPipelines;
import dev.evergreen.core.store.ArtifactStore;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Maps an Evergreen pipeline {@link Run} onto MLflow's run fields, on every read. */
public final class PipelineRuns {
  private static final Logger LOG = LoggerFactory.getLogger(PipelineRuns.class);

  public static final String PIPELINE_TAG = "evergreen.pipeline";
  public static final String SNAPSHOT_TAG = "evergreen.snapshot_id";
  public static final String OUTCOME_TAG = "evergreen.outcome";
  public static final String GIT_COMMIT_TAG = "mlflow.source.git.commit";
  public static final String SOURCE_NAME_TAG = "mlflow.source.name";
  public static final String USER_TAG = "mlflow.user";

  private static final ObjectMapper JSON = new ObjectMapper();

  private PipelineRuns() {}

  /**
   * Maps a run. Metrics carry the run's finish time (its start time while it runs) and step 0.
   * Params are the seeds, the engine and the trainer section of the pipeline file the run used, as
   * {@link RecordedPipelines} finds it.
   */
  public static TrackedRun toTracked(
      Run run, String experimentId, ArtifactStore artifacts, Snapshot snapshot) {
    Instant metricTime = run.finishedAt() != null ? run.finishedAt() : run.startedAt();
    long timestamp = metricTime == null ? 0 : metricTime.toEpochMilli();
    List<MetricPoint> metrics = new ArrayList<>();
    new TreeMap<>(run.metrics())
        .forEach((key, value) -> metrics.add(new MetricPoint(key, value, timestamp, 0)));

    Map<String, String> tags = new LinkedHashMap<>();
    String name = run.pipeline() + "-" + run.id().substring(0, Math.min(8, run.id().length()));
    tags.put(TrackingService.RUN_NAME_TAG, name);
    tags.put(PIPELINE_TAG, run.pipeline());
    if (run.actor() != null) {
      tags.put(USER_TAG, run.actor());
    }
    if (run.snapshotId() != null) {
      tags.put(SNAPSHOT_TAG, run.snapshotId());
    }
    if (run.outcome() != null) {
      tags.put(OUTCOME_TAG, run.outcome().name());
    }
    Provenance provenance = run.provenance();
    if (provenance != null && provenance.gitCommit() != null) {
      tags.put(GIT_COMMIT_TAG, provenance.gitCommit());
    }
    if (provenance != null && provenance.pipelinePath() != null) {
      tags.put(SOURCE_NAME_TAG, provenance.pipelinePath());
    }

    return new TrackedRun(
        run.id(),
        experimentId,
        name,
        run.actor(),
        run.status(),
        run.startedAt(),
        run.finishedAt(),
        "",
        LifecycleStage.ACTIVE,
        metrics,
        params(provenance, artifacts),
        tags,
        true,
        snapshot == null ? List.of() : List.of(datasetInput(run, snapshot)));
  }

  /**
   * Returns the snapshot a run trained on as MLflow's dataset input: named after the file the run
   * read, with the snapshot's first twelve hex characters as digest, the file as a {@code local}
   * source, the columns as an MLflow column schema and the row count as profile, in the {@code
   * training} context.
   */
  static DatasetInput datasetInput(Run run, Snapshot snapshot) {
    String file = run.source() != null ? run.source() : snapshot.source();
    String name =
        file == null ? "snapshot-" + snapshot.shortId() : Path.of(file).getFileName().toString();
    ObjectNode source = JSON.createObjectNode();
    source.put("uri", file == null ? "" : Path.of(file).toUri().toString());
    ObjectNode schema = JSON.createObjectNode();
    ArrayNode columns = schema.putArray("mlflow_colspec");
    for (Column column : snapshot.schema().columns()) {
      columns
          .addObject()
          .put("type", mlflowType(column.type()))
          .put("name", column.name())
          .put("required", false);
    }
    ObjectNode profile = JSON.createObjectNode();
    profile.put("num_rows", snapshot.profile() == null ? 0 : snapshot.profile().rowCount());
    Dataset dataset =
        new Dataset(
            name,
            snapshot.shortId(),
            "local",
            source.toString(),
            schema.toString(),
            profile.toString());
    return new DatasetInput(dataset, Map.of("mlflow.data.context", "training"));
  }

  /** Returns MLflow's column type for a snapshot column type. */
  private static String mlflowType(ColumnType type) {
    return switch (type) {
      case BOOLEAN -> "boolean";
      case INTEGER -> "long";
      case DOUBLE -> "double";
      case STRING -> "string";
      case DATE, TIMESTAMP -> "datetime";
    };
  }

  private static Map<String, String> params(Provenance provenance, ArtifactStore artifacts) {
    Map<String, String> params = new LinkedHashMap<>();
    if (provenance == null) {
      return params;
    }
    provenance.seeds().forEach((seed, value) -> params.put(seed + "_seed", Long.toString(value)));
    if (provenance.engine() != null) {
      params.put("trainer.engine", provenance.engine());
    }
    if (provenance.engineVersion() != null) {
      params.put("trainer.engine_version", provenance.engineVersion());
    }
    TrainerSpec trainer = recordedTrainer(provenance, artifacts);
    if (trainer != null) {
      if (trainer.objective() != null) {
        params.put("trainer.objective", trainer.objective());
      }
      params.put("trainer.rounds", Integer.toString(trainer.rounds()));
      params.put("trainer.threads", Integer.toString(trainer.threads()));
      new TreeMap<>(trainer.params())
          .forEach((key, value) -> params.put("trainer.params." + key, String.valueOf(value)));
    }
    return params;
  }

  /**
   * Reads the trainer section of the pipeline file the run used, or returns null when that file is
   * no longer known (see {@link RecordedPipelines#of}) or no longer parses.
   */
  private static TrainerSpec recordedTrainer(Provenance provenance, ArtifactStore artifacts) {
    Optional<byte[]> bytes = RecordedPipelines.of(artifacts, provenance);
    if (bytes.isEmpty()) {
      return null;
    }
    try {
      return PipelineSpecs.parse(bytes.get(), provenance.pipelinePath()).trainer();
    } catch (RuntimeException e) {
      LOG.debug(
          "Pipeline file {} of a run no longer parses: {}",
          provenance.pipelinePath(),
          e.toString());
      return null;
    }
  }
}
