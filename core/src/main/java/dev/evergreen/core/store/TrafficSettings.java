package dev.evergreen.core.store;

import dev.evergreen.api.pipeline.BatchingSpec;
import dev.evergreen.api.pipeline.CanarySpec;
import dev.evergreen.api.pipeline.ShadowSpec;

/**
 * The stored traffic settings of one model, which a server restores when it starts.
 *
 * @param canary the running canary, null when none runs
 * @param shadow the running shadow, null when none runs
 * @param batching dynamic batching settings, null when batching is off
 */
public record TrafficSettings(
    String model, CanarySetting canary, ShadowSetting shadow, BatchingSpec batching) {

  /** A canary version and the spec it was started with. */
  public record CanarySetting(int version, CanarySpec spec) {}

  /** A shadow version and the spec it was started with. */
  public record ShadowSetting(int version, ShadowSpec spec) {}
}
