package dev.evergreen.api.model;

import dev.evergreen.api.run.Provenance;
import java.time.Instant;
import java.util.Map;

/**
 * An immutable trained model.
 *
 * @param version counted per registered model from 1, as MLflow counts them
 * @param artifactKey key of the model bundle in the artifact store
 * @param artifactSha256 hex SHA-256 of the model file inside the bundle
 * @param runId run that trained it
 * @param snapshotId snapshot it was trained on
 */
public record ModelVersion(
    String model,
    int version,
    String artifactKey,
    String artifactSha256,
    String runId,
    String snapshotId,
    Map<String, Double> metrics,
    Provenance provenance,
    Instant createdAt) {
  public ModelVersion {
    metrics = Map.copyOf(metrics);
  }
}
