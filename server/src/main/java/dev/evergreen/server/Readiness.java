package dev.evergreen.server;

import dev.evergreen.api.model.Aliases;
import dev.evergreen.core.Evergreen;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether the server should receive scoring traffic, the one state behind {@code GET
 * /v2/health/ready}, gRPC {@code ServerReady}, the gRPC health service and MLflow's {@code /ping}.
 * The server is ready when it is not draining for a shutdown and every model with a {@code
 * champion} alias has a version serving.
 */
final class Readiness {
  private final Evergreen evergreen;
  private volatile boolean draining;

  Readiness(Evergreen evergreen) {
    this.evergreen = evergreen;
  }

  /**
   * Marks the server as shutting down: from now on it reports not ready, so that load balancers
   * stop sending it requests, while it still serves those that arrive.
   */
  void drain() {
    draining = true;
  }

  boolean draining() {
    return draining;
  }

  /**
   * Returns why the server is not ready, or null when it is. Reads the store, so callers run it off
   * the event loop.
   */
  String notReadyReason() {
    if (draining) {
      return "not ready: the server is shutting down";
    }
    List<String> missing = modelsNotServing();
    return missing.isEmpty()
        ? null
        : "not ready: no version serves model(s) "
            + String.join(", ", missing)
            + " yet, although each has a champion alias";
  }

  /** Returns the models that have a {@code champion} alias but no version serving. */
  private List<String> modelsNotServing() {
    List<String> missing = new ArrayList<>();
    for (String model : evergreen.registry().models()) {
      boolean hasChampion = evergreen.registry().aliases(model).containsKey(Aliases.CHAMPION);
      if (hasChampion && evergreen.deployments().serving(model).isEmpty()) {
        missing.add(model);
      }
    }
    return missing;
  }
}
