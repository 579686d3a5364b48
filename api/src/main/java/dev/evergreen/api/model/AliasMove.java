package dev.evergreen.api.model;

import java.time.Instant;

/**
 * One change of an alias.
 *
 * @param fromVersion version the alias pointed to before, null when it was unset
 * @param toVersion version it points to now, null when it was deleted
 */
public record AliasMove(
    String model,
    String alias,
    Integer fromVersion,
    Integer toVersion,
    String actor,
    String reason,
    Instant at) {}
