package dev.evergreen.core.store;

import java.time.Instant;

/**
 * One change of what a model serves.
 *
 * @param kind {@code switch}, {@code rollback} or {@code failed}
 * @param version version that serves after the event, or that failed to load or check
 * @param previousVersion version that served before, null when none did
 * @param detail switch time, or the reason of a failure
 */
public record DeploymentEvent(
    String id,
    String model,
    int version,
    Integer previousVersion,
    String kind,
    String actor,
    String detail,
    Instant at) {}
