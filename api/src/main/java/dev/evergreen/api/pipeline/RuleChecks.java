package dev.evergreen.api.pipeline;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Semantic checks of {@code validation.rules} and {@code validation.environments}. */
final class RuleChecks {
  private RuleChecks() {}

  /** Adds a problem when a rule has no column and no batch constraint, so it checks nothing. */
  static void checkKind(RuleSpec rule, String field, List<String> problems) {
    if (rule.column() != null) {
      return;
    }
    if (batchFields(rule).isEmpty()) {
      problems.add(
          field
              + ".column is missing; a column rule names the column it checks, and a rule on the"
              + " whole batch sets rowCountBetween, maxRowCountChange or condition");
      return;
    }
    List<String> columnFields = columnFields(rule);
    if (!columnFields.isEmpty()) {
      problems.add(
          field
              + ": "
              + String.join(", ", columnFields)
              + " check a column and need column; put them in a rule that names the column");
    }
  }

  /** Checks the values of the constraints added with batch rules, distinct counts and ages. */
  static void checkBatchAndColumnFields(RuleSpec rule, String field, List<String> problems) {
    if (rule.column() != null) {
      for (String batchField : batchFields(rule)) {
        problems.add(
            field
                + "."
                + batchField
                + " applies to the whole batch; move it to a rule without column");
      }
    }
    checkCountRange(rule.distinctCountBetween(), field + ".distinctCountBetween", problems);
    checkCountRange(rule.rowCountBetween(), field + ".rowCountBetween", problems);
    if (rule.maxRowCountChange() != null && !(rule.maxRowCountChange() >= 0)) {
      problems.add(field + ".maxRowCountChange " + rule.maxRowCountChange() + " must be 0 or more");
    }
    checkExpression(rule.where(), field + ".where", problems);
    checkExpression(rule.condition(), field + ".condition", problems);
    if (rule.maxAge() != null) {
      try {
        Duration age = rule.maxAgeDuration();
        if (age.isNegative() || age.isZero()) {
          problems.add(field + ".maxAge " + rule.maxAge() + " must be a positive duration");
        }
      } catch (DateTimeParseException e) {
        problems.add(
            field
                + ".maxAge '"
                + rule.maxAge()
                + "' is not an ISO 8601 duration; write it as PT48H, P7D or PT30M");
      }
    }
  }

  static void checkEnvironments(ValidationSpec validation, List<String> problems) {
    for (Map.Entry<String, EnvironmentSpec> environment : validation.environments().entrySet()) {
      List<String> exclude = environment.getValue().exclude();
      if (exclude.isEmpty()) {
        problems.add(
            "validation.environments."
                + environment.getKey()
                + ".exclude is empty; list the columns this environment lacks");
      }
    }
  }

  private static List<String> batchFields(RuleSpec rule) {
    List<String> fields = new ArrayList<>();
    if (rule.rowCountBetween() != null) {
      fields.add("rowCountBetween");
    }
    if (rule.maxRowCountChange() != null) {
      fields.add("maxRowCountChange");
    }
    if (rule.condition() != null) {
      fields.add("condition");
    }
    return fields;
  }

  private static List<String> columnFields(RuleSpec rule) {
    List<String> fields = new ArrayList<>();
    Map<String, Object> values = new java.util.LinkedHashMap<>();
    values.put("notNull", rule.notNull());
    values.put("min", rule.min());
    values.put("max", rule.max());
    values.put("allowedValues", rule.allowedValues());
    values.put("unique", rule.unique());
    values.put("pattern", rule.pattern());
    values.put("minLength", rule.minLength());
    values.put("maxLength", rule.maxLength());
    values.put("completeness", rule.completeness());
    values.put("meanBetween", rule.meanBetween());
    values.put("stddevBetween", rule.stddevBetween());
    values.put("minInDomain", rule.minInDomain());
    values.put("distinctCountBetween", rule.distinctCountBetween());
    values.put("where", rule.where());
    values.put("maxAge", rule.maxAge());
    values.forEach(
        (name, value) -> {
          if (value != null) {
            fields.add(name);
          }
        });
    return fields;
  }

  /** Adds a problem unless {@code range} is null or two counts {@code [lo, hi]}, 0 <= lo <= hi. */
  private static void checkCountRange(List<Long> range, String field, List<String> problems) {
    if (range == null) {
      return;
    }
    if (range.size() != 2) {
      problems.add(field + " " + range + " must be two whole numbers [lo, hi]");
    } else if (range.get(0) < 0) {
      problems.add(field + " " + range + ": lo " + range.get(0) + " must not be negative");
    } else if (range.get(0) > range.get(1)) {
      problems.add(
          field + " " + range + ": lo " + range.get(0) + " is greater than hi " + range.get(1));
    }
  }

  /**
   * Rejects an empty expression and one with {@code ;}, which would end the expression and start
   * another statement. The validator prepares the expression against the batch, which finds the
   * remaining errors: unknown columns, syntax and a type other than boolean.
   */
  private static void checkExpression(String expression, String field, List<String> problems) {
    if (expression == null) {
      return;
    }
    if (expression.isBlank()) {
      problems.add(field + " is empty; give a SQL boolean expression or remove the field");
    } else if (expression.contains(";")) {
      problems.add(
          field
              + " '"
              + expression
              + "' contains ';'; give one SQL boolean expression, not a statement");
    }
  }
}
