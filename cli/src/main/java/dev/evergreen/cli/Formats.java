package dev.evergreen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.validation.Anomaly;
import dev.evergreen.api.validation.ValidationReport;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** Text forms of records for terminal output. */
final class Formats {
  private Formats() {}

  static String runSummary(Run run) {
    StringBuilder out = new StringBuilder();
    out.append("run ").append(run.id()).append(" of pipeline ").append(run.pipeline()).append('\n');
    out.append("  status:   ").append(run.status());
    if (run.outcome() != null) {
      out.append(" (").append(run.outcome()).append(')');
    }
    out.append('\n');
    if (run.source() != null) {
      out.append("  source:   ").append(run.source()).append('\n');
    }
    if (run.snapshotId() != null) {
      out.append("  snapshot: ").append(run.snapshotId()).append('\n');
    }
    if (run.reason() != null) {
      out.append("  reason:   ").append(run.reason()).append('\n');
    }
    if (!run.metrics().isEmpty()) {
      out.append("  metrics:  ").append(numbers(run.metrics())).append('\n');
    }
    if (!run.stepSeconds().isEmpty()) {
      out.append("  steps (s): ").append(numbers(run.stepSeconds())).append('\n');
    }
    return out.toString().stripTrailing();
  }

  /** Warnings shown at most, so that a batch with many does not flood a CI log. */
  private static final int WARNINGS_SHOWN = 10;

  /**
   * Returns the warnings of a validation report, one per line and at most {@value #WARNINGS_SHOWN},
   * with a line naming {@code evergreen runs show} for the rest; empty when there are none.
   */
  static String warnings(ValidationReport report, String runId) {
    List<Anomaly> warnings = report.warnings();
    if (warnings.isEmpty()) {
      return "";
    }
    StringBuilder out = new StringBuilder();
    out.append("  warnings: ").append(warnings.size()).append('\n');
    warnings.stream()
        .limit(WARNINGS_SHOWN)
        .forEach(warning -> out.append("    ").append(warning.describe()).append('\n'));
    if (warnings.size() > WARNINGS_SHOWN) {
      out.append("    and ")
          .append(warnings.size() - WARNINGS_SHOWN)
          .append(" more: evergreen runs show ")
          .append(runId)
          .append('\n');
    }
    return out.toString();
  }

  static String numbers(Map<String, Double> values) {
    StringBuilder out = new StringBuilder();
    new TreeMap<>(values)
        .forEach(
            (name, value) -> {
              if (!out.isEmpty()) {
                out.append(", ");
              }
              out.append(name).append('=').append(number(value));
            });
    return out.toString();
  }

  static String number(Double value) {
    if (value == null || value.isNaN()) {
      return "n/a";
    }
    if (value == Math.rint(value) && Math.abs(value) < 1e12) {
      return Long.toString(value.longValue());
    }
    return String.format(Locale.ROOT, "%.4f", value);
  }

  /**
   * Returns the line that reports a server's error response, {@code error: MESSAGE (HTTP STATUS)},
   * in the form of the CLI's own errors. A body that is not {@code {"error": "..."}} is shown
   * whole.
   */
  static String serverError(int status, String body) {
    String message = body;
    try {
      JsonNode error = new ObjectMapper().readTree(body).get("error");
      if (error != null && error.isTextual()) {
        message = error.asText();
      }
    } catch (IOException e) {
      // Not JSON, such as a proxy's HTML page: show it as it came.
    }
    return "error: " + message + " (HTTP " + status + ")";
  }
}
