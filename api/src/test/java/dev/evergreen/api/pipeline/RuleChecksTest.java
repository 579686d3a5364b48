package dev.evergreen.api.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.EvergreenException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Loader checks of batch rules, expressions, ages and environments in a constraints file. */
class RuleChecksTest {
  private static ConstraintsSpec parse(String yaml) {
    return PipelineSpecs.parseConstraints(yaml.getBytes(StandardCharsets.UTF_8), "c.yaml");
  }

  private static String errorOf(String rules) {
    try {
      parse("validation:\n  rules:\n" + rules);
      return null;
    } catch (EvergreenException e) {
      return e.getMessage();
    }
  }

  @Test
  void batchRuleReadsEveryField() {
    ConstraintsSpec spec =
        parse(
            """
            validation:
              rules:
                - rowCountBetween: [100, 200000]
                  maxRowCountChange: 0.5
                  condition: "arrival >= departure"
                  tolerance: 0.99
                  severity: warning
                - column: delay
                  where: "delay > -120"
                  distinctCountBetween: [1, 2000]
                - column: date
                  maxAge: PT48H
              environments:
                serving:
                  exclude: [delay]
            """);

    RuleSpec batch = spec.validation().rules().get(0);
    assertThat(batch.isBatchRule()).isTrue();
    assertThat(batch.rowCountBetween()).containsExactly(100L, 200000L);
    assertThat(batch.maxRowCountChange()).isEqualTo(0.5);
    assertThat(batch.condition()).isEqualTo("arrival >= departure");
    assertThat(spec.validation().rules().get(1).where()).isEqualTo("delay > -120");
    assertThat(spec.validation().rules().get(1).distinctCountBetween()).containsExactly(1L, 2000L);
    assertThat(spec.validation().rules().get(2).maxAgeDuration()).isEqualTo(Duration.ofHours(48));
    assertThat(spec.validation().excludedIn("serving")).containsExactly("delay");
    assertThat(spec.validation().excludedIn("training")).isEmpty();
  }

  @Test
  void ruleWithoutColumnOrBatchFieldRejected() {
    assertThat(errorOf("    - notNull: true\n"))
        .contains("validation.rules[0].column is missing")
        .contains("rowCountBetween, maxRowCountChange or condition");
  }

  @Test
  void batchRuleWithColumnFieldRejected() {
    assertThat(errorOf("    - rowCountBetween: [1, 5]\n      notNull: true\n"))
        .contains("validation.rules[0]: notNull check a column and need column");
  }

  @Test
  void columnRuleWithBatchFieldRejected() {
    assertThat(errorOf("    - column: delay\n      rowCountBetween: [1, 5]\n"))
        .contains("validation.rules[0].rowCountBetween applies to the whole batch");
  }

  @Test
  void countRangesChecked() {
    assertThat(errorOf("    - rowCountBetween: [5, 1]\n")).contains("lo 5 is greater than hi 1");
    assertThat(errorOf("    - column: a\n      distinctCountBetween: [-1, 3]\n"))
        .contains("lo -1 must not be negative");
    assertThat(errorOf("    - column: a\n      distinctCountBetween: [3]\n"))
        .contains("must be two whole numbers");
  }

  @Test
  void negativeRowCountChangeRejected() {
    assertThat(errorOf("    - maxRowCountChange: -0.1\n")).contains("must be 0 or more");
  }

  @Test
  void expressionWithSemicolonRejected() {
    assertThat(errorOf("    - column: a\n      where: \"a > 1; SELECT 1\"\n"))
        .contains("validation.rules[0].where")
        .contains("contains ';'");
    assertThat(errorOf("    - condition: \" \"\n")).contains("condition is empty");
  }

  @Test
  void invalidMaxAgeRejected() {
    assertThat(errorOf("    - column: d\n      maxAge: 48h\n"))
        .contains("maxAge '48h' is not an ISO 8601 duration");
    assertThat(errorOf("    - column: d\n      maxAge: PT0S\n"))
        .contains("must be a positive duration");
  }

  @Test
  void emptyEnvironmentRejected() {
    assertThatThrownBy(
            () -> parse("validation:\n  environments:\n    serving:\n      exclude: []\n"))
        .hasMessageContaining("validation.environments.serving.exclude is empty");
  }

  @Test
  void legacyConstructorsKeepDefaults() {
    RuleSpec rule = new RuleSpec("a", true, null, null, null, null);
    ValidationSpec validation = new ValidationSpec(List.of(rule), null, null);

    assertThat(rule.tolerance()).isEqualTo(1.0);
    assertThat(rule.isBatchRule()).isFalse();
    assertThat(validation.environments()).isEmpty();
  }
}
