package dev.evergreen.api.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.PersonalDataTag;
import dev.evergreen.api.validation.Severity;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PipelineSpecsTest {
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

  private static PipelineSpec parse(String yaml) {
    return PipelineSpecs.parse(yaml.getBytes(StandardCharsets.UTF_8), "p.yaml");
  }

  private static String errorOf(String yaml) {
    try {
      parse(yaml);
    } catch (EvergreenException e) {
      assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
      return e.getMessage();
    }
    throw new AssertionError("expected the pipeline to be rejected:\n" + yaml);
  }

  @Test
  void loadExampleReadsEveryField() {
    PipelineSpec spec = PipelineSpecs.load(ExamplePipeline.file());

    assertThat(spec.name()).isEqualTo("flights-delay");
    assertThat(spec.source().landing()).isEqualTo("landing");
    assertThat(spec.source().file()).isNull();
    assertThat(spec.data().columns())
        .containsExactly(
            Map.entry("date", "timestamp"),
            Map.entry("delay", "integer"),
            Map.entry("distance", "integer"),
            Map.entry("origin", "string"),
            Map.entry("destination", "string"));
    assertThat(spec.label()).isEqualTo(new LabelSpec("delay", 15.0));
    assertThat(spec.features().numeric()).containsExactly("distance");
    assertThat(spec.features().categorical()).containsExactly("origin", "destination");
    assertThat(spec.features().derived())
        .containsExactly(
            new DerivedFeature("hour", "date", "hour_of_day"),
            new DerivedFeature("day_of_week", "date", "day_of_week"));
    assertThat(spec.split()).isEqualTo(new SplitSpec("random", 0.2, 42L, null));
    assertThat(spec.trainer().objective()).isEqualTo("binary:logistic");
    assertThat(spec.trainer().rounds()).isEqualTo(60);
    assertThat(spec.trainer().seed()).isEqualTo(7L);
    assertThat(spec.trainer().threads()).isEqualTo(2);
    assertThat(spec.trainer().params()).containsEntry("max_depth", 6).containsEntry("eta", 0.3);
    assertThat(spec.validation().inferRules()).isTrue();
    assertThat(spec.validation().drift()).isEqualTo(new DriftSpec(0.1, null));
    assertThat(spec.validation().rules())
        .containsExactly(new RuleSpec("distance", null, 1.0, 6000.0, null, Severity.ERROR));
    assertThat(spec.evaluation()).isEqualTo(new EvaluationSpec("auc", 0.001, Map.of("auc", 0.6)));
    assertThat(spec.deployment()).isEqualTo(new DeploymentSpec("flights-delay", null, 100, null));
  }

  @Test
  void parseMinimalAppliesDefaults() {
    PipelineSpec spec = parse(MINIMAL);

    assertThat(spec.source().stableSeconds()).isEqualTo(2);
    assertThat(spec.source().csv()).isEqualTo(new CsvSpec(",", true, "utf-8"));
    assertThat(spec.split()).isEqualTo(new SplitSpec("random", 0.2, 42L, null));
    assertThat(spec.trainer().engine()).isEqualTo("xgboost");
    assertThat(spec.trainer().rounds()).isEqualTo(100);
    assertThat(spec.trainer().threads()).isEqualTo(1);
    assertThat(spec.validation().inferRules()).isTrue();
    assertThat(spec.validation().drift().warning()).isEqualTo(0.1);
    assertThat(spec.validation().drift().error()).isNull();
    assertThat(spec.evaluation().minImprovement()).isEqualTo(0.0);
    assertThat(spec.deployment().strategy()).isEqualTo("blue-green");
    assertThat(spec.deployment().checkRows()).isEqualTo(100);
    assertThat(spec.deployment().checkTolerance()).isEqualTo(1e-5);
  }

  @Test
  void unknownFieldNamesLineColumnAndField() {
    String yaml = MINIMAL.replace("  objective:", "  learningRate: 0.1\n  objective:");

    String message = errorOf(yaml);

    // learningRate is on line 9, indented by two spaces.
    assertThat(message).startsWith("p.yaml:9:3: unknown field 'trainer.learningRate'");
    assertThat(message).contains("engine, objective, params, rounds, seed, threads");
  }

  @Test
  void unknownTopLevelFieldNamesLine() {
    String message = errorOf(MINIMAL + "owner: me\n");

    assertThat(message).startsWith("p.yaml:14:1: unknown field 'owner'");
  }

  @Test
  void wrongTypeNamesFieldPath() {
    String message = errorOf(MINIMAL.replace("  objective:", "  rounds: sixty\n  objective:"));

    assertThat(message).startsWith("p.yaml:9:3: field 'trainer.rounds'");
    assertThat(message).contains("sixty");
    assertThat(message).contains("integer");
  }

  @Test
  void wrongTypeInListNamesIndex() {
    String yaml =
        MINIMAL.replace("  numeric: [x]", "  derived:\n    - name: h\n      from: [a, b]\n");

    String message = errorOf(yaml);

    assertThat(message).contains("field 'features.derived[0].from'");
  }

  @Test
  void listGivenAsMappingNamesField() {
    String message = errorOf(MINIMAL.replace("numeric: [x]", "numeric: {x: 1}"));

    assertThat(message).contains("field 'features.numeric'");
    assertThat(message).contains("list");
  }

  @Test
  void taggedFeatureWithoutAllowIsRejected() {
    String yaml = MINIMAL + "data:\n  personalData:\n    x: quasi_identifier\n";

    String message = errorOf(yaml);

    assertThat(message).contains("column 'x' is tagged quasi_identifier");
    assertThat(message).contains("features.allowPersonalData");
  }

  @Test
  void taggedDerivedSourceWithoutAllowIsRejected() {
    String yaml =
        MINIMAL.replace(
                "  numeric: [x]",
                "  numeric: [x]\n  derived:\n    - {name: h, from: born, function: hour_of_day}")
            + "data:\n  personalData:\n    born: quasi_identifier\n";

    assertThat(errorOf(yaml)).contains("column 'born' is tagged quasi_identifier");
  }

  @Test
  void taggedFeatureAllowedByName() {
    String yaml =
        MINIMAL.replace("  numeric: [x]", "  numeric: [x]\n  allowPersonalData: [x]")
            + "data:\n  personalData:\n    x: sensitive\n    email: DIRECT_IDENTIFIER\n";

    PipelineSpec spec = parse(yaml);

    assertThat(spec.data().personalData())
        .containsEntry("x", PersonalDataTag.SENSITIVE)
        .containsEntry("email", PersonalDataTag.DIRECT_IDENTIFIER);
  }

  @Test
  void unknownPersonalDataTagListsTags() {
    String message = errorOf(MINIMAL + "data:\n  personalData:\n    x: secret\n");

    assertThat(message).contains("data.personalData.x");
    assertThat(message).contains("direct_identifier, quasi_identifier, sensitive");
  }

  @Test
  void unknownSeverityListsAllowedValues() {
    String yaml = MINIMAL + "validation:\n  rules:\n    - {column: x, severity: fatal}\n";

    String message = errorOf(yaml);

    assertThat(message).startsWith("p.yaml:16:19: field 'validation.rules[0].severity'");
    assertThat(message).contains("unknown value 'fatal'; use one of error, warning");
  }

  @Test
  void missingRequiredSectionNamed() {
    String message = errorOf(MINIMAL.replace("deployment:\n  model: m\n", ""));

    assertThat(message).contains("missing required field 'deployment'");
  }

  @Test
  void emptyRequiredSectionNamed() {
    String message = errorOf(MINIMAL.replace("label:\n  column: y\n", "label:\n"));

    assertThat(message).contains("label is empty");
  }

  @Test
  void columnWithoutTypeNamed() {
    String message = errorOf(MINIMAL + "data:\n  columns:\n    x: double\n    y:\n");

    assertThat(message).contains("data.columns.y has no type");
  }

  @Test
  void missingRequiredFieldInSectionNamed() {
    String message = errorOf(MINIMAL.replace("  model: m\n", "  checkRows: 10\n"));

    assertThat(message).contains("deployment.model is missing");
  }

  @Test
  void nullNameNamed() {
    String message = errorOf(MINIMAL.replace("name: p", "name:"));

    assertThat(message).contains("field 'name' must not be null");
  }

  @Test
  void emptyListEntryNamed() {
    String message = errorOf(MINIMAL.replace("numeric: [x]", "numeric:\n    - x\n    -\n"));

    // The record's constructor copies the list, so Jackson reports only the enclosing field.
    assertThat(message).contains("field 'features' contains an empty (null) entry");
  }

  @Test
  void badObjectiveListsAllowedValues() {
    String message = errorOf(MINIMAL.replace("binary:logistic", "binary:hinge"));

    assertThat(message)
        .contains(
            "trainer.objective 'binary:hinge' must be one of "
                + "binary:logistic, multi:softprob, reg:squarederror");
  }

  @Test
  void badMetricListsAllowedValues() {
    String message = errorOf(MINIMAL.replace("metric: auc", "metric: precision"));

    assertThat(message)
        .contains(
            "evaluation.metric 'precision' must be one of "
                + "accuracy, auc, f1, log_loss, mae, r2, rmse");
  }

  @Test
  void badSplitMethodListsAllowedValues() {
    String message = errorOf(MINIMAL + "split:\n  method: stratified\n");

    assertThat(message).contains("split.method 'stratified' must be random or time");
  }

  @Test
  void badDerivedFunctionListsAllowedValues() {
    String yaml =
        MINIMAL.replace(
            "  numeric: [x]", "  derived:\n    - {name: m, from: t, function: minute_of_hour}");

    assertThat(errorOf(yaml))
        .contains(
            "features.derived[0].function 'minute_of_hour' must be one of "
                + "day_of_week, hour_of_day");
  }

  @Test
  void everyProblemReportedAtOnce() {
    String yaml =
        MINIMAL
            .replace("metric: auc", "metric: precision")
            .replace("binary:logistic", "binary:hinge")
            .replace("model: m", "model: M");

    String message = errorOf(yaml);

    assertThat(message).contains("evaluation.metric 'precision'");
    assertThat(message).contains("trainer.objective 'binary:hinge'");
    assertThat(message).contains("deployment.model 'M'");
  }

  @Test
  void duplicateKeyRejected() {
    String message = errorOf(MINIMAL + "name: q\n");

    assertThat(message).startsWith("p.yaml:14:");
    assertThat(message).contains("Duplicate field 'name'");
  }

  @Test
  void ruleMinAboveMaxRejected() {
    String yaml = MINIMAL + "validation:\n  rules:\n    - {column: x, min: 10, max: 1}\n";

    assertThat(errorOf(yaml)).contains("validation.rules[0]: min 10.0 is greater than max 1.0");
  }

  @Test
  void driftErrorBelowWarningRejected() {
    String yaml = MINIMAL + "validation:\n  drift:\n    warning: 0.2\n    error: 0.1\n";

    assertThat(errorOf(yaml))
        .contains("validation.drift.error 0.1 must be at least validation.drift.warning 0.2");
  }

  @Test
  void emptyFileRejected() {
    assertThat(errorOf("")).isEqualTo("p.yaml: pipeline file is empty");
  }

  @Test
  void loadMissingFileNamesPath(@TempDir Path dir) {
    Path missing = dir.resolve("absent.yaml");

    assertThatThrownBy(() -> PipelineSpecs.load(missing))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(missing.toString())
        .hasMessageContaining("not found");
  }

  @Test
  void loadNamesFileInErrors(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("pipeline.yaml");
    Files.writeString(file, MINIMAL + "owner: me\n");

    assertThatThrownBy(() -> PipelineSpecs.load(file))
        .isInstanceOf(EvergreenException.class)
        .hasMessageStartingWith(file + ":14:1: unknown field 'owner'");
  }

  @Test
  void personalDataTagWrittenInLowercase() throws Exception {
    String json = ExamplePipeline.YAML.writeValueAsString(List.of(PersonalDataTag.SENSITIVE));

    assertThat(json).contains("- \"sensitive\"");
    assertThat(PersonalDataTag.parse(" Quasi_Identifier "))
        .isEqualTo(PersonalDataTag.QUASI_IDENTIFIER);
  }
}
