package dev.evergreen.api.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.PersonalDataTag;
import dev.evergreen.api.validation.Severity;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Keeps the JSON Schema of pipeline files in step with the spec records and with what {@link
 * PipelineSpecs#parse} accepts.
 */
class PipelineSchemaTest {
  private static final String RESOURCE = "/dev/evergreen/api/pipeline.schema.json";

  private static JsonNode schema() throws IOException {
    try (InputStream in = PipelineSpec.class.getResourceAsStream(RESOURCE)) {
      assertThat(in).as("resource %s", RESOURCE).isNotNull();
      return new ObjectMapper().readTree(in);
    }
  }

  /** Returns the schema of a dotted path, where {@code []} steps into list items. */
  private static JsonNode at(JsonNode schema, String path) {
    JsonNode node = schema;
    for (String step : path.split("\\.")) {
      node = step.equals("[]") ? node.path("items") : node.path("properties").path(step);
    }
    return node;
  }

  private static Set<String> texts(JsonNode array) {
    Set<String> values = new TreeSet<>();
    array.forEach(value -> values.add(value.asText()));
    return values;
  }

  private static Set<String> lowercaseConstants(Class<? extends Enum<?>> type) {
    return Arrays.stream(type.getEnumConstants())
        .map(constant -> constant.name().toLowerCase(Locale.ROOT))
        .collect(Collectors.toCollection(TreeSet::new));
  }

  @Test
  void schemaPropertiesMatchRecordComponents() throws IOException {
    List<String> problems = new ArrayList<>();
    compare(PipelineSpec.class, schema(), "", problems);
    assertThat(problems).isEmpty();
  }

  /** Compares one record with the object schema at {@code path}, recursing into nested specs. */
  private static void compare(Class<?> record, JsonNode node, String path, List<String> problems) {
    String where = path.isEmpty() ? "root" : path;
    if (!node.path("additionalProperties").isBoolean()
        || node.path("additionalProperties").booleanValue()) {
      problems.add(where + ": additionalProperties must be false");
    }
    JsonNode properties = node.path("properties");
    Set<String> components = new HashSet<>();
    for (RecordComponent component : record.getRecordComponents()) {
      String name = component.getName();
      String child = path.isEmpty() ? name : path + "." + name;
      components.add(name);
      if (!properties.has(name)) {
        problems.add(child + ": component of " + record.getSimpleName() + " missing in schema");
        continue;
      }
      JsonNode property = properties.get(name);
      String expectedType = jsonType(component.getType());
      if (!property.path("type").asText().equals(expectedType)) {
        problems.add(child + ": type " + property.path("type") + ", expected " + expectedType);
      }
      compareElements(component.getGenericType(), property, child, problems);
      if (isRequired(record, name) && !texts(node.path("required")).contains(name)) {
        problems.add(child + ": required in " + record.getSimpleName() + " but not in schema");
      }
    }
    for (String name : (Iterable<String>) properties::fieldNames) {
      if (!components.contains(name)) {
        problems.add(where + "." + name + ": in schema but not a component of " + record);
      }
    }
  }

  private static void compareElements(
      Type type, JsonNode property, String path, List<String> problems) {
    Class<?> raw = raw(type);
    if (raw.isRecord()) {
      compare(raw, property, path, problems);
    } else if (raw.isEnum()) {
      compareEnum(raw, property.path("enum"), path, problems);
    } else if (raw == List.class) {
      Type element = ((ParameterizedType) type).getActualTypeArguments()[0];
      JsonNode items = property.path("items");
      if (raw(element).isRecord()) {
        compare(raw(element), items, path + ".[]", problems);
      } else if (!items.path("type").asText().equals(jsonType(raw(element)))) {
        problems.add(path + ": items have type " + items.path("type"));
      }
    } else if (raw == Map.class) {
      Type value = ((ParameterizedType) type).getActualTypeArguments()[1];
      if (raw(value).isEnum()) {
        compareEnum(raw(value), property.path("additionalProperties").path("enum"), path, problems);
      }
    }
  }

  private static void compareEnum(
      Class<?> type, JsonNode values, String path, List<String> problems) {
    @SuppressWarnings("unchecked")
    Set<String> expected = lowercaseConstants((Class<? extends Enum<?>>) type);
    if (!texts(values).equals(expected)) {
      problems.add(path + ": enum " + values + ", expected " + expected);
    }
  }

  private static Class<?> raw(Type type) {
    return type instanceof ParameterizedType parameterized
        ? (Class<?>) parameterized.getRawType()
        : (Class<?>) type;
  }

  private static String jsonType(Class<?> type) {
    if (type == String.class || type.isEnum()) {
      return "string";
    }
    if (type == Integer.class || type == Long.class) {
      return "integer";
    }
    if (type == Double.class) {
      return "number";
    }
    if (type == Boolean.class) {
      return "boolean";
    }
    if (type == List.class) {
      return "array";
    }
    if (type == Map.class || type.isRecord()) {
      return "object";
    }
    throw new IllegalArgumentException("no JSON type for " + type);
  }

  private static boolean isRequired(Class<?> record, String component) {
    try {
      JsonProperty property = record.getDeclaredField(component).getAnnotation(JsonProperty.class);
      return property != null && property.required();
    } catch (NoSuchFieldException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void schemaRequiresRequiredComponents() throws IOException {
    assertThat(texts(schema().path("required")))
        .containsAll(
            Arrays.stream(PipelineSpec.class.getRecordComponents())
                .map(RecordComponent::getName)
                .filter(name -> isRequired(PipelineSpec.class, name))
                .toList());
  }

  @Test
  void schemaEnumsEqualLoaderConstants() throws IOException {
    JsonNode schema = schema();
    assertThat(texts(at(schema, "trainer.objective").path("enum")))
        .isEqualTo(new TreeSet<>(PipelineSpecs.OBJECTIVES));
    assertThat(texts(at(schema, "evaluation.metric").path("enum")))
        .isEqualTo(new TreeSet<>(PipelineSpecs.METRICS));
    assertThat(texts(at(schema, "evaluation.floors").path("propertyNames").path("enum")))
        .isEqualTo(new TreeSet<>(PipelineSpecs.METRICS));
    assertThat(texts(at(schema, "features.derived.[].function").path("enum")))
        .isEqualTo(new TreeSet<>(PipelineSpecs.DERIVED_FUNCTIONS));
    assertThat(texts(at(schema, "data.columns").path("additionalProperties").path("enum")))
        .isEqualTo(lowercaseConstants(ColumnType.class));
    assertThat(texts(at(schema, "data.personalData").path("additionalProperties").path("enum")))
        .isEqualTo(lowercaseConstants(PersonalDataTag.class));
    assertThat(texts(at(schema, "validation.rules.[].severity").path("enum")))
        .isEqualTo(lowercaseConstants(Severity.class));
  }

  @Test
  void everyPropertyHasTitleAndDescription() throws IOException {
    List<String> missing = new ArrayList<>();
    collectUndocumented(schema(), "", missing);
    assertThat(missing).isEmpty();
  }

  private static void collectUndocumented(JsonNode node, String path, List<String> missing) {
    for (Map.Entry<String, JsonNode> property : node.path("properties").properties()) {
      String child = path.isEmpty() ? property.getKey() : path + "." + property.getKey();
      JsonNode value = property.getValue();
      if (value.path("title").asText().isBlank() || value.path("description").asText().isBlank()) {
        missing.add(child);
      }
      collectUndocumented(value, child, missing);
      collectUndocumented(value.path("items"), child + ".[]", missing);
    }
  }

  @Test
  void schemaDefaultsEqualRecordDefaults() throws IOException {
    JsonNode schema = schema();
    ObjectMapper json = new ObjectMapper();
    // A spec record built from no fields has its defaults; compare them with "default".
    Map<String, Object> records = new LinkedHashMap<>();
    records.put("source.csv", CsvSpec.DEFAULT);
    records.put("source", new SourceSpec("in", null, null, null, null));
    records.put("split", SplitSpec.DEFAULT);
    records.put("trainer", new TrainerSpec(null, null, null, null, null, null));
    records.put("validation", ValidationSpec.DEFAULT);
    records.put("validation.drift", DriftSpec.DEFAULT);
    records.put("validation.rules.[]", new RuleSpec("c", null, null, null, null, null));
    records.put("evaluation", new EvaluationSpec(null, null, null));
    records.put("deployment", new DeploymentSpec(null, null, null, null));
    records.put("deployment.canary", CanarySpec.DEFAULT);
    records.put("deployment.canary.rollback", RollbackSpec.DEFAULT);
    records.put("deployment.shadow", ShadowSpec.DEFAULT);
    records.put("deployment.batching", new BatchingSpec(null, null, null));
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, Object> entry : records.entrySet()) {
      JsonNode values = json.valueToTree(entry.getValue());
      for (Map.Entry<String, JsonNode> property :
          at(schema, entry.getKey()).path("properties").properties()) {
        JsonNode declared = property.getValue().get("default");
        JsonNode actual = values.get(property.getKey());
        if (declared == null) {
          continue;
        }
        boolean same =
            declared.isNumber() && actual.isNumber()
                ? declared.doubleValue() == actual.doubleValue()
                : declared.equals(actual);
        if (!same) {
          problems.add(
              entry.getKey()
                  + "."
                  + property.getKey()
                  + ": schema "
                  + declared
                  + ", record "
                  + actual);
        }
      }
    }
    assertThat(problems).isEmpty();
  }

  @Test
  void namePatternAgreesWithLoader() throws IOException {
    Pattern pattern = Pattern.compile(at(schema(), "name").path("pattern").asText());
    for (String name :
        List.of("flights-delay", "a", "x_1", "Flights", "-a", "a b", "a".repeat(65))) {
      boolean loaderAccepts = accepts(ExamplePipeline.changed(ExamplePipeline.set("name", name)));
      assertThat(pattern.matcher(name).find())
          .as("schema on name '%s'", name)
          .isEqualTo(loaderAccepts);
    }
  }

  @Test
  void exampleConformsToSchema() throws IOException {
    assertThat(SchemaSubsetValidator.validate(schema(), ExamplePipeline.tree())).isEmpty();
  }

  /** Changes that both the schema and the loader must reject. */
  private static Map<String, Consumer<ObjectNode>> invalidChanges() {
    Map<String, Consumer<ObjectNode>> changes = new LinkedHashMap<>();
    changes.put("unknown top-level field", ExamplePipeline.set("owner", "me"));
    changes.put("unknown nested field", ExamplePipeline.set("trainer.learningRate", 0.1));
    changes.put("uppercase name", ExamplePipeline.set("name", "Flights"));
    changes.put("landing and file", ExamplePipeline.set("source.file", "b.csv"));
    changes.put("neither landing nor file", ExamplePipeline.remove("source.landing"));
    changes.put("format json", ExamplePipeline.set("source.format", "json"));
    changes.put("two-character delimiter", ExamplePipeline.set("source.csv.delimiter", ";;"));
    changes.put("encoding utf-16", ExamplePipeline.set("source.csv.encoding", "utf-16"));
    changes.put("negative stableSeconds", ExamplePipeline.set("source.stableSeconds", -1));
    changes.put("column type float", ExamplePipeline.set("data.columns.distance", "float"));
    changes.put("unknown tag", ExamplePipeline.set("data.personalData.origin", "secret"));
    changes.put("missing label column", ExamplePipeline.remove("label.column"));
    changes.put(
        "derived function minute", ExamplePipeline.set("features.derived[0].function", "minute"));
    changes.put("derived without from", ExamplePipeline.remove("features.derived[1].from"));
    changes.put("split method stratified", ExamplePipeline.set("split.method", "stratified"));
    changes.put("time split without column", ExamplePipeline.set("split.method", "time"));
    changes.put("holdoutFraction 1", ExamplePipeline.set("split.holdoutFraction", 1.0));
    changes.put("holdoutFraction 0", ExamplePipeline.set("split.holdoutFraction", 0));
    changes.put("engine lightgbm", ExamplePipeline.set("trainer.engine", "lightgbm"));
    changes.put("objective rank", ExamplePipeline.set("trainer.objective", "rank:pairwise"));
    changes.put("rounds 0", ExamplePipeline.set("trainer.rounds", 0));
    changes.put("threads 0", ExamplePipeline.set("trainer.threads", 0));
    changes.put("rounds as text", ExamplePipeline.set("trainer.rounds", "sixty"));
    changes.put("seed in params", ExamplePipeline.set("trainer.params.seed", 1));
    changes.put("nthread in params", ExamplePipeline.set("trainer.params.nthread", 4));
    changes.put("rule without column", ExamplePipeline.remove("validation.rules[0].column"));
    changes.put("severity fatal", ExamplePipeline.set("validation.rules[0].severity", "fatal"));
    changes.put("drift warning 0", ExamplePipeline.set("validation.drift.warning", 0));
    changes.put("tolerance above 1", ExamplePipeline.set("validation.rules[0].tolerance", 1.5));
    changes.put(
        "negative completeness", ExamplePipeline.set("validation.rules[0].completeness", -0.1));
    changes.put("negative minLength", ExamplePipeline.set("validation.rules[0].minLength", -1));
    changes.put("empty pattern", ExamplePipeline.set("validation.rules[0].pattern", ""));
    changes.put(
        "meanBetween one number",
        ExamplePipeline.set("validation.rules[0].meanBetween", List.of(1.0)));
    changes.put("driftShare 2", ExamplePipeline.set("validation.drift.driftShare", 2));
    changes.put("wasserstein 0", ExamplePipeline.set("validation.drift.wasserstein", 0));
    changes.put(
        "dataset severity fatal", ExamplePipeline.set("validation.drift.datasetSeverity", "fatal"));
    changes.put(
        "unknown per-feature threshold",
        ExamplePipeline.set("validation.drift.features.distance.psi", 0.2));
    changes.put("metric precision", ExamplePipeline.set("evaluation.metric", "precision"));
    changes.put("floor on precision", ExamplePipeline.set("evaluation.floors.precision", 0.5));
    changes.put("missing model", ExamplePipeline.remove("deployment.model"));
    changes.put("strategy rolling", ExamplePipeline.set("deployment.strategy", "rolling"));
    changes.put("checkRows 0", ExamplePipeline.set("deployment.checkRows", 0));
    changes.put("negative tolerance", ExamplePipeline.set("deployment.checkTolerance", -0.1));
    return changes;
  }

  @Test
  void invalidChangesRejectedBySchemaAndLoader() throws IOException {
    JsonNode schema = schema();
    for (Map.Entry<String, Consumer<ObjectNode>> change : invalidChanges().entrySet()) {
      ObjectNode tree = ExamplePipeline.changed(change.getValue());
      assertThat(SchemaSubsetValidator.validate(schema, tree))
          .as("schema errors for %s", change.getKey())
          .isNotEmpty();
      assertThatThrownBy(() -> PipelineSpecs.parse(ExamplePipeline.yaml(tree), "changed.yaml"))
          .as("loader on %s", change.getKey())
          .isInstanceOf(EvergreenException.class);
    }
  }

  @Test
  void validChangesAcceptedBySchemaAndLoader() throws IOException {
    Map<String, Consumer<ObjectNode>> changes = new LinkedHashMap<>();
    changes.put(
        "time split with column",
        ExamplePipeline.set("split.method", "time")
            .andThen(ExamplePipeline.set("split.timeColumn", "date")));
    changes.put(
        "file instead of landing",
        ExamplePipeline.remove("source.landing")
            .andThen(ExamplePipeline.set("source.file", "flights.csv")));
    changes.put("format csv", ExamplePipeline.set("source.format", "csv"));
    changes.put("encoding latin-1", ExamplePipeline.set("source.csv.encoding", "latin-1"));
    changes.put("semicolon delimiter", ExamplePipeline.set("source.csv.delimiter", ";"));
    changes.put("regression", ExamplePipeline.set("trainer.objective", "reg:squarederror"));
    changes.put("drift error", ExamplePipeline.set("validation.drift.error", 0.25));
    changes.put(
        "pattern and tolerance",
        ExamplePipeline.set("validation.rules[0].pattern", "[A-Z]{3}")
            .andThen(ExamplePipeline.set("validation.rules[0].tolerance", 0.99)));
    changes.put(
        "meanBetween range",
        ExamplePipeline.set("validation.rules[0].meanBetween", List.of(100.0, 2000.0)));
    changes.put(
        "per-feature threshold",
        ExamplePipeline.set("validation.drift.features.distance.wasserstein", 0.2));
    changes.put(
        "dataset severity error", ExamplePipeline.set("validation.drift.datasetSeverity", "error"));
    changes.put("warning severity", ExamplePipeline.set("validation.rules[0].severity", "warning"));
    changes.put("rmse floor", ExamplePipeline.set("evaluation.floors.rmse", 30.0));
    JsonNode schema = schema();
    for (Map.Entry<String, Consumer<ObjectNode>> change : changes.entrySet()) {
      ObjectNode tree = ExamplePipeline.changed(change.getValue());
      assertThat(SchemaSubsetValidator.validate(schema, tree))
          .as("schema errors for %s", change.getKey())
          .isEmpty();
      assertThat(accepts(tree)).as("loader on %s", change.getKey()).isTrue();
    }
  }

  @Test
  void requiredFieldsAreExactlyThoseLoaderNeeds() throws IOException {
    List<String> problems = new ArrayList<>();
    ObjectNode example = ExamplePipeline.tree();
    compareRequired(schema(), example, "", problems);
    assertThat(problems).isEmpty();
  }

  /**
   * Removes each field of the example in turn: the loader must reject the result, naming the field,
   * exactly when the schema lists the field as required.
   */
  private static void compareRequired(
      JsonNode schema, JsonNode document, String path, List<String> problems) {
    Set<String> required = texts(schema.path("required"));
    Set<String> chosen = new HashSet<>();
    for (JsonNode option : schema.path("oneOf")) {
      chosen.addAll(texts(option.path("required")));
    }
    for (Map.Entry<String, JsonNode> field : document.properties()) {
      String name = field.getKey();
      String child = path.isEmpty() ? name : path + "." + name;
      JsonNode property = schema.path("properties").path(name);
      if (!chosen.contains(name)) {
        String error = loaderError(ExamplePipeline.changed(ExamplePipeline.remove(child)));
        if (required.contains(name) && (error == null || !error.contains(child))) {
          problems.add(child + ": required, but removing it gave " + error);
        }
        if (!required.contains(name) && error != null) {
          problems.add(child + ": optional, but removing it gave " + error);
        }
      }
      if (field.getValue().isObject() && property.has("properties")) {
        compareRequired(property, field.getValue(), child, problems);
      }
      if (field.getValue().isArray() && property.path("items").has("properties")) {
        compareRequired(property.path("items"), field.getValue().get(0), child + "[0]", problems);
      }
    }
  }

  private static boolean accepts(ObjectNode tree) {
    return loaderError(tree) == null;
  }

  private static String loaderError(ObjectNode tree) {
    try {
      PipelineSpecs.parse(ExamplePipeline.yaml(tree), "changed.yaml");
      return null;
    } catch (EvergreenException e) {
      return e.getMessage();
    }
  }
}
