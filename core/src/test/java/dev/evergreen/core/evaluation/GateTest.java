package dev.evergreen.core.evaluation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.pipeline.EvaluationSpec;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GateTest {
  private static final EvaluationSpec AUC = new EvaluationSpec("auc", 0.001, null);

  @Test
  void challengerBeatingChampionIsPromoted() {
    GateDecision decision = Gate.decide(AUC, Map.of("auc", 0.7012), Map.of("auc", 0.6950));

    assertThat(decision.promote()).isTrue();
    assertThat(decision.reason())
        .isEqualTo(
            "challenger auc 0.7012 vs champion 0.6950: improvement 0.0062 >= required 0.0010");
  }

  @Test
  void improvementBelowMarginIsNotPromoted() {
    GateDecision decision = Gate.decide(AUC, Map.of("auc", 0.6955), Map.of("auc", 0.6950));

    assertThat(decision.promote()).isFalse();
    assertThat(decision.reason())
        .isEqualTo(
            "challenger auc 0.6955 vs champion 0.6950: improvement 0.000500 < required 0.0010");
  }

  @Test
  void worseChallengerIsNotPromoted() {
    GateDecision decision = Gate.decide(AUC, Map.of("auc", 0.68), Map.of("auc", 0.70));

    assertThat(decision.promote()).isFalse();
    assertThat(decision.reason()).contains("improvement -0.0200 < required 0.0010");
  }

  @Test
  void exactMarginIsPromotedDespiteRounding() {
    // 0.6 - 0.5 is 0.09999999999999998 in binary floating point.
    assertThat(0.6 - 0.5).isLessThan(0.1);
    EvaluationSpec spec = new EvaluationSpec("accuracy", 0.1, null);

    GateDecision decision = Gate.decide(spec, Map.of("accuracy", 0.6), Map.of("accuracy", 0.5));

    assertThat(decision.promote()).isTrue();
  }

  @Test
  void firstModelIsPromotedWhenFloorsMet() {
    EvaluationSpec spec = new EvaluationSpec("auc", 0.001, Map.of("auc", 0.6));

    GateDecision decision = Gate.decide(spec, Map.of("auc", 0.7012), null);

    assertThat(decision.promote()).isTrue();
    assertThat(decision.reason()).isEqualTo("no champion; challenger auc 0.7012");
  }

  @Test
  void failedFloorsBlockPromotion() {
    EvaluationSpec spec =
        new EvaluationSpec("auc", 0.0, Map.of("auc", 0.75, "log_loss", 0.5, "accuracy", 0.6));
    Map<String, Double> challenger = Map.of("auc", 0.7012, "log_loss", 0.61, "accuracy", 0.65);

    GateDecision decision = Gate.decide(spec, challenger, Map.of("auc", 0.60));

    assertThat(decision.promote()).isFalse();
    assertThat(decision.reason())
        .isEqualTo(
            "challenger auc 0.7012 vs champion 0.6000: improvement 0.1012 >= required 0.0000"
                + "; floor auc >= 0.7500 failed: challenger auc 0.7012"
                + "; floor log_loss <= 0.5000 failed: challenger log_loss 0.6100");
  }

  @Test
  void lowerLogLossIsBetter() {
    EvaluationSpec spec = new EvaluationSpec("log_loss", 0.01, null);

    GateDecision better = Gate.decide(spec, Map.of("log_loss", 0.40), Map.of("log_loss", 0.45));
    GateDecision worse = Gate.decide(spec, Map.of("log_loss", 0.50), Map.of("log_loss", 0.45));

    assertThat(better.promote()).isTrue();
    assertThat(better.reason())
        .isEqualTo(
            "challenger log_loss 0.4000 vs champion 0.4500: improvement 0.0500 >= required"
                + " 0.0100 (lower is better)");
    assertThat(worse.promote()).isFalse();
    assertThat(worse.reason()).contains("improvement -0.0500 < required 0.0100");
  }

  @Test
  void lowerRmseAndMaeAreBetter() {
    for (String metric : new String[] {"rmse", "mae"}) {
      EvaluationSpec spec = new EvaluationSpec(metric, 0.0, Map.of(metric, 10.0));

      assertThat(Gate.decide(spec, Map.of(metric, 9.0), Map.of(metric, 9.5)).promote())
          .as(metric)
          .isTrue();
      assertThat(Gate.decide(spec, Map.of(metric, 9.6), Map.of(metric, 9.5)).promote())
          .as(metric)
          .isFalse();
      assertThat(Gate.decide(spec, Map.of(metric, 11.0), null).promote()).as(metric).isFalse();
    }
  }

  @Test
  void nanChallengerMetricNeverPasses() {
    GateDecision decision = Gate.decide(AUC, Map.of("auc", Double.NaN), null);

    assertThat(decision.promote()).isFalse();
    assertThat(decision.reason()).isEqualTo("challenger auc is NaN, which never passes");
  }

  @Test
  void nanFloorMetricFails() {
    EvaluationSpec spec = new EvaluationSpec("accuracy", 0.0, Map.of("r2", 0.1));

    GateDecision decision = Gate.decide(spec, Map.of("accuracy", 0.9, "r2", Double.NaN), null);

    assertThat(decision.promote()).isFalse();
    assertThat(decision.reason()).contains("floor r2 >= 0.1000 failed: challenger r2 is NaN");
  }

  @Test
  void missingMetricFails() {
    EvaluationSpec spec = new EvaluationSpec("auc", 0.0, Map.of("f1", 0.1));

    GateDecision decision = Gate.decide(spec, Map.of("auc", 0.9), null);

    assertThat(decision.promote()).isFalse();
    assertThat(decision.reason()).contains("floor f1 >= 0.1000 failed: challenger f1 is missing");
  }

  @Test
  void nanChampionMetricBlocksPromotion() {
    Map<String, Double> champion = new HashMap<>();
    champion.put("auc", Double.NaN);

    GateDecision decision = Gate.decide(AUC, Map.of("auc", 0.9), champion);

    assertThat(decision.promote()).isFalse();
    assertThat(decision.reason()).contains("vs champion NaN");
  }

  @Test
  void equalMetricPassesZeroMargin() {
    EvaluationSpec spec = new EvaluationSpec("accuracy", 0.0, null);

    GateDecision decision = Gate.decide(spec, Map.of("accuracy", 0.8), Map.of("accuracy", 0.8));

    assertThat(decision.promote()).isTrue();
    assertThat(decision.reason()).contains("improvement 0.0000 >= required 0.0000");
  }
}
