package dev.evergreen.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.deployment.DeploymentManager;
import dev.evergreen.core.registry.ModelRegistry;
import dev.evergreen.core.registry.ModelStage;
import dev.evergreen.core.registry.RegisteredModel;
import dev.evergreen.core.registry.VersionMetadata;
import dev.evergreen.core.tracking.Page;
import dev.evergreen.core.tracking.SearchFilter;
import dev.evergreen.core.tracking.TrackingService;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The MLflow model registry endpoints, reading and writing Evergreen's {@link ModelRegistry}: a
 * registered model is an Evergreen model, versions are sent as decimal strings with status {@code
 * READY}, and aliases are Evergreen's aliases. Moving {@code champion} deploys the version through
 * the {@link DeploymentManager}, as {@code POST /api/v1/models/{name}/deploy} does.
 */
final class MlflowRegistry {
  /** Default page size of registered-model searches, as in MLflow 2.x. */
  static final int DEFAULT_MODELS_PAGE = 100;

  /** Largest page of registered-model searches, MLflow 2.x's limit. */
  static final int MAX_MODELS_PAGE = 1_000;

  /** Default page size of model-version searches: the largest page Evergreen returns. */
  static final int DEFAULT_VERSIONS_PAGE = TrackingService.MAX_RESULTS;

  /** Tag key prefix of the version tags Evergreen derives from the training record. */
  static final String RESERVED_TAG_PREFIX = "evergreen.";

  /** MLflow's alias rule: letters, digits, {@code _} and {@code -}, at most 255 characters. */
  private static final Pattern ALIAS = Pattern.compile("[A-Za-z0-9_-]{1,255}");

  /** Alias names MLflow reserves for version references: {@code latest} and {@code v<number>}. */
  private static final Pattern RESERVED_ALIAS = Pattern.compile("(?i)latest|v[0-9]+");

  private final ModelRegistry registry;
  private final DeploymentManager deployments;

  MlflowRegistry(ModelRegistry registry, DeploymentManager deployments) {
    this.registry = registry;
    this.deployments = deployments;
  }

  // Registered models

  ObjectNode create(MlflowRequest request, String actor) {
    RegisteredModel model =
        registry.createModel(
            request.requiredText("name"),
            request.text("description"),
            MlflowApi.tags(request.objects("tags")),
            actor);
    return modelResponse(model);
  }

  ObjectNode get(MlflowRequest request, String actor) {
    return modelResponse(registry.requireModel(request.requiredText("name")));
  }

  ObjectNode rename(MlflowRequest request, String actor) {
    return modelResponse(
        registry.renameModel(
            request.requiredText("name"), request.requiredText("new_name"), actor));
  }

  ObjectNode update(MlflowRequest request, String actor) {
    String description = request.text("description");
    String name = request.requiredText("name");
    RegisteredModel model =
        description == null
            ? registry.requireModel(name)
            : registry.updateModelDescription(name, description, actor);
    return modelResponse(model);
  }

  ObjectNode delete(MlflowRequest request, String actor) {
    registry.deleteModel(request.requiredText("name"), actor);
    return MlflowApi.object();
  }

  ObjectNode setModelTag(MlflowRequest request, String actor) {
    registry.setModelTag(
        request.requiredText("name"), request.requiredText("key"), value(request), actor);
    return MlflowApi.object();
  }

  ObjectNode deleteModelTag(MlflowRequest request, String actor) {
    registry.setModelTag(request.requiredText("name"), request.requiredText("key"), null, actor);
    return MlflowApi.object();
  }

  ObjectNode search(MlflowRequest request, String actor) {
    List<SearchFilter.Clause> clauses = SearchFilter.parse(request.text("filter"));
    for (SearchFilter.Clause clause : clauses) {
      boolean byName =
          clause.entity() == SearchFilter.Entity.ATTRIBUTE && clause.key().equals("name");
      if (!byName && clause.entity() != SearchFilter.Entity.TAG) {
        throw EvergreenException.invalid(
            "registered models can be filtered by name and tags.<key>, got " + clause.describe());
      }
      requireTextComparator(clause);
    }

    int maxResults = MlflowApi.maxResults(request, DEFAULT_MODELS_PAGE);
    if (maxResults > MAX_MODELS_PAGE) {
      throw EvergreenException.invalid(
          "max_results of a registered-model search must be at most "
              + MAX_MODELS_PAGE
              + ", got "
              + maxResults);
    }

    List<RegisteredModel> models = new ArrayList<>();
    for (String name : registry.models()) {
      RegisteredModel model = registry.model(name).orElse(null);
      if (model != null && clauses.stream().allMatch(clause -> matches(model, clause))) {
        models.add(model);
      }
    }
    models.sort(modelOrder(request.texts("order_by")));
    Page<RegisteredModel> page = Page.of(models, maxResults, request.text("page_token"));

    ObjectNode body = MlflowApi.object();
    ArrayNode array = body.putArray("registered_models");
    page.items().forEach(model -> array.add(registeredModel(model)));
    MlflowApi.putToken(body, page);
    return body;
  }

  /** Returns the newest version in each requested stage, or in every stage when none is given. */
  ObjectNode latestVersions(MlflowRequest request, String actor) {
    String name = request.requiredText("name");
    registry.requireModel(name);
    Set<ModelStage> stages = new HashSet<>();
    for (String stage : request.texts("stages")) {
      stages.add(ModelStage.parse(stage));
    }
    ObjectNode body = MlflowApi.object();
    ArrayNode array = body.putArray("model_versions");
    latestPerStage(name)
        .forEach(
            (stage, version) -> {
              if (stages.isEmpty() || stages.contains(stage)) {
                array.add(version);
              }
            });
    return body;
  }

  // Aliases

  ObjectNode byAlias(MlflowRequest request, String actor) {
    String name = request.requiredText("name");
    String alias = request.requiredText("alias");
    registry.requireModel(name);
    ModelVersion version =
        registry
            .byAlias(name, alias)
            .orElseThrow(
                () ->
                    EvergreenException.notFound(
                        "registered model '"
                            + name
                            + "' has no alias '"
                            + alias
                            + "'; get the model to see its aliases"));
    return versionResponse(version);
  }

  /**
   * Points an alias at a version. The {@code champion} alias is moved by deploying the version, so
   * the version is loaded and checked first, and the move, the deployment event and their audit
   * entries are written in one transaction. A version that fails to deploy leaves the alias as it
   * was.
   */
  ObjectNode setAlias(MlflowRequest request, String actor) {
    String name = request.requiredText("name");
    String alias = request.requiredText("alias");
    int number = versionNumber(request);
    requireAliasName(alias);
    registry.requireModel(name);
    ModelVersion version = registry.require(name, number);
    if (alias.equals(Aliases.CHAMPION)) {
      if (version.artifactKey() == null) {
        throw EvergreenException.invalid(
            "version "
                + number
                + " of model '"
                + name
                + "' was registered with an external source and has no Evergreen model bundle, so"
                + " it cannot serve; point 'champion' at a version that a pipeline trained");
      }
      deployments.deploy(name, number, actor);
      // deploy() changes nothing when the version already serves, and the alias may still differ.
      registry.moveAlias(name, alias, number, actor, "set through the MLflow API");
    } else {
      registry.moveAlias(name, alias, number, actor, "set through the MLflow API");
    }
    return MlflowApi.object();
  }

  ObjectNode deleteAlias(MlflowRequest request, String actor) {
    String name = request.requiredText("name");
    String alias = request.requiredText("alias");
    registry.requireModel(name);
    if (alias.equals(Aliases.CHAMPION)) {
      throw EvergreenException.invalid(
          "alias 'champion' of model '"
              + name
              + "' names the version that serves; point it at another version instead of deleting"
              + " it");
    }
    registry.moveAlias(name, alias, null, actor, "deleted through the MLflow API");
    return MlflowApi.object();
  }

  // Model versions

  ObjectNode createVersion(MlflowRequest request, String actor) {
    String runId = request.text("run_id");
    ModelVersion version =
        registry.registerExternal(
            request.requiredText("name"),
            request.requiredText("source"),
            runId == null || runId.isEmpty() ? null : runId,
            request.text("description"),
            userTags(request.objects("tags")),
            actor);
    return versionResponse(version);
  }

  ObjectNode getVersion(MlflowRequest request, String actor) {
    return versionResponse(requireVersion(request));
  }

  ObjectNode updateVersion(MlflowRequest request, String actor) {
    ModelVersion version = requireVersion(request);
    String description = request.text("description");
    if (description != null) {
      registry.updateVersionDescription(version.model(), version.version(), description, actor);
    }
    return versionResponse(version);
  }

  ObjectNode deleteVersion(MlflowRequest request, String actor) {
    ModelVersion version = requireVersion(request);
    registry.deleteVersion(version.model(), version.version(), actor);
    return MlflowApi.object();
  }

  ObjectNode transitionStage(MlflowRequest request, String actor) {
    ModelVersion version = requireVersion(request);
    ModelStage stage = ModelStage.parse(request.requiredText("stage"));
    String archive = request.text("archive_existing_versions");
    if (archive != null && !archive.equals("true") && !archive.equals("false")) {
      throw EvergreenException.invalid(
          "archive_existing_versions must be true or false, got '" + archive + "'");
    }
    registry.transitionStage(
        version.model(), version.version(), stage, "true".equals(archive), actor);
    return versionResponse(version);
  }

  ObjectNode setVersionTag(MlflowRequest request, String actor) {
    ModelVersion version = requireVersion(request);
    String key = request.requiredText("key");
    requireUserTag(key);
    registry.setVersionTag(version.model(), version.version(), key, value(request), actor);
    return MlflowApi.object();
  }

  ObjectNode deleteVersionTag(MlflowRequest request, String actor) {
    ModelVersion version = requireVersion(request);
    String key = request.requiredText("key");
    requireUserTag(key);
    registry.setVersionTag(version.model(), version.version(), key, null, actor);
    return MlflowApi.object();
  }

  /** Returns the version's source: where MLflow clients download its artifacts from. */
  ObjectNode downloadUri(MlflowRequest request, String actor) {
    ModelVersion version = requireVersion(request);
    ObjectNode body = MlflowApi.object();
    body.put(
        "artifact_uri", source(version, registry.metadata(version.model(), version.version())));
    return body;
  }

  ObjectNode searchVersions(MlflowRequest request, String actor) {
    List<SearchFilter.Clause> clauses = SearchFilter.parse(request.text("filter"));
    Comparator<VersionRow> order = versionOrder(request.texts("order_by"));
    int maxResults = MlflowApi.maxResults(request, DEFAULT_VERSIONS_PAGE);
    List<VersionRow> matching = new ArrayList<>();
    for (String name : registry.models()) {
      for (ModelVersion version : registry.versions(name)) {
        VersionRow row =
            new VersionRow(version, registry.metadata(version.model(), version.version()));
        if (matches(row, clauses)) {
          matching.add(row);
        }
      }
    }
    matching.sort(order);
    Page<VersionRow> page = Page.of(matching, maxResults, request.text("page_token"));
    ObjectNode body = MlflowApi.object();
    ArrayNode versions = body.putArray("model_versions");
    page.items().forEach(row -> versions.add(version(row.version(), row.metadata())));
    MlflowApi.putToken(body, page);
    return body;
  }

  // Responses

  private ObjectNode modelResponse(RegisteredModel model) {
    ObjectNode body = MlflowApi.object();
    body.set("registered_model", registeredModel(model));
    return body;
  }

  private ObjectNode versionResponse(ModelVersion version) {
    ObjectNode body = MlflowApi.object();
    body.set(
        "model_version", version(version, registry.metadata(version.model(), version.version())));
    return body;
  }

  private ObjectNode registeredModel(RegisteredModel model) {
    ObjectNode node = MlflowApi.object();
    node.put("name", model.name());
    MlflowJson.putTime(node, "creation_timestamp", model.createdAt());
    MlflowJson.putTime(node, "last_updated_timestamp", model.updatedAt());
    node.put("description", model.description());
    ArrayNode latest = node.putArray("latest_versions");
    latestPerStage(model.name()).values().forEach(latest::add);
    MlflowJson.keyValues(node.putArray("tags"), model.tags());
    ArrayNode aliases = node.putArray("aliases");
    new TreeMap<>(registry.aliases(model.name()))
        .forEach(
            (alias, version) -> {
              ObjectNode entry = aliases.addObject();
              entry.put("alias", alias);
              entry.put("version", Integer.toString(version));
            });
    return node;
  }

  /** Returns the newest version of each stage in the order None, Staging, Production, Archived. */
  private Map<ModelStage, ObjectNode> latestPerStage(String name) {
    Map<ModelStage, ModelVersion> newest = new EnumMap<>(ModelStage.class);
    Map<ModelStage, VersionMetadata> metadata = new EnumMap<>(ModelStage.class);
    for (ModelVersion version : registry.versions(name)) {
      VersionMetadata details = registry.metadata(name, version.version());
      // Versions are listed oldest first, so the last one seen per stage is the newest.
      newest.put(details.stage(), version);
      metadata.put(details.stage(), details);
    }
    Map<ModelStage, ObjectNode> nodes = new EnumMap<>(ModelStage.class);
    newest.forEach((stage, version) -> nodes.put(stage, version(version, metadata.get(stage))));
    return nodes;
  }

  private ObjectNode version(ModelVersion version, VersionMetadata metadata) {
    ObjectNode node = MlflowApi.object();
    node.put("name", version.model());
    node.put("version", Integer.toString(version.version()));
    MlflowJson.putTime(node, "creation_timestamp", version.createdAt());
    MlflowJson.putTime(node, "last_updated_timestamp", metadata.updatedAt());
    node.put("current_stage", metadata.stage().mlflowName());
    node.put("description", metadata.description());
    node.put("source", source(version, metadata));
    if (version.runId() != null) {
      node.put("run_id", version.runId());
    }
    node.put("status", "READY");
    Map<String, String> tags = new TreeMap<>(metadata.tags());
    if (version.snapshotId() != null) {
      tags.put(RESERVED_TAG_PREFIX + "snapshot_id", version.snapshotId());
    }
    if (version.artifactSha256() != null) {
      tags.put(RESERVED_TAG_PREFIX + "artifact_sha256", version.artifactSha256());
    }
    MlflowJson.keyValues(node.putArray("tags"), tags);
    ArrayNode aliases = node.putArray("aliases");
    new TreeMap<>(registry.aliases(version.model()))
        .forEach(
            (alias, target) -> {
              if (target == version.version()) {
                aliases.add(alias);
              }
            });
    return node;
  }

  /** The external source of an MLflow-created version, else the artifact key of its bundle. */
  private static String source(ModelVersion version, VersionMetadata metadata) {
    if (metadata.source() != null) {
      return metadata.source();
    }
    return version.artifactKey() == null ? "" : version.artifactKey();
  }

  // Requests

  private ModelVersion requireVersion(MlflowRequest request) {
    String name = request.requiredText("name");
    int number = versionNumber(request);
    registry.requireModel(name);
    return registry.require(name, number);
  }

  private static int versionNumber(MlflowRequest request) {
    String text = request.requiredText("version");
    try {
      int number = Integer.parseInt(text.trim());
      if (number >= 1) {
        return number;
      }
    } catch (NumberFormatException e) {
      // Reported below.
    }
    throw EvergreenException.invalid(
        "version '" + text + "' is not a version number; versions are integers from 1");
  }

  private static String value(MlflowRequest request) {
    String value = request.text("value");
    return value == null ? "" : value;
  }

  private static Map<String, String> userTags(List<MlflowRequest> tags) {
    Map<String, String> result = MlflowApi.tags(tags);
    result.keySet().forEach(MlflowRegistry::requireUserTag);
    return result;
  }

  private static void requireUserTag(String key) {
    if (key.startsWith(RESERVED_TAG_PREFIX)) {
      throw EvergreenException.invalid(
          "tag key '"
              + key
              + "' starts with '"
              + RESERVED_TAG_PREFIX
              + "', which Evergreen reserves for tags it derives from the training record;"
              + " choose another key");
    }
  }

  private static void requireAliasName(String alias) {
    if (!ALIAS.matcher(alias).matches() || RESERVED_ALIAS.matcher(alias).matches()) {
      throw EvergreenException.invalid(
          "invalid alias name '"
              + alias
              + "'; use up to 255 letters, digits, '_' and '-', other than 'latest' and"
              + " 'v<number>'");
    }
  }

  // Filters and ordering

  private static void requireTextComparator(SearchFilter.Clause clause) {
    if (!Set.of("=", "!=", "LIKE", "ILIKE").contains(clause.comparator())) {
      throw EvergreenException.invalid(
          "filter uses "
              + clause.comparator()
              + " on "
              + clause.describe()
              + "; use =, !=, LIKE or ILIKE");
    }
  }

  private static boolean matches(RegisteredModel model, SearchFilter.Clause clause) {
    String actual =
        clause.entity() == SearchFilter.Entity.TAG ? model.tags().get(clause.key()) : model.name();
    return SearchFilter.compareText(clause, actual);
  }

  private static Comparator<RegisteredModel> modelOrder(List<String> orderBy) {
    Comparator<RegisteredModel> order = null;
    boolean byName = false;
    for (String text : orderBy) {
      SearchFilter.OrderKey key = SearchFilter.parseOrder(text);
      Comparator<RegisteredModel> next =
          switch (key.key()) {
            case "name" -> {
              byName = true;
              yield Comparator.comparing(RegisteredModel::name);
            }
            case "last_updated_timestamp", "timestamp" ->
                Comparator.comparing(
                    RegisteredModel::updatedAt, Comparator.nullsFirst(Comparator.naturalOrder()));
            default ->
                throw EvergreenException.invalid(
                    "registered models can be ordered by name and last_updated_timestamp, got '"
                        + text
                        + "'");
          };
      next = key.ascending() ? next : next.reversed();
      order = order == null ? next : order.thenComparing(next);
    }
    Comparator<RegisteredModel> names = Comparator.comparing(RegisteredModel::name);
    if (order == null) {
      return names;
    }
    return byName ? order : order.thenComparing(names);
  }

  /** A version with its metadata, read once per search. */
  private record VersionRow(ModelVersion version, VersionMetadata metadata) {}

  private static boolean matches(VersionRow row, List<SearchFilter.Clause> clauses) {
    ModelVersion version = row.version();
    for (SearchFilter.Clause clause : clauses) {
      boolean match;
      if (clause.entity() == SearchFilter.Entity.TAG) {
        match = SearchFilter.compareText(clause, row.metadata().tags().get(clause.key()));
      } else {
        match =
            switch (clause.key().toLowerCase(Locale.ROOT)) {
              case "name" -> SearchFilter.compareText(clause, version.model());
              case "run_id" -> SearchFilter.compareText(clause, version.runId());
              case "source_path" ->
                  SearchFilter.compareText(clause, source(version, row.metadata()));
              case "version_number" ->
                  clause.comparator().endsWith("IN")
                      ? SearchFilter.compareText(clause, Integer.toString(version.version()))
                      : SearchFilter.compareNumber(clause, (double) version.version());
              default ->
                  throw EvergreenException.invalid(
                      "model versions can be filtered by name, run_id, version_number,"
                          + " source_path and tags.<key>, got "
                          + clause.describe());
            };
      }
      if (!match) {
        return false;
      }
    }
    return true;
  }

  /** Orders by the given keys, then by name ascending and version descending, as MLflow does. */
  private static Comparator<VersionRow> versionOrder(List<String> orderBy) {
    Map<String, Comparator<VersionRow>> keys = new LinkedHashMap<>();
    keys.put("name", Comparator.comparing(row -> row.version().model()));
    keys.put("version_number", Comparator.comparingInt(row -> row.version().version()));
    keys.put(
        "creation_timestamp",
        Comparator.comparing(row -> time(row.version().createdAt()), Comparator.naturalOrder()));
    keys.put(
        "last_updated_timestamp",
        Comparator.comparing(row -> time(row.metadata().updatedAt()), Comparator.naturalOrder()));
    Comparator<VersionRow> order = (a, b) -> 0;
    List<String> used = new ArrayList<>();
    for (String text : orderBy) {
      SearchFilter.OrderKey key = SearchFilter.parseOrder(text);
      String name = key.key().equals("timestamp") ? "creation_timestamp" : key.key();
      Comparator<VersionRow> next = keys.get(name);
      if (next == null) {
        throw EvergreenException.invalid(
            "model versions can be ordered by name, version_number, creation_timestamp and"
                + " last_updated_timestamp, got '"
                + text
                + "'");
      }
      order = order.thenComparing(key.ascending() ? next : next.reversed());
      used.add(name);
    }
    if (!used.contains("name")) {
      order = order.thenComparing(keys.get("name"));
    }
    if (!used.contains("version_number")) {
      order = order.thenComparing(keys.get("version_number").reversed());
    }
    return order;
  }

  private static long time(Instant instant) {
    return instant == null ? 0 : instant.toEpochMilli();
  }
}
