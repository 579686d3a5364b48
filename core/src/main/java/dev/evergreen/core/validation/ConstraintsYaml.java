package dev.evergreen.core.validation;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evergreen.api.data.Column;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.validation.Severity;
import dev.evergreen.core.data.ColumnTypes;
import dev.evergreen.core.validation.RuleInference.Suggestion;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes suggested constraints as an editable constraints file, the format {@code
 * PipelineSpecs.loadConstraints} reads, with a comment on each suggestion that names the statistic
 * it came from.
 */
public final class ConstraintsYaml {
  // JSON string syntax is valid YAML double-quoted scalar syntax, so names and values need no
  // YAML-specific escaping.
  private static final ObjectMapper JSON = new ObjectMapper();

  private ConstraintsYaml() {}

  /** Returns the constraints file text for {@code batch} and the suggestions made from it. */
  public static String write(Snapshot batch, List<Suggestion> suggestions) {
    StringBuilder yaml = new StringBuilder();
    yaml.append("# Constraints suggested by evergreen schema infer from ")
        .append(batch.source())
        .append(" (")
        .append(RuleInference.count(batch.profile().rowCount()))
        .append(" rows).\n")
        .append("# Edit them, then check a batch with: evergreen validate --schema FILE DATA\n")
        .append("data:\n  columns:\n");
    for (Column column : batch.schema().columns()) {
      yaml.append("    ")
          .append(quote(column.name()))
          .append(": ")
          .append(ColumnTypes.specName(column.type()))
          .append("  # type read from the file\n");
    }
    yaml.append("validation:\n  rules:");
    Map<String, List<Suggestion>> rules = new LinkedHashMap<>();
    for (Suggestion suggestion : suggestions) {
      String key = suggestion.column() + "\u0000" + suggestion.severity();
      rules.computeIfAbsent(key, k -> new ArrayList<>()).add(suggestion);
    }
    if (rules.isEmpty()) {
      yaml.append(" []\n");
      return yaml.toString();
    }
    yaml.append('\n');
    for (List<Suggestion> rule : rules.values()) {
      Suggestion first = rule.get(0);
      yaml.append("    - column: ").append(quote(first.column())).append('\n');
      for (Suggestion suggestion : rule) {
        yaml.append("      ")
            .append(suggestion.field())
            .append(": ")
            .append(value(suggestion.value()))
            .append("  # ")
            .append(suggestion.reason())
            .append('\n');
      }
      if (first.severity() == Severity.WARNING) {
        yaml.append("      severity: warning\n");
      }
    }
    return yaml.toString();
  }

  private static String value(Object value) {
    if (value instanceof List<?> list) {
      List<String> items = new ArrayList<>();
      for (Object item : list) {
        items.add(quote(String.valueOf(item)));
      }
      return "[" + String.join(", ", items) + "]";
    }
    if (value instanceof Double number) {
      return Validator.format(number);
    }
    return String.valueOf(value);
  }

  private static String quote(String text) {
    try {
      return JSON.writeValueAsString(text);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
