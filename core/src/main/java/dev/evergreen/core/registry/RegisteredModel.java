package dev.evergreen.core.registry;

import java.time.Instant;
import java.util.Map;

/**
 * Registry metadata of a model beside its versions: what MLflow calls a registered model.
 *
 * @param tags tag key to value
 * @param updatedAt last change of the model or of one of its versions
 */
public record RegisteredModel(
    String name,
    String description,
    Map<String, String> tags,
    Instant createdAt,
    Instant updatedAt) {
  public RegisteredModel {
    description = description == null ? "" : description;
    tags = Map.copyOf(tags);
  }

  public RegisteredModel withDescription(String newDescription, Instant at) {
    return new RegisteredModel(name, newDescription, tags, createdAt, at);
  }

  public RegisteredModel withTags(Map<String, String> newTags, Instant at) {
    return new RegisteredModel(name, description, newTags, createdAt, at);
  }

  public RegisteredModel withUpdatedAt(Instant at) {
    return new RegisteredModel(name, description, tags, createdAt, at);
  }
}
