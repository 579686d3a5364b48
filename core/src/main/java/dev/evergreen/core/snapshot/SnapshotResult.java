package dev.evergreen.core.snapshot;

import dev.evergreen.api.data.Snapshot;

/**
 * Outcome of an ingest.
 *
 * @param snapshot the stored snapshot, the one stored earlier when the content was already present
 * @param created false when a snapshot with the same content was already stored
 */
public record SnapshotResult(Snapshot snapshot, boolean created) {}
