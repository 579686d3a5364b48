package dev.evergreen.core.deployment;

import dev.evergreen.core.serving.ServableModel;

/**
 * Receives the model versions that enter and leave the serving slots of a {@link
 * DeploymentManager}, such as the owner of per-version meters. Calls for one model come one at a
 * time, under that model's deployment lock, so they must not block.
 */
public interface ServingListener {
  /**
   * Called before {@code next} takes requests, so that a version's meters exist before its first
   * request. {@link DeploymentManager#addServingListener} also calls it once for each model that
   * already serves, with {@code previous} null.
   *
   * @param previous the state {@code next} replaces, null when no version of the model served
   */
  void servingChanging(ServingState previous, ServingState next);

  /**
   * Called after a loaded model version left every slot, so that no new request reaches it. By
   * then, when no other loaded object has the same model and version, the deployment manager has
   * removed every meter tagged with that model and version from its meter registry. A request that
   * chose the version before the change may still be scoring with it.
   */
  void versionUnloaded(ServableModel version);
}
