package dev.evergreen.core.deployment;

import dev.evergreen.api.pipeline.ShadowSpec;
import dev.evergreen.core.serving.ServableModel;

/** A shadow version with the share of requests copied to it and the outcomes of its comparisons. */
public record Shadow(
    ServableModel model,
    TrafficSplit split,
    ShadowSpec spec,
    long startedAtMillis,
    ShadowTally tally) {

  /** Creates a shadow with no comparisons yet. */
  public Shadow(ServableModel model, TrafficSplit split, ShadowSpec spec, long startedAtMillis) {
    this(model, split, spec, startedAtMillis, new ShadowTally());
  }
}
