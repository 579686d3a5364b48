package dev.evergreen.api.data;

import java.time.Instant;
import java.util.Map;

/**
 * Immutable, content-addressed copy of one batch.
 *
 * @param id hex SHA-256 of the canonical content (schema and rows after pseudonymisation)
 * @param source path of the file the batch was read from
 * @param artifactKey key of the Parquet file in the artifact store
 * @param tags personal-data tags by column name, as declared by the pipeline
 */
public record Snapshot(
    String id,
    String source,
    String artifactKey,
    Schema schema,
    Profile profile,
    Map<String, PersonalDataTag> tags,
    Instant createdAt) {
  public Snapshot {
    tags = Map.copyOf(tags);
  }

  /** Returns the first twelve hex characters, the short form used in tables and logs. */
  public String shortId() {
    return id.substring(0, 12);
  }
}
