package dev.evergreen.core.tracking;

import java.util.Locale;

/**
 * Whether an experiment or run is active or marked deleted, as MLflow's {@code lifecycle_stage}.
 */
public enum LifecycleStage {
  ACTIVE,
  DELETED;

  /** Returns the name MLflow sends: {@code active} or {@code deleted}. */
  public String mlflowName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static LifecycleStage fromMlflowName(String name) {
    return valueOf(name.toUpperCase(Locale.ROOT));
  }
}
