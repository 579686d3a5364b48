package dev.evergreen.core.deployment;

import java.time.Duration;

/**
 * Outcome of a deploy or a rollback.
 *
 * @param version version that serves afterwards
 * @param previousVersion version that served before, null when none did
 * @param switched false when the requested version already served and nothing changed
 * @param detail what happened, in one sentence
 * @param switchTime duration of the swap of the serving state, zero when nothing switched
 */
public record DeploymentResult(
    String model,
    int version,
    Integer previousVersion,
    boolean switched,
    String detail,
    Duration switchTime) {}
