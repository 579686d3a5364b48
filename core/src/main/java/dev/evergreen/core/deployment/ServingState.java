package dev.evergreen.core.deployment;

import dev.evergreen.core.serving.ServableModel;
import java.util.ArrayList;
import java.util.List;

/**
 * Serving slots of one model: the stable version, the previous version kept loaded so that a
 * rollback needs no load, and optionally a canary that takes a share of the traffic and a shadow
 * that scores a copy of it. The record is immutable, so a reader that reads it once scores every
 * row of a request with the same version.
 *
 * @param active stable version: all traffic when there is no canary, the rest otherwise
 * @param standby previous active version, null before the second switch
 * @param switchedAtNanos {@link System#nanoTime()} when {@code active} started taking traffic
 * @param canary the canary, null when none runs
 * @param shadow the shadow, null when none runs
 */
public record ServingState(
    ServableModel active,
    ServableModel standby,
    long switchedAtNanos,
    Canary canary,
    Shadow shadow) {

  /** Creates a state with neither canary nor shadow. */
  public ServingState(ServableModel active, ServableModel standby, long switchedAtNanos) {
    this(active, standby, switchedAtNanos, null, null);
  }

  /**
   * Returns the version that scores a request: the canary for its share of keys (or of unkeyed
   * requests), else the active version.
   *
   * @param key the request's routing key, null when it has none
   */
  public ServableModel route(String key) {
    if (canary != null && canary.split().takes(key)) {
      return canary.model();
    }
    return active;
  }

  /** Returns the slot of a version: active, canary, standby or shadow, or null when in none. */
  public String slotOf(int version) {
    if (active.version() == version) {
      return "active";
    }
    if (canary != null && canary.model().version() == version) {
      return "canary";
    }
    if (standby != null && standby.version() == version) {
      return "standby";
    }
    if (shadow != null && shadow.model().version() == version) {
      return "shadow";
    }
    return null;
  }

  /** Returns the loaded version with this number from any slot, or null. */
  public ServableModel loaded(int version) {
    if (active.version() == version) {
      return active;
    }
    if (canary != null && canary.model().version() == version) {
      return canary.model();
    }
    if (standby != null && standby.version() == version) {
      return standby;
    }
    if (shadow != null && shadow.model().version() == version) {
      return shadow.model();
    }
    return null;
  }

  /** Returns the loaded versions of every slot, in the order active, canary, standby, shadow. */
  public List<ServableModel> models() {
    List<ServableModel> models = new ArrayList<>(4);
    models.add(active);
    if (canary != null) {
      models.add(canary.model());
    }
    if (standby != null) {
      models.add(standby);
    }
    if (shadow != null) {
      models.add(shadow.model());
    }
    return models;
  }

  ServingState withCanary(Canary next) {
    return new ServingState(active, standby, switchedAtNanos, next, shadow);
  }

  ServingState withShadow(Shadow next) {
    return new ServingState(active, standby, switchedAtNanos, canary, next);
  }
}
