package dev.evergreen.api.lineage;

import java.time.Instant;

/**
 * A directed edge of the lineage graph: snapshot to run, run to model version, model version to
 * deployment.
 *
 * @param fromKind {@code snapshot}, {@code run} or {@code model_version}
 * @param fromId snapshot id, run id, or {@code model:version}
 * @param toKind {@code run}, {@code model_version} or {@code deployment}
 * @param toId run id, {@code model:version}, or deployment id
 */
public record LineageEdge(String fromKind, String fromId, String toKind, String toId, Instant at) {}
