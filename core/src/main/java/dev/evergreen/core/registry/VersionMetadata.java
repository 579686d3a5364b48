package dev.evergreen.core.registry;

import java.time.Instant;
import java.util.Map;

/**
 * Changeable metadata of a model version, kept beside its immutable training record.
 *
 * @param source external artifact location given when the version was created through the MLflow
 *     API, null for versions that Evergreen trained (their model bundle is the artifact key)
 * @param tags tag key to value
 * @param updatedAt last change, the creation time until the first change
 */
public record VersionMetadata(
    String description,
    ModelStage stage,
    String source,
    Map<String, String> tags,
    Instant updatedAt) {
  public VersionMetadata {
    description = description == null ? "" : description;
    stage = stage == null ? ModelStage.NONE : stage;
    tags = Map.copyOf(tags);
  }

  public VersionMetadata withDescription(String newDescription, Instant at) {
    return new VersionMetadata(newDescription, stage, source, tags, at);
  }

  public VersionMetadata withStage(ModelStage newStage, Instant at) {
    return new VersionMetadata(description, newStage, source, tags, at);
  }

  public VersionMetadata withTags(Map<String, String> newTags, Instant at) {
    return new VersionMetadata(description, stage, source, newTags, at);
  }
}
