package dev.evergreen.api.pipeline;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.PersonalDataTag;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** Reads and checks pipeline files. */
public final class PipelineSpecs {
  /** Objectives the trainer supports. */
  public static final Set<String> OBJECTIVES =
      Set.of("binary:logistic", "multi:softprob", "reg:squarederror");

  /** Metrics the gate can compare. */
  public static final Set<String> METRICS =
      Set.of("auc", "log_loss", "accuracy", "f1", "rmse", "mae", "r2");

  /** Functions a derived feature can apply. */
  public static final Set<String> DERIVED_FUNCTIONS = Set.of("hour_of_day", "day_of_week");

  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");

  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory())
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES)
          .disable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES);

  private PipelineSpecs() {}

  /** Reads a pipeline file and checks it; errors name the file, line and field. */
  public static PipelineSpec load(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw EvergreenException.invalid(
          "pipeline file " + file + " not found; pass the path of a pipeline YAML file");
    } catch (IOException e) {
      throw EvergreenException.invalid("cannot read pipeline file " + file + ": " + e.getMessage());
    }
    return parse(bytes, file.toString());
  }

  /** Parses pipeline YAML; {@code origin} names the source in error messages. */
  public static PipelineSpec parse(byte[] yaml, String origin) {
    PipelineSpec spec;
    try {
      spec = YAML.readValue(yaml, PipelineSpec.class);
    } catch (MismatchedInputException e) {
      throw EvergreenException.invalid(
          origin
              + location(e.getLocation())
              + ": field '"
              + path(e)
              + "': "
              + e.getOriginalMessage().replaceAll("\\(class [^)]*\\)", "")
              + ". See docs/pipeline.md for the pipeline format.");
    } catch (JacksonException e) {
      throw EvergreenException.invalid(
          origin
              + location(e.getLocation())
              + ": invalid pipeline YAML: "
              + e.getOriginalMessage());
    } catch (IOException e) {
      throw EvergreenException.invalid("cannot read pipeline " + origin + ": " + e.getMessage());
    }
    if (spec == null) {
      throw EvergreenException.invalid(origin + ": pipeline file is empty");
    }
    List<String> problems = check(spec);
    if (!problems.isEmpty()) {
      throw EvergreenException.invalid(
          origin + ": invalid pipeline: " + String.join("; ", problems));
    }
    return spec;
  }

  private static String location(JsonLocation location) {
    if (location == null || location.getLineNr() < 1) {
      return "";
    }
    return ":" + location.getLineNr() + ":" + location.getColumnNr();
  }

  private static String path(MismatchedInputException e) {
    return e.getPath().stream()
        .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
        .collect(Collectors.joining("."))
        .replace(".[", "[");
  }

  /** Returns every semantic problem of a parsed spec, each naming its field. */
  static List<String> check(PipelineSpec spec) {
    List<String> problems = new ArrayList<>();
    if (!NAME.matcher(spec.name()).matches()) {
      problems.add(
          "name '" + spec.name() + "' must be 1 to 64 lowercase letters, digits, '-' or '_'");
    }
    SourceSpec source = spec.source();
    if ((source.landing() == null) == (source.file() == null)) {
      problems.add("source must set exactly one of 'landing' (a folder) or 'file'");
    }
    if (source.format() != null && !Set.of("csv", "parquet").contains(source.format())) {
      problems.add("source.format '" + source.format() + "' must be csv or parquet");
    }
    if (source.csv().delimiter().length() != 1) {
      problems.add("source.csv.delimiter '" + source.csv().delimiter() + "' must be one character");
    }
    if (!Set.of("utf-8", "latin-1").contains(source.csv().encoding().toLowerCase())) {
      problems.add(
          "source.csv.encoding '" + source.csv().encoding() + "' must be utf-8 or latin-1");
    }
    for (Map.Entry<String, String> column : spec.data().columns().entrySet()) {
      try {
        ColumnType.parse(column.getValue());
      } catch (IllegalArgumentException e) {
        problems.add("data.columns." + column.getKey() + ": " + e.getMessage());
      }
    }
    checkFeatures(spec, problems);
    checkTrainer(spec.trainer(), problems);
    SplitSpec split = spec.split();
    if (!Set.of("random", "time").contains(split.method())) {
      problems.add("split.method '" + split.method() + "' must be random or time");
    }
    if (split.method().equals("time") && split.timeColumn() == null) {
      problems.add("split.timeColumn is required when split.method is time");
    }
    if (!(split.holdoutFraction() > 0 && split.holdoutFraction() < 1)) {
      problems.add(
          "split.holdoutFraction "
              + split.holdoutFraction()
              + " must be between 0 and 1 exclusive");
    }
    EvaluationSpec evaluation = spec.evaluation();
    if (evaluation.metric() == null || !METRICS.contains(evaluation.metric())) {
      problems.add(
          "evaluation.metric '" + evaluation.metric() + "' must be one of " + sorted(METRICS));
    }
    for (String floor : evaluation.floors().keySet()) {
      if (!METRICS.contains(floor)) {
        problems.add(
            "evaluation.floors." + floor + " is not a metric; use one of " + sorted(METRICS));
      }
    }
    DeploymentSpec deployment = spec.deployment();
    if (deployment.model() == null || !NAME.matcher(deployment.model()).matches()) {
      problems.add(
          "deployment.model '"
              + deployment.model()
              + "' must be 1 to 64 lowercase letters, digits, '-' or '_'");
    }
    if (!deployment.strategy().equals("blue-green")) {
      problems.add("deployment.strategy '" + deployment.strategy() + "' must be blue-green");
    }
    if (deployment.checkRows() < 1) {
      problems.add("deployment.checkRows must be at least 1");
    }
    for (RuleSpec rule : spec.validation().rules()) {
      if (rule.column() == null) {
        problems.add("validation.rules: every rule needs a 'column'");
      }
    }
    return problems;
  }

  private static void checkFeatures(PipelineSpec spec, List<String> problems) {
    FeaturesSpec features = spec.features();
    Set<String> names = new HashSet<>();
    List<String> all = new ArrayList<>(features.numeric());
    all.addAll(features.categorical());
    features.derived().forEach(d -> all.add(d.name()));
    for (String name : all) {
      if (!names.add(name)) {
        problems.add("features: '" + name + "' is listed twice");
      }
    }
    if (all.isEmpty()) {
      problems.add("features: at least one numeric, categorical or derived feature is required");
    }
    if (names.contains(spec.label().column())) {
      problems.add(
          "features: the label column '" + spec.label().column() + "' cannot be a feature");
    }
    for (DerivedFeature derived : features.derived()) {
      if (derived.name() == null || derived.from() == null) {
        problems.add("features.derived: every derived feature needs 'name' and 'from'");
      }
      if (!DERIVED_FUNCTIONS.contains(derived.function())) {
        problems.add(
            "features.derived."
                + derived.name()
                + ".function '"
                + derived.function()
                + "' must be one of "
                + sorted(DERIVED_FUNCTIONS));
      }
    }
    Map<String, PersonalDataTag> tags = spec.data().personalData();
    Set<String> sourceColumns = new HashSet<>(features.numeric());
    sourceColumns.addAll(features.categorical());
    features.derived().forEach(d -> sourceColumns.add(d.from()));
    for (String column : sourceColumns) {
      if (tags.containsKey(column) && !features.allowPersonalData().contains(column)) {
        problems.add(
            "features: column '"
                + column
                + "' is tagged "
                + tags.get(column).name().toLowerCase()
                + " and cannot be a feature unless listed in features.allowPersonalData");
      }
    }
  }

  private static void checkTrainer(TrainerSpec trainer, List<String> problems) {
    if (!trainer.engine().equals("xgboost")) {
      problems.add("trainer.engine '" + trainer.engine() + "' must be xgboost");
    }
    if (trainer.objective() == null || !OBJECTIVES.contains(trainer.objective())) {
      problems.add(
          "trainer.objective '" + trainer.objective() + "' must be one of " + sorted(OBJECTIVES));
    }
    if (trainer.rounds() < 1) {
      problems.add("trainer.rounds " + trainer.rounds() + " must be at least 1");
    }
    if (trainer.threads() < 1) {
      problems.add("trainer.threads " + trainer.threads() + " must be at least 1");
    }
    for (String reserved : List.of("seed", "nthread", "objective")) {
      if (trainer.params().containsKey(reserved)) {
        problems.add(
            "trainer.params."
                + reserved
                + " is set by trainer."
                + (reserved.equals("nthread") ? "threads" : reserved)
                + "; remove it from params");
      }
    }
  }

  private static String sorted(Set<String> values) {
    return values.stream().sorted().collect(Collectors.joining(", "));
  }
}
