package dev.evergreen.core.evaluation;

/**
 * Outcome of the promotion gate.
 *
 * @param promote whether the challenger replaces the champion
 * @param reason the compared metric, both values, the margin and every failed floor
 */
public record GateDecision(boolean promote, String reason) {}
