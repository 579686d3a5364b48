package dev.evergreen.core.validation;

import static dev.evergreen.core.validation.Validator.format;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.RuleSpec;
import dev.evergreen.api.validation.ConstraintResult;
import dev.evergreen.api.validation.Severity;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.store.MetadataStore;
import dev.evergreen.core.store.PipelineState;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Lists, declares and resets the rules that {@link RuleInference} inferred from a pipeline's
 * reference snapshot and stored in its {@link PipelineState}, and marks their results as inferred.
 */
public final class InferredRules {
  // JSON string syntax is valid YAML double-quoted scalar syntax.
  private static final ObjectMapper JSON = new ObjectMapper();

  private InferredRules() {}

  /**
   * One constraint of an inferred rule.
   *
   * @param rule constraint name as reports show it: {@code not_null}, {@code min} or {@code
   *     allowed_values}
   * @param value the constraint's limit as text, such as {@code 0} or {@code 'a', 'b'}
   */
  public record Entry(String column, String rule, String value, Severity severity) {}

  /** Returns one entry per constraint of {@code rules}, in their order. */
  public static List<Entry> entries(List<RuleSpec> rules) {
    List<Entry> entries = new ArrayList<>();
    for (RuleSpec rule : rules) {
      for (String name : RuleChecker.constraintNames(rule)) {
        entries.add(new Entry(rule.column(), name, value(rule, name), rule.severity()));
      }
    }
    return entries;
  }

  private static String value(RuleSpec rule, String name) {
    return switch (name) {
      case "not_null" -> "true";
      case "min" -> format(rule.min());
      case "max" -> format(rule.max());
      case "allowed_values" ->
          String.join(", ", rule.allowedValues().stream().map(v -> "'" + v + "'").toList());
      default -> RuleChecker.expected(rule, name);
    };
  }

  /**
   * Returns the rules as a {@code validation.rules} section of a pipeline file, with a comment that
   * names the snapshot they came from. Declared in the pipeline, each replaces the inferred rule of
   * the same column and kind.
   */
  public static String declarationYaml(String pipeline, PipelineState state) {
    StringBuilder yaml = new StringBuilder();
    yaml.append("# Rules of pipeline ")
        .append(quote(pipeline))
        .append(" inferred from snapshot ")
        .append(state.referenceSnapshotId())
        .append(".\n")
        .append("# Copy them under validation.rules in the pipeline file and edit them there. A\n")
        .append("# declared rule replaces the inferred rule of the same column and kind.\n")
        .append("validation:\n  rules:");
    if (state.inferredRules().isEmpty()) {
      return yaml.append(" []\n").toString();
    }
    yaml.append('\n');
    for (RuleSpec rule : state.inferredRules()) {
      yaml.append("    - column: ").append(quote(rule.column())).append('\n');
      if (Boolean.TRUE.equals(rule.notNull())) {
        yaml.append("      notNull: true\n");
      }
      if (rule.min() != null) {
        yaml.append("      min: ").append(format(rule.min())).append('\n');
      }
      if (rule.max() != null) {
        yaml.append("      max: ").append(format(rule.max())).append('\n');
      }
      if (rule.allowedValues() != null) {
        yaml.append("      allowedValues: [")
            .append(String.join(", ", rule.allowedValues().stream().map(v -> quote(v)).toList()))
            .append("]\n");
      }
      yaml.append("      severity: ").append(rule.severity().text()).append('\n');
    }
    return yaml.toString();
  }

  /**
   * Deletes the pipeline's stored reference and inferred rules and appends an audit entry, in one
   * transaction. The pipeline's next accepted batch becomes its reference for drift and its rules
   * are inferred from that batch again. Returns the deleted state, empty when none was stored.
   */
  public static Optional<PipelineState> reset(
      MetadataStore store, AuditLog audit, String pipeline, String actor) {
    return store.inTransaction(
        () -> {
          Optional<PipelineState> state = store.findPipelineState(pipeline);
          if (state.isEmpty()) {
            return state;
          }
          store.deletePipelineState(pipeline);
          Map<String, String> details = new LinkedHashMap<>();
          details.put("reference_snapshot", state.get().referenceSnapshotId());
          details.put(
              "inferred_rules", Integer.toString(entries(state.get().inferredRules()).size()));
          audit.append(
              actor, AuditActions.INFERRED_RULES_RESET, Map.of("pipeline", pipeline), details);
          return state;
        });
  }

  /**
   * Returns the inferred rules that the pipeline does not declare itself: a declared rule replaces
   * the inferred rule of the same column and kind, such as a declared {@code min: -100} on a column
   * for which {@code min: 0} was inferred.
   */
  static List<RuleSpec> notDeclared(List<RuleSpec> inferred, PipelineSpec spec) {
    List<RuleSpec> undeclared = new ArrayList<>();
    for (RuleSpec rule : inferred) {
      boolean replaced =
          RuleChecker.constraintNames(rule).stream()
              .allMatch(kind -> RuleInference.declares(spec, rule.column(), kind));
      if (!replaced) {
        undeclared.add(rule);
      }
    }
    return undeclared;
  }

  /**
   * Returns {@code result} with a note in its expected text that names the reference snapshot the
   * rule was inferred from, such as {@code >= 0 (inferred from snapshot 840bf1c2a9d0)}.
   */
  static ConstraintResult markInferred(ConstraintResult result, Snapshot reference) {
    String origin =
        reference == null
            ? "inferred from the reference snapshot"
            : "inferred from snapshot " + reference.shortId();
    return new ConstraintResult(
        result.name(),
        result.column(),
        result.severity(),
        result.status(),
        result.expected() + " (" + origin + ")",
        result.observed(),
        result.value(),
        result.failingRows(),
        result.failingShare(),
        result.examples());
  }

  private static String quote(String text) {
    try {
      return JSON.writeValueAsString(text);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
