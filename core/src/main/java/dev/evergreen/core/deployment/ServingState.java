package dev.evergreen.core.deployment;

import dev.evergreen.core.serving.ServableModel;

/**
 * Serving slots of one model: the version that takes all traffic and the previous version, kept
 * loaded so that a rollback needs no load. The record is immutable, so a reader that reads it once
 * scores every row of a request with the same version.
 *
 * @param standby previous active version, null before the second switch
 * @param switchedAtNanos {@link System#nanoTime()} when {@code active} started taking traffic
 */
public record ServingState(ServableModel active, ServableModel standby, long switchedAtNanos) {}
