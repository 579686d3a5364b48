package dev.evergreen.core.tracking;

import java.time.Instant;
import java.util.Map;

/**
 * An MLflow experiment.
 *
 * @param id decimal number as text; {@code 0} is the default experiment
 * @param pipeline the Evergreen pipeline whose runs belong to this experiment, null for experiments
 *     created through the MLflow API
 */
public record Experiment(
    String id,
    String name,
    String artifactLocation,
    LifecycleStage lifecycleStage,
    String pipeline,
    Instant creationTime,
    Instant lastUpdateTime,
    Map<String, String> tags) {
  /** Id and name of the experiment that runs created without an experiment id go to. */
  public static final String DEFAULT_ID = "0";

  public static final String DEFAULT_NAME = "Default";

  public Experiment {
    tags = Map.copyOf(tags);
  }

  public Experiment withName(String newName, Instant at) {
    return new Experiment(
        id, newName, artifactLocation, lifecycleStage, pipeline, creationTime, at, tags);
  }

  public Experiment withLifecycleStage(LifecycleStage stage, Instant at) {
    return new Experiment(id, name, artifactLocation, stage, pipeline, creationTime, at, tags);
  }
}
