package dev.evergreen.api.pipeline;

import java.util.List;

/**
 * Checks run on each batch before training.
 *
 * @param rules declared per-column rules
 * @param inferRules when true, rules are inferred from the first accepted snapshot and saved with
 *     it; later batches are checked against them
 * @param drift drift thresholds
 */
public record ValidationSpec(List<RuleSpec> rules, Boolean inferRules, DriftSpec drift) {
  public static final ValidationSpec DEFAULT = new ValidationSpec(null, null, null);

  public ValidationSpec {
    rules = rules == null ? List.of() : List.copyOf(rules);
    inferRules = inferRules == null ? Boolean.TRUE : inferRules;
    drift = drift == null ? DriftSpec.DEFAULT : drift;
  }
}
