package dev.evergreen.api.pipeline;

import java.util.Map;

/**
 * The training engine and its settings.
 *
 * @param engine only {@code xgboost}
 * @param objective {@code binary:logistic}, {@code multi:softprob} or {@code reg:squarederror}
 * @param rounds boosting rounds
 * @param seed seed passed to XGBoost
 * @param threads XGBoost threads; set explicitly because OpenMP's default of one per core slows
 *     training on a busy machine
 * @param params further XGBoost parameters, such as {@code max_depth} and {@code eta}
 */
public record TrainerSpec(
    String engine,
    String objective,
    Integer rounds,
    Long seed,
    Integer threads,
    Map<String, Object> params) {
  public TrainerSpec {
    engine = engine == null ? "xgboost" : engine;
    rounds = rounds == null ? 100 : rounds;
    seed = seed == null ? 0L : seed;
    threads = threads == null ? 1 : threads;
    params = params == null ? Map.of() : Map.copyOf(params);
  }
}
