package dev.evergreen.core.store;

import dev.evergreen.api.pipeline.RuleSpec;
import java.util.List;

/**
 * What a pipeline remembers between runs.
 *
 * @param referenceSnapshotId first accepted snapshot, the reference for drift
 * @param inferredRules rules inferred from the reference snapshot
 */
public record PipelineState(
    String pipeline, String referenceSnapshotId, List<RuleSpec> inferredRules) {
  public PipelineState {
    inferredRules = List.copyOf(inferredRules);
  }
}
