package dev.evergreen.core.deployment;

import dev.evergreen.api.pipeline.CanarySpec;
import dev.evergreen.core.serving.ServableModel;

/**
 * A canary version with its traffic split, its settings and the window of its recent requests.
 *
 * @param startedAtMillis wall-clock time the canary started, for display
 */
public record Canary(
    ServableModel model,
    TrafficSplit split,
    CanarySpec spec,
    CanaryWindow window,
    long startedAtMillis) {}
