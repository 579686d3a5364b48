package dev.evergreen.api.pipeline;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.PersonalDataTag;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
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

  private static final Pattern MISSING_PROPERTY =
      Pattern.compile("Missing required creator property '([^']+)'");

  private static final Pattern JAVA_TYPE = Pattern.compile("`([a-zA-Z0-9_.$]+)(<[^`]*>)?`");

  private static final Pattern FRACTION_FOR_INTEGER =
      Pattern.compile("Cannot coerce Floating-point value \\(([^)]*)\\)");

  // YAML 1.1 spells NaN .nan, .NaN or .NAN and the infinities .inf, +.inf and -.inf in the same
  // three letter cases. Other mixes of case are matched too, which does no harm in an error.
  private static final Pattern NOT_FINITE =
      Pattern.compile("'([+-]?\\.(?:nan|inf))'", Pattern.CASE_INSENSITIVE);

  /**
   * Ranges of the integer fields, by dotted path without list indices, for the error on a fraction.
   * Each repeats the bound that {@link #check} applies to that field.
   */
  private static final Map<String, IntegerRange> INTEGER_RANGES =
      Map.ofEntries(
          Map.entry("source.stableSeconds", IntegerRange.atLeast(0)),
          Map.entry("trainer.rounds", IntegerRange.atLeast(1)),
          Map.entry("trainer.threads", IntegerRange.atLeast(1)),
          Map.entry("validation.drift.smallSample", IntegerRange.atLeast(0)),
          Map.entry("validation.history.minBatches", IntegerRange.atLeast(2)),
          Map.entry("validation.rules.minLength", IntegerRange.atLeast(0)),
          Map.entry("deployment.checkRows", IntegerRange.atLeast(1)),
          Map.entry("deployment.canary.rollback.windowSeconds", RollbackSpec.WINDOW_SECONDS),
          Map.entry("deployment.canary.rollback.minRequests", RollbackSpec.MIN_REQUESTS),
          Map.entry("deployment.batching.maxBatchSize", BatchingSpec.MAX_BATCH_SIZE),
          Map.entry("deployment.batching.maxQueue", BatchingSpec.MAX_QUEUE));

  // A key given twice in one mapping is an error, not a silent "last one wins".
  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory())
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private PipelineSpecs() {}

  /** Reads a pipeline file and checks it; errors name the file, line and field. */
  public static PipelineSpec load(Path file) {
    return parse(readFile(file), file.toString());
  }

  /**
   * Returns the bytes of a pipeline file, for callers that keep what they parsed with {@link
   * #parse}.
   *
   * @throws EvergreenException INVALID_INPUT naming the file when it is missing or unreadable
   */
  public static byte[] readFile(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw EvergreenException.invalid(
          "pipeline file " + file + " not found; pass the path of a pipeline YAML file");
    } catch (IOException e) {
      throw EvergreenException.invalid("cannot read pipeline file " + file + ": " + e.getMessage());
    }
  }

  /** Parses pipeline YAML; {@code origin} names the source in error messages. */
  public static PipelineSpec parse(byte[] yaml, String origin) {
    PipelineSpec spec = read(yaml, origin, PipelineSpec.class, "pipeline", "docs/pipeline.md");
    List<String> problems = check(spec);
    if (!problems.isEmpty()) {
      throw EvergreenException.invalid(
          origin + ": invalid pipeline: " + String.join("; ", problems));
    }
    return spec;
  }

  /**
   * Reads a constraints file: the {@code data} and {@code validation} sections of a pipeline, and
   * optional {@code csv} reading options. Errors name the file, line and field.
   */
  public static ConstraintsSpec loadConstraints(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw EvergreenException.invalid(
          "constraints file " + file + " not found; pass the path of a constraints YAML file");
    } catch (IOException e) {
      throw EvergreenException.invalid(
          "cannot read constraints file " + file + ": " + e.getMessage());
    }
    return parseConstraints(bytes, file.toString());
  }

  /** Parses constraints YAML; {@code origin} names the source in error messages. */
  public static ConstraintsSpec parseConstraints(byte[] yaml, String origin) {
    ConstraintsSpec spec =
        read(yaml, origin, ConstraintsSpec.class, "constraints", "docs/validation.md");
    List<String> problems = new ArrayList<>();
    checkValidation(spec.validation(), problems);
    checkCsv(spec.csv(), "csv", problems);
    if (!problems.isEmpty()) {
      throw EvergreenException.invalid(
          origin + ": invalid constraints: " + String.join("; ", problems));
    }
    return spec;
  }

  /** Maps YAML to {@code type}; errors use {@code kind} and {@code doc} to name format and docs. */
  private static <T> T read(byte[] yaml, String origin, Class<T> type, String kind, String doc) {
    T spec;
    try {
      spec = YAML.readValue(yaml, type);
    } catch (UnrecognizedPropertyException e) {
      throw EvergreenException.invalid(
          origin
              + location(locate(yaml, e))
              + ": unknown field '"
              + path(e)
              + "'; the fields allowed here are "
              + e.getKnownPropertyIds().stream()
                  .map(Object::toString)
                  .sorted()
                  .collect(Collectors.joining(", "))
              + ". See "
              + doc
              + " for the "
              + kind
              + " format.");
    } catch (JsonMappingException e) {
      if (isEmptyInput(e)) {
        throw EvergreenException.invalid(origin + ": pipeline file is empty");
      }
      throw EvergreenException.invalid(
          origin
              + location(locate(yaml, e))
              + ": "
              + describe(e)
              + ". See "
              + doc
              + " for the "
              + kind
              + " format.");
    } catch (JacksonException e) {
      throw EvergreenException.invalid(
          origin
              + location(e.getLocation())
              + ": invalid "
              + kind
              + " YAML: "
              + e.getOriginalMessage());
    } catch (IOException e) {
      throw EvergreenException.invalid(
          "cannot read " + kind + " " + origin + ": " + e.getMessage());
    }
    if (spec == null) {
      throw EvergreenException.invalid(origin + ": pipeline file is empty");
    }
    return spec;
  }

  private static boolean isEmptyInput(JsonMappingException e) {
    return e instanceof MismatchedInputException
        && e.getPath().isEmpty()
        && e.getOriginalMessage().startsWith("No content to map");
  }

  /**
   * Returns where the field named by the exception's path starts in the YAML, found by reading the
   * YAML again, or the exception's own location when the field is absent. Jackson reports an
   * unknown field of a record at the end of the enclosing mapping, because it buffers the fields of
   * a record until the record is built.
   */
  private static JsonLocation locate(byte[] yaml, JsonMappingException e) {
    try (JsonParser parser = YAML.createParser(yaml)) {
      JsonLocation found = parser.nextToken() == null ? null : parser.currentTokenLocation();
      for (JsonMappingException.Reference step : e.getPath()) {
        if (step.getFieldName() != null) {
          found = findField(parser, step.getFieldName());
        } else if (step.getIndex() >= 0) {
          found = findItem(parser, step.getIndex());
        } else {
          found = null;
        }
        if (found == null) {
          return e.getLocation();
        }
      }
      return found;
    } catch (IOException notYaml) {
      return e.getLocation();
    }
  }

  /** Moves from the start of a mapping to the value of {@code name}; returns the key's location. */
  private static JsonLocation findField(JsonParser parser, String name) throws IOException {
    if (parser.currentToken() != JsonToken.START_OBJECT) {
      return null;
    }
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      JsonLocation key = parser.currentTokenLocation();
      boolean match = parser.currentName().equals(name);
      parser.nextToken();
      if (match) {
        return key;
      }
      parser.skipChildren();
    }
    return null;
  }

  /** Moves from the start of a list to its item {@code index}; returns the item's location. */
  private static JsonLocation findItem(JsonParser parser, int index) throws IOException {
    if (parser.currentToken() != JsonToken.START_ARRAY) {
      return null;
    }
    for (int i = 0; i <= index; i++) {
      if (parser.nextToken() == JsonToken.END_ARRAY) {
        return null;
      }
      if (i < index) {
        parser.skipChildren();
      }
    }
    return parser.currentTokenLocation();
  }

  private static String location(JsonLocation location) {
    if (location == null || location.getLineNr() < 1) {
      return "";
    }
    return ":" + location.getLineNr() + ":" + location.getColumnNr();
  }

  /** Describes a mapping error by the dotted path of the field and the problem, in YAML terms. */
  private static String describe(JsonMappingException e) {
    String path = path(e);
    String prefix = path.isEmpty() ? "" : path + ".";
    String message = e.getOriginalMessage();
    String numeric = describeNumber(path, message);
    if (numeric != null) {
      return numeric;
    }
    Matcher missing = MISSING_PROPERTY.matcher(message);
    if (missing.find()) {
      // Jackson ends the path with the missing field itself.
      String name = missing.group(1);
      boolean named = path.equals(name) || path.endsWith("." + name);
      return "missing required field '" + (named ? path : prefix + name) + "'";
    }
    if (e instanceof ValueInstantiationException && e.getCause() instanceof NullPointerException) {
      // A record names the null field in the exception; List.copyOf and Map.copyOf, which
      // reject null entries, give no message.
      String field = e.getCause().getMessage();
      if (field != null && field.matches("\\w+")) {
        return "field '" + prefix + field + "' must not be null";
      }
      return "field '" + path + "' contains an empty (null) entry; remove it or give it a value";
    }
    if (e instanceof ValueInstantiationException instantiation && e.getCause() != null) {
      message = e.getCause().getMessage();
      Class<?> type = instantiation.getType().getRawClass();
      if (type.isEnum() && message.startsWith("No enum constant ")) {
        // Enum.valueOf names the constant it looked for, after the last dot.
        String value = message.substring(message.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
        message = "unknown value '" + value + "'; use one of " + lowercaseConstants(type);
      }
    }
    message = message.replaceAll("\\(class [^)]*\\)", "").replaceAll("\\s+", " ").trim();
    message = JAVA_TYPE.matcher(message).replaceAll(m -> yamlType(m.group(1)));
    return (path.isEmpty() ? "" : "field '" + path + "': ") + message;
  }

  /**
   * Describes a fraction given for an integer field, with the field's range where it has one, and a
   * value that is not finite, such as {@code .nan}. Returns null for other errors.
   */
  private static String describeNumber(String path, String message) {
    Matcher fraction = FRACTION_FOR_INTEGER.matcher(message);
    if (fraction.find()) {
      IntegerRange range = INTEGER_RANGES.get(path.replaceAll("\\[\\d+]", ""));
      return "field '"
          + path
          + "': "
          + fraction.group(1)
          + " is not an integer; give an integer"
          + (range == null ? "" : rangeText(range));
    }
    Matcher notFinite = NOT_FINITE.matcher(message);
    if (notFinite.find()) {
      return "field '"
          + path
          + "': "
          + notFinite.group(1)
          + " is not a finite number; give a finite number";
    }
    return null;
  }

  /** Returns " between 1 and 3600", or " of at least 1" for a range without an upper bound. */
  private static String rangeText(IntegerRange range) {
    return (range.max() == Integer.MAX_VALUE ? " of " : " ") + range.describe();
  }

  private static String lowercaseConstants(Class<?> enumType) {
    return Arrays.stream(enumType.getEnumConstants())
        .map(constant -> ((Enum<?>) constant).name().toLowerCase(Locale.ROOT))
        .collect(Collectors.joining(", "));
  }

  /** Names a Java type with the word a YAML author uses for it. */
  private static String yamlType(String javaType) {
    String simple = javaType.substring(javaType.lastIndexOf('.') + 1);
    return switch (simple) {
      case "Integer", "int", "Long", "long" -> "integer";
      case "Double", "double", "Float", "float" -> "number";
      case "Boolean", "boolean" -> "boolean";
      case "String" -> "string";
      case "List", "ArrayList" -> "list";
      case "Map", "LinkedHashMap", "HashMap" -> "mapping";
      default -> simple.endsWith("Spec") || simple.equals("DerivedFeature") ? "mapping" : simple;
    };
  }

  private static String path(JsonMappingException e) {
    return e.getPath().stream()
        .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
        .collect(Collectors.joining("."))
        .replace(".[", "[");
  }

  /** Returns every semantic problem of a parsed spec, each naming its field. */
  static List<String> check(PipelineSpec spec) {
    List<String> problems = new ArrayList<>();
    // "label:" with nothing after it passes Jackson's required check as an explicit null.
    Map<String, Object> sections = new LinkedHashMap<>();
    sections.put("source", spec.source());
    sections.put("label", spec.label());
    sections.put("features", spec.features());
    sections.put("trainer", spec.trainer());
    sections.put("evaluation", spec.evaluation());
    sections.put("deployment", spec.deployment());
    sections.forEach(
        (section, value) -> {
          if (value == null) {
            problems.add(section + " is empty; set its fields as described in docs/pipeline.md");
          }
        });
    if (!problems.isEmpty()) {
      return problems;
    }

    if (!NAME.matcher(spec.name()).matches()) {
      problems.add(
          "name '" + spec.name() + "' must be 1 to 64 lowercase letters, digits, '-' or '_'");
    }
    checkSource(spec.source(), problems);
    for (Map.Entry<String, String> column : spec.data().columns().entrySet()) {
      if (column.getValue() == null) {
        problems.add(
            "data.columns."
                + column.getKey()
                + " has no type; use one of boolean, integer, double, string, date, timestamp");
        continue;
      }
      try {
        ColumnType.parse(column.getValue());
      } catch (IllegalArgumentException e) {
        problems.add("data.columns." + column.getKey() + ": " + e.getMessage());
      }
    }
    if (spec.label().column() == null) {
      problems.add("label.column is missing; name the column the model predicts");
    }
    checkFeatures(spec, problems);
    checkTrainer(spec.trainer(), problems);
    checkSplit(spec.split(), problems);
    checkValidation(spec.validation(), problems);
    checkEvaluation(spec.evaluation(), problems);
    checkDeployment(spec.deployment(), problems);
    return problems;
  }

  private static void checkCsv(CsvSpec csv, String field, List<String> problems) {
    if (csv.delimiter().length() != 1) {
      problems.add(field + ".delimiter '" + csv.delimiter() + "' must be one character");
    }
    if (!Set.of("utf-8", "latin-1").contains(csv.encoding().toLowerCase(Locale.ROOT))) {
      problems.add(field + ".encoding '" + csv.encoding() + "' must be utf-8 or latin-1");
    }
  }

  private static void checkSource(SourceSpec source, List<String> problems) {
    if ((source.landing() == null) == (source.file() == null)) {
      problems.add("source must set exactly one of 'landing' (a folder) or 'file'");
    }
    if (source.format() != null && !Set.of("csv", "parquet").contains(source.format())) {
      problems.add("source.format '" + source.format() + "' must be csv or parquet");
    }
    checkCsv(source.csv(), "source.csv", problems);
    if (source.stableSeconds() < 0) {
      problems.add("source.stableSeconds " + source.stableSeconds() + " must be 0 or more");
    }
  }

  private static void checkSplit(SplitSpec split, List<String> problems) {
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
  }

  private static void checkEvaluation(EvaluationSpec evaluation, List<String> problems) {
    if (evaluation.metric() == null) {
      problems.add("evaluation.metric is missing; use one of " + sorted(METRICS));
    } else if (!METRICS.contains(evaluation.metric())) {
      problems.add(
          "evaluation.metric '" + evaluation.metric() + "' must be one of " + sorted(METRICS));
    }
    for (String floor : evaluation.floors().keySet()) {
      if (!METRICS.contains(floor)) {
        problems.add(
            "evaluation.floors." + floor + " is not a metric; use one of " + sorted(METRICS));
      }
    }
  }

  private static void checkDeployment(DeploymentSpec deployment, List<String> problems) {
    if (deployment.model() == null) {
      problems.add(
          "deployment.model is missing; name the registered model that serves this pipeline");
    } else if (!NAME.matcher(deployment.model()).matches()) {
      problems.add(
          "deployment.model '"
              + deployment.model()
              + "' must be 1 to 64 lowercase letters, digits, '-' or '_'");
    }
    if (!List.of(DeploymentSpec.BLUE_GREEN, DeploymentSpec.CANARY, DeploymentSpec.SHADOW)
        .contains(deployment.strategy())) {
      problems.add(
          "deployment.strategy '"
              + deployment.strategy()
              + "' must be blue-green, canary or shadow");
    }
    checkUnusedSection(deployment, problems);
    CanarySpec canary = deployment.canary();
    if (!(canary.percent() >= CanarySpec.PERCENT_STEP
        && canary.percent() <= 100 - CanarySpec.PERCENT_STEP)) {
      problems.add(
          "deployment.canary.percent "
              + canary.percent()
              + " must be from 0.01 to 99.99, because traffic splits in steps of 0.01");
    }
    if (canary.keyHeader().isBlank()) {
      problems.add("deployment.canary.keyHeader must not be blank");
    } else if (!CanarySpec.isHeaderName(canary.keyHeader())) {
      problems.add(
          CanarySpec.invalidHeaderMessage("deployment.canary.keyHeader", canary.keyHeader()));
    }
    RollbackSpec rollback = canary.rollback();
    if (!(rollback.maxErrorRate() >= 0 && rollback.maxErrorRate() <= 1)) {
      problems.add(
          "deployment.canary.rollback.maxErrorRate "
              + rollback.maxErrorRate()
              + " must be between 0 and 1");
    }
    if (rollback.maxP99Millis() != null && !(rollback.maxP99Millis() > 0)) {
      problems.add(
          "deployment.canary.rollback.maxP99Millis "
              + rollback.maxP99Millis()
              + " must be above 0");
    }
    checkInteger(
        rollback.windowSeconds(),
        RollbackSpec.WINDOW_SECONDS,
        "deployment.canary.rollback.windowSeconds",
        problems);
    checkInteger(
        rollback.minRequests(),
        RollbackSpec.MIN_REQUESTS,
        "deployment.canary.rollback.minRequests",
        problems);
    ShadowSpec shadow = deployment.shadow();
    if (!(shadow.percent() >= CanarySpec.PERCENT_STEP && shadow.percent() <= 100)) {
      problems.add(
          "deployment.shadow.percent "
              + shadow.percent()
              + " must be from 0.01 to 100, because traffic splits in steps of 0.01");
    }
    if (!(shadow.tolerance() >= 0)) {
      problems.add("deployment.shadow.tolerance " + shadow.tolerance() + " must be 0 or more");
    }
    BatchingSpec batching = deployment.batching();
    if (batching != null) {
      checkInteger(
          batching.maxBatchSize(),
          BatchingSpec.MAX_BATCH_SIZE,
          "deployment.batching.maxBatchSize",
          problems);
      if (!(batching.maxDelayMillis() >= 0 && batching.maxDelayMillis() <= 1_000)) {
        problems.add(
            "deployment.batching.maxDelayMillis "
                + batching.maxDelayMillis()
                + " must be between 0 and 1000");
      }
      checkInteger(
          batching.maxQueue(), BatchingSpec.MAX_QUEUE, "deployment.batching.maxQueue", problems);
    }
    if (deployment.checkRows() < 1) {
      problems.add("deployment.checkRows " + deployment.checkRows() + " must be at least 1");
    }
    if (deployment.checkTolerance() < 0) {
      problems.add(
          "deployment.checkTolerance " + deployment.checkTolerance() + " must be 0 or more");
    }
  }

  private static void checkInteger(
      int value, IntegerRange range, String field, List<String> problems) {
    if (!range.contains(value)) {
      problems.add(field + " " + value + " must be " + range.describe());
    }
  }

  /**
   * Rejects a canary or shadow section that the strategy would ignore, as other fields that do not
   * apply are rejected. The records put the shared default instance in place of a missing section,
   * so any other instance was written in the file.
   */
  private static void checkUnusedSection(DeploymentSpec deployment, List<String> problems) {
    String strategy = deployment.strategy();
    if (deployment.canary() != CanarySpec.DEFAULT && !strategy.equals(DeploymentSpec.CANARY)) {
      problems.add(
          "deployment.canary is set but deployment.strategy is "
              + strategy
              + ", which ignores it; set strategy: canary or remove the canary section");
    }
    if (deployment.shadow() != ShadowSpec.DEFAULT && !strategy.equals(DeploymentSpec.SHADOW)) {
      problems.add(
          "deployment.shadow is set but deployment.strategy is "
              + strategy
              + ", which ignores it; set strategy: shadow or remove the shadow section");
    }
  }

  private static void checkValidation(ValidationSpec validation, List<String> problems) {
    List<RuleSpec> rules = validation.rules();
    for (int i = 0; i < rules.size(); i++) {
      checkRule(rules.get(i), "validation.rules[" + i + "]", problems);
    }
    DriftSpec drift = validation.drift();
    if (!(drift.warning() > 0)) {
      problems.add("validation.drift.warning " + drift.warning() + " must be greater than 0");
    }
    if (drift.error() != null && !(drift.error() >= drift.warning())) {
      problems.add(
          "validation.drift.error "
              + drift.error()
              + " must be at least validation.drift.warning "
              + drift.warning());
    }
    checkThresholds(
        new DriftThresholds(
            drift.ksPValue(),
            drift.chiSquaredPValue(),
            drift.wasserstein(),
            drift.jensenShannon(),
            drift.lInfinity()),
        "validation.drift",
        problems);
    drift
        .features()
        .forEach(
            (feature, thresholds) -> {
              String field = "validation.drift.features." + feature;
              if (thresholds == null) {
                problems.add(field + " is empty; set at least one threshold or remove it");
              } else {
                checkThresholds(thresholds, field, problems);
              }
            });
    if (drift.smallSample() < 0) {
      problems.add("validation.drift.smallSample " + drift.smallSample() + " must not be negative");
    }
    checkShare(drift.driftShare(), "validation.drift.driftShare", problems);
    RuleChecks.checkEnvironments(validation, problems);
  }

  private static void checkRule(RuleSpec rule, String field, List<String> problems) {
    RuleChecks.checkKind(rule, field, problems);
    RuleChecks.checkBatchAndColumnFields(rule, field, problems);
    if (rule.min() != null && rule.max() != null && rule.min() > rule.max()) {
      problems.add(
          field + ": min " + rule.min() + " is greater than max " + rule.max() + "; swap them");
    }
    if (rule.minLength() != null && rule.minLength() < 0) {
      problems.add(field + ".minLength " + rule.minLength() + " must not be negative");
    }
    if (rule.minLength() != null
        && rule.maxLength() != null
        && rule.minLength() > rule.maxLength()) {
      problems.add(
          field
              + ": minLength "
              + rule.minLength()
              + " is greater than maxLength "
              + rule.maxLength()
              + "; swap them");
    }
    if (rule.pattern() != null && rule.pattern().isEmpty()) {
      problems.add(field + ".pattern is empty; give a regular expression or remove the field");
    }
    checkRange(rule.meanBetween(), field + ".meanBetween", problems);
    checkRange(rule.stddevBetween(), field + ".stddevBetween", problems);
    checkShare(rule.completeness(), field + ".completeness", problems);
    checkShare(rule.minInDomain(), field + ".minInDomain", problems);
    checkShare(rule.tolerance(), field + ".tolerance", problems);
    if (rule.minInDomain() != null && rule.allowedValues() == null) {
      problems.add(field + ".minInDomain needs allowedValues; add the list of allowed values");
    }
  }

  /** Adds a problem unless {@code range} is null or two numbers {@code [lo, hi]} with lo <= hi. */
  private static void checkRange(List<Double> range, String field, List<String> problems) {
    if (range == null) {
      return;
    }
    if (range.size() != 2) {
      problems.add(field + " " + range + " must be two numbers [lo, hi]");
    } else if (!(range.get(0) <= range.get(1))) {
      problems.add(
          field + " " + range + ": lo " + range.get(0) + " is greater than hi " + range.get(1));
    }
  }

  /** Adds a problem unless {@code share} is null or lies in [0, 1]. */
  private static void checkShare(Double share, String field, List<String> problems) {
    if (share != null && !(share >= 0 && share <= 1)) {
      problems.add(field + " " + share + " must be between 0 and 1");
    }
  }

  private static void checkThresholds(
      DriftThresholds thresholds, String field, List<String> problems) {
    checkShare(thresholds.ksPValue(), field + ".ksPValue", problems);
    checkShare(thresholds.chiSquaredPValue(), field + ".chiSquaredPValue", problems);
    Map<String, Double> distances = new LinkedHashMap<>();
    distances.put("wasserstein", thresholds.wasserstein());
    distances.put("jensenShannon", thresholds.jensenShannon());
    distances.put("lInfinity", thresholds.lInfinity());
    distances.forEach(
        (name, value) -> {
          if (value != null && !(value > 0)) {
            problems.add(field + "." + name + " " + value + " must be greater than 0");
          }
        });
  }

  private static void checkFeatures(PipelineSpec spec, List<String> problems) {
    FeaturesSpec features = spec.features();
    Set<String> names = new HashSet<>();
    List<String> all = new ArrayList<>(features.numeric());
    all.addAll(features.categorical());
    features.derived().forEach(d -> all.add(d.name()));
    for (String name : all) {
      if (name != null && !names.add(name)) {
        problems.add("features: '" + name + "' is listed twice");
      }
    }
    if (all.isEmpty()) {
      problems.add("features: at least one numeric, categorical or derived feature is required");
    }
    if (spec.label().column() != null && names.contains(spec.label().column())) {
      problems.add(
          "features: the label column '" + spec.label().column() + "' cannot be a feature");
    }
    for (int i = 0; i < features.derived().size(); i++) {
      DerivedFeature derived = features.derived().get(i);
      String field = "features.derived[" + i + "]";
      if (derived.name() == null) {
        problems.add(field + ".name is missing; name the computed feature");
      }
      if (derived.from() == null) {
        problems.add(field + ".from is missing; name a timestamp or date column");
      }
      if (derived.function() == null) {
        problems.add(field + ".function is missing; use one of " + sorted(DERIVED_FUNCTIONS));
      } else if (!DERIVED_FUNCTIONS.contains(derived.function())) {
        problems.add(
            field
                + ".function '"
                + derived.function()
                + "' must be one of "
                + sorted(DERIVED_FUNCTIONS));
      }
    }
    Map<String, PersonalDataTag> tags = spec.data().personalData();
    Set<String> sourceColumns = new TreeSet<>(features.numeric());
    sourceColumns.addAll(features.categorical());
    features.derived().stream()
        .map(DerivedFeature::from)
        .filter(Objects::nonNull)
        .forEach(sourceColumns::add);
    for (String column : sourceColumns) {
      if (tags.containsKey(column) && !features.allowPersonalData().contains(column)) {
        problems.add(
            "features: column '"
                + column
                + "' is tagged "
                + tags.get(column).text()
                + " and cannot be a feature unless listed in features.allowPersonalData");
      }
    }
  }

  private static void checkTrainer(TrainerSpec trainer, List<String> problems) {
    if (!trainer.engine().equals("xgboost")) {
      problems.add("trainer.engine '" + trainer.engine() + "' must be xgboost");
    }
    if (trainer.objective() == null) {
      problems.add("trainer.objective is missing; use one of " + sorted(OBJECTIVES));
    } else if (!OBJECTIVES.contains(trainer.objective())) {
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
