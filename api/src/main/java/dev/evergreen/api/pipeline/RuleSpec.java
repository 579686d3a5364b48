package dev.evergreen.api.pipeline;

import dev.evergreen.api.validation.Severity;
import java.util.List;

/**
 * Rules on one column. Every set field is one rule.
 *
 * @param column column name
 * @param notNull when true, no value may be null
 * @param min smallest allowed value (numbers)
 * @param max largest allowed value (numbers)
 * @param allowedValues the only allowed values (compared as text)
 * @param severity {@code error} stops the run, {@code warning} is recorded; error by default
 */
public record RuleSpec(
    String column,
    Boolean notNull,
    Double min,
    Double max,
    List<String> allowedValues,
    Severity severity) {
  public RuleSpec {
    severity = severity == null ? Severity.ERROR : severity;
    allowedValues = allowedValues == null ? null : List.copyOf(allowedValues);
  }
}
