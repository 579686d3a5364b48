package dev.evergreen.api.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Checks of the deployment section and of numbers in pipeline files, by {@link PipelineSpecs}. */
class DeploymentSpecChecksTest {
  private static final String MINIMAL =
      """
      name: p
      source:
        file: batch.csv
      label:
        column: y
      features:
        numeric: [x]
      trainer:
        objective: "binary:logistic"
      evaluation:
        metric: auc
      deployment:
        model: m
      """;

  private static PipelineSpec parse(String deployment) {
    return PipelineSpecs.parse((MINIMAL + deployment).getBytes(StandardCharsets.UTF_8), "p.yaml");
  }

  private static String errorOf(String deployment) {
    try {
      parse(deployment);
    } catch (EvergreenException e) {
      assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
      return e.getMessage();
    }
    throw new AssertionError("expected the pipeline to be rejected:\n" + deployment);
  }

  @Test
  void fractionForIntegerNamesFieldValueAndRange() {
    Map<String, String> cases =
        Map.of(
            "  strategy: canary\n  canary:\n    rollback:\n      windowSeconds: 1.5\n",
            "field 'deployment.canary.rollback.windowSeconds': 1.5 is not an integer; give an"
                + " integer between 1 and 3600",
            "  strategy: canary\n  canary:\n    rollback:\n      minRequests: 2.5\n",
            "field 'deployment.canary.rollback.minRequests': 2.5 is not an integer; give an"
                + " integer of at least 1",
            "  batching:\n    maxBatchSize: 0.5\n",
            "field 'deployment.batching.maxBatchSize': 0.5 is not an integer; give an integer"
                + " between 1 and 100000",
            "  batching:\n    maxQueue: 10.25\n",
            "field 'deployment.batching.maxQueue': 10.25 is not an integer; give an integer"
                + " between 1 and 1000000",
            "  checkRows: 0.9\n",
            "field 'deployment.checkRows': 0.9 is not an integer; give an integer of at least 1");
    cases.forEach(
        (deployment, message) -> assertThat(errorOf(deployment)).as(deployment).contains(message));
  }

  @Test
  void fractionInIntegerListIsRejected() {
    String yaml =
        MINIMAL.replace(
            "deployment:",
            "validation:\n  rules:\n    - rowCountBetween: [1.5, 10]\n      severity: error\n"
                + "deployment:");

    try {
      PipelineSpecs.parse(yaml.getBytes(StandardCharsets.UTF_8), "p.yaml");
      throw new AssertionError("expected the fraction to be rejected");
    } catch (EvergreenException e) {
      assertThat(e.getMessage())
          .contains("field 'validation.rules[0].rowCountBetween[0]': 1.5 is not an integer");
    }
  }

  @Test
  void integerRangesMatchRangeChecks() {
    Map<String, String> cases =
        Map.of(
            "  strategy: canary\n  canary:\n    rollback:\n      windowSeconds: 0\n",
            "must be between 1 and 3600",
            "  strategy: canary\n  canary:\n    rollback:\n      minRequests: 0\n",
            "must be at least 1",
            "  batching:\n    maxBatchSize: 0\n",
            "must be between 1 and 100000",
            "  batching:\n    maxQueue: 0\n",
            "must be between 1 and 1000000",
            "  checkRows: 0\n",
            "must be at least 1");
    cases.forEach(
        (deployment, message) -> assertThat(errorOf(deployment)).as(deployment).contains(message));
  }

  @Test
  void wholeNumberInIntegerFieldIsAccepted() {
    PipelineSpec spec =
        parse("  strategy: canary\n  canary:\n    rollback:\n      windowSeconds: 90\n");

    assertThat(spec.deployment().canary().rollback().windowSeconds()).isEqualTo(90);
  }

  @Test
  void nanAndInfinityNameFieldAndFiniteRule() {
    Map<String, String> cases =
        Map.of(
            "  strategy: canary\n  canary:\n    rollback:\n      maxP99Millis: .nan\n",
            "field 'deployment.canary.rollback.maxP99Millis': .nan is not a finite number",
            "  strategy: canary\n  canary:\n    rollback:\n      maxP99Millis: .inf\n",
            "field 'deployment.canary.rollback.maxP99Millis': .inf is not a finite number",
            "  strategy: canary\n  canary:\n    percent: .NaN\n",
            "field 'deployment.canary.percent': .NaN is not a finite number",
            "  strategy: shadow\n  shadow:\n    tolerance: -.inf\n",
            "field 'deployment.shadow.tolerance': -.inf is not a finite number");
    cases.forEach(
        (deployment, message) -> {
          String error = errorOf(deployment);
          assertThat(error).as(deployment).contains(message);
          assertThat(error).as(deployment).doesNotContain("Malformed");
        });
  }

  @Test
  void canarySectionWithBlueGreenRejected() {
    String error = errorOf("  strategy: blue-green\n  canary:\n    percent: 20\n");

    assertThat(error)
        .contains("deployment.canary is set but deployment.strategy is blue-green")
        .contains("set strategy: canary or remove the canary section");
  }

  @Test
  void canarySectionWithDefaultStrategyRejected() {
    assertThat(errorOf("  canary: {}\n"))
        .contains("deployment.canary is set but deployment.strategy is blue-green");
  }

  @Test
  void shadowSectionWithCanaryStrategyRejected() {
    String error = errorOf("  strategy: canary\n  shadow:\n    percent: 50\n");

    assertThat(error)
        .contains("deployment.shadow is set but deployment.strategy is canary")
        .contains("set strategy: shadow or remove the shadow section");
  }

  @Test
  void sectionMatchingStrategyAccepted() {
    assertThat(parse("  strategy: canary\n  canary:\n    percent: 20\n").deployment().canary())
        .extracting(CanarySpec::percent)
        .isEqualTo(20.0);
    assertThat(parse("  strategy: shadow\n  shadow:\n    percent: 50\n").deployment().shadow())
        .extracting(ShadowSpec::percent)
        .isEqualTo(50.0);
  }

  @Test
  void keyHeaderWithSpaceRejected() {
    String error = errorOf("  strategy: canary\n  canary:\n    keyHeader: 'bad header'\n");

    assertThat(error)
        .contains("deployment.canary.keyHeader 'bad header' is not a valid HTTP header name");
  }

  @Test
  void keyHeaderTokenAccepted() {
    PipelineSpec spec = parse("  strategy: canary\n  canary:\n    keyHeader: X-Customer_Id.v2\n");

    assertThat(spec.deployment().canary().keyHeader()).isEqualTo("X-Customer_Id.v2");
  }

  @Test
  void headerNameFollowsTokenGrammar() {
    assertThat(CanarySpec.isHeaderName("X-Evergreen-Key")).isTrue();
    assertThat(CanarySpec.isHeaderName("a!#$%&'*+-.^_`|~9")).isTrue();
    assertThat(CanarySpec.isHeaderName("bad header")).isFalse();
    assertThat(CanarySpec.isHeaderName("X:Key")).isFalse();
    assertThat(CanarySpec.isHeaderName("X-Kéy")).isFalse();
    assertThat(CanarySpec.isHeaderName("")).isFalse();
    assertThat(CanarySpec.isHeaderName(null)).isFalse();
  }
}
