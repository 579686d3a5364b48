package dev.evergreen.core.pipeline;

import dev.evergreen.api.run.Provenance;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.core.store.MetadataStore;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** Mutable working copy of a run that writes each change through to the store. */
final class RunRecorder {
  private final MetadataStore store;
  private final String id;
  private final String pipeline;
  private final String source;
  private final String owner;
  private final String actor;
  private final Instant startedAt;
  private final Map<String, Double> metrics = new LinkedHashMap<>();
  private final Map<String, Double> stepSeconds = new LinkedHashMap<>();
  private RunStatus status;
  private RunOutcome outcome;
  private String snapshotId;
  private String reason;
  private Provenance provenance;
  private Instant finishedAt;

  RunRecorder(MetadataStore store, Run run) {
    this.store = store;
    this.id = run.id();
    this.pipeline = run.pipeline();
    this.source = run.source();
    this.owner = run.owner();
    this.actor = run.actor();
    this.startedAt = run.startedAt();
    this.status = run.status();
    this.metrics.putAll(run.metrics());
    this.stepSeconds.putAll(run.stepSeconds());
  }

  String id() {
    return id;
  }

  Run snapshot() {
    return new Run(
        id,
        pipeline,
        status,
        outcome,
        source,
        snapshotId,
        reason,
        metrics,
        stepSeconds,
        provenance,
        owner,
        actor,
        startedAt,
        finishedAt);
  }

  void status(RunStatus value) {
    status = value;
    save();
  }

  void snapshotId(String value) {
    snapshotId = value;
    save();
  }

  void provenance(Provenance value) {
    provenance = value;
    save();
  }

  void metrics(Map<String, Double> values) {
    metrics.putAll(values);
    save();
  }

  void step(String step, double seconds) {
    stepSeconds.put(step, seconds);
    save();
  }

  void reason(String value) {
    reason = value;
  }

  /** Marks the run terminal; the caller stores it together with its audit entry. */
  Run finish(RunStatus finalStatus, RunOutcome finalOutcome, String finalReason, Instant at) {
    status = finalStatus;
    outcome = finalOutcome;
    if (finalReason != null) {
      reason = finalReason;
    }
    finishedAt = at;
    return snapshot();
  }

  private void save() {
    store.updateRun(snapshot());
  }
}
