package dev.evergreen.api.run;

import java.time.Instant;
import java.util.Map;

/**
 * One execution of a pipeline on one snapshot.
 *
 * @param id 32 lowercase hex characters, as MLflow's {@code run_id}
 * @param snapshotId null until the snapshot step has finished
 * @param outcome null until the run is terminal
 * @param reason why the run failed or what the gate decided, in one or more sentences
 * @param metrics holdout metrics of the challenger, and of the champion with prefix {@code
 *     champion_}
 * @param stepSeconds duration of each finished step, in seconds
 * @param provenance null until training has started
 * @param owner host and process id that executes the run, used to detect interrupted runs
 */
public record Run(
    String id,
    String pipeline,
    RunStatus status,
    RunOutcome outcome,
    String source,
    String snapshotId,
    String reason,
    Map<String, Double> metrics,
    Map<String, Double> stepSeconds,
    Provenance provenance,
    String owner,
    String actor,
    Instant startedAt,
    Instant finishedAt) {
  public Run {
    metrics = Map.copyOf(metrics);
    stepSeconds = Map.copyOf(stepSeconds);
  }
}
