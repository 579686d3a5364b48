package dev.evergreen.api.pipeline;

/**
 * How a promoted model is served.
 *
 * @param model registered model name
 * @param strategy {@code blue-green} (all traffic at once), {@code canary} (a share of traffic
 *     first, then promoted or aborted) or {@code shadow} (a copy of a share of traffic, scores
 *     discarded)
 * @param checkRows holdout rows scored by a newly loaded version before it takes traffic
 * @param checkTolerance largest absolute difference allowed between those scores and the ones
 *     recorded at training time
 * @param canary traffic share, request key and rollback limits of a canary
 * @param shadow traffic share copied to a shadow version
 * @param batching dynamic batching and queue bound of the model, off when null
 */
public record DeploymentSpec(
    String model,
    String strategy,
    Integer checkRows,
    Double checkTolerance,
    CanarySpec canary,
    ShadowSpec shadow,
    BatchingSpec batching) {
  public static final String BLUE_GREEN = "blue-green";
  public static final String CANARY = "canary";
  public static final String SHADOW = "shadow";

  public DeploymentSpec {
    strategy = strategy == null ? BLUE_GREEN : strategy;
    checkRows = checkRows == null ? 100 : checkRows;
    checkTolerance = checkTolerance == null ? 1e-5 : checkTolerance;
    canary = canary == null ? CanarySpec.DEFAULT : canary;
    shadow = shadow == null ? ShadowSpec.DEFAULT : shadow;
  }

  /** Creates a blue-green spec without batching. */
  public DeploymentSpec(String model, String strategy, Integer checkRows, Double checkTolerance) {
    this(model, strategy, checkRows, checkTolerance, null, null, null);
  }
}
