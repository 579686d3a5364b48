package dev.evergreen.api.pipeline;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.util.List;
import java.util.Map;

/**
 * Checks run on each batch before training.
 *
 * @param rules declared rules
 * @param inferRules when true, rules are inferred from the first accepted snapshot and saved with
 *     it; later batches are checked against them
 * @param drift drift thresholds
 * @param environments environment name to the columns it excludes; a pipeline run validates in the
 *     environment {@value #TRAINING}
 * @param history checks of the row count and null fractions against recent accepted batches
 */
public record ValidationSpec(
    List<RuleSpec> rules,
    Boolean inferRules,
    DriftSpec drift,
    Map<String, EnvironmentSpec> environments,
    HistorySpec history) {
  /** The environment of pipeline runs, and of {@code evergreen validate} unless told otherwise. */
  public static final String TRAINING = "training";

  public static final ValidationSpec DEFAULT = new ValidationSpec(null, null, null);

  @JsonCreator
  public ValidationSpec {
    rules = rules == null ? List.of() : List.copyOf(rules);
    inferRules = inferRules == null ? Boolean.TRUE : inferRules;
    drift = drift == null ? DriftSpec.DEFAULT : drift;
    environments = environments == null ? Map.of() : Map.copyOf(environments);
    history = history == null ? HistorySpec.DEFAULT : history;
  }

  /** Creates a spec with the default history checks. */
  public ValidationSpec(
      List<RuleSpec> rules,
      Boolean inferRules,
      DriftSpec drift,
      Map<String, EnvironmentSpec> environments) {
    this(rules, inferRules, drift, environments, null);
  }

  /** Creates a spec without environments. */
  public ValidationSpec(List<RuleSpec> rules, Boolean inferRules, DriftSpec drift) {
    this(rules, inferRules, drift, null, null);
  }

  /** Returns the columns excluded in {@code environment}; none for an environment not declared. */
  public List<String> excludedIn(String environment) {
    EnvironmentSpec spec = environments.get(environment);
    return spec == null ? List.of() : spec.exclude();
  }
}
