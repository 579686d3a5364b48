package dev.evergreen.core.deployment;

import dev.evergreen.api.pipeline.ShadowSpec;
import dev.evergreen.core.serving.ServableModel;

/** A shadow version with the share of requests copied to it. */
public record Shadow(
    ServableModel model, TrafficSplit split, ShadowSpec spec, long startedAtMillis) {}
