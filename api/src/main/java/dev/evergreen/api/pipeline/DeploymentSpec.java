package dev.evergreen.api.pipeline;

/**
 * How a promoted model is served.
 *
 * @param model registered model name
 * @param strategy only {@code blue-green}
 * @param checkRows holdout rows scored by a newly loaded version before it takes traffic
 * @param checkTolerance largest absolute difference allowed between those scores and the ones
 *     recorded at training time
 */
public record DeploymentSpec(
    String model, String strategy, Integer checkRows, Double checkTolerance) {
  public DeploymentSpec {
    strategy = strategy == null ? "blue-green" : strategy;
    checkRows = checkRows == null ? 100 : checkRows;
    checkTolerance = checkTolerance == null ? 1e-5 : checkTolerance;
  }
}
