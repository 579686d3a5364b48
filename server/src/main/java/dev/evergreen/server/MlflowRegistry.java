package dev.evergreen.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.registry.ModelRegistry;
import dev.evergreen.core.tracking.Page;
import dev.evergreen.core.tracking.SearchFilter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Read-only MLflow model registry endpoints mapped onto Evergreen's {@link ModelRegistry}: a
 * registered model is a model name with at least one version, versions are sent as decimal strings,
 * every version is {@code READY} in stage {@code None}, and aliases are Evergreen's aliases.
 */
final class MlflowRegistry {
  /** Default page size of registered-model and model-version searches, as MLflow 2.x has it. */
  static final int DEFAULT_PAGE = 100;

  private final ModelRegistry registry;

  MlflowRegistry(ModelRegistry registry) {
    this.registry = registry;
  }

  ObjectNode get(MlflowRequest request) {
    ObjectNode body = MlflowApi.object();
    body.set("registered_model", registeredModel(request.requiredText("name")));
    return body;
  }

  ObjectNode search(MlflowRequest request) {
    List<SearchFilter.Clause> clauses = SearchFilter.parse(request.text("filter"));
    for (SearchFilter.Clause clause : clauses) {
      if (clause.entity() != SearchFilter.Entity.ATTRIBUTE || !clause.key().equals("name")) {
        throw EvergreenException.invalid(
            "registered models can be filtered by name only, got " + clause.describe());
      }
    }
    List<String> names = new ArrayList<>();
    for (String name : registry.models()) {
      if (clauses.stream().allMatch(clause -> SearchFilter.compareText(clause, name))) {
        names.add(name);
      }
    }
    names.sort(nameOrder(request.texts("order_by")));
    Page<String> page =
        Page.of(names, MlflowApi.maxResults(request, DEFAULT_PAGE), request.text("page_token"));
    ObjectNode body = MlflowApi.object();
    ArrayNode models = body.putArray("registered_models");
    page.items().forEach(name -> models.add(registeredModel(name)));
    MlflowApi.putToken(body, page);
    return body;
  }

  ObjectNode byAlias(MlflowRequest request) {
    String name = request.requiredText("name");
    String alias = request.requiredText("alias");
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
    ObjectNode body = MlflowApi.object();
    body.set("model_version", version(version));
    return body;
  }

  ObjectNode version(MlflowRequest request) {
    String name = request.requiredText("name");
    String text = request.requiredText("version");
    int number;
    try {
      number = Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw EvergreenException.invalid(
          "version '" + text + "' of model '" + name + "' is not an integer");
    }
    requireModel(name);
    ObjectNode body = MlflowApi.object();
    body.set("model_version", version(registry.require(name, number)));
    return body;
  }

  /** Returns the newest version; Evergreen has no stages, so every version is in stage None. */
  ObjectNode latestVersions(MlflowRequest request) {
    String name = request.requiredText("name");
    List<ModelVersion> versions = requireModel(name);
    List<String> stages = request.texts("stages");
    ObjectNode body = MlflowApi.object();
    ArrayNode array = body.putArray("model_versions");
    if (stages.isEmpty() || stages.stream().anyMatch(stage -> stage.equalsIgnoreCase("None"))) {
      array.add(version(versions.get(versions.size() - 1)));
    }
    return body;
  }

  ObjectNode searchVersions(MlflowRequest request) {
    List<SearchFilter.Clause> clauses = SearchFilter.parse(request.text("filter"));
    List<ModelVersion> matching = new ArrayList<>();
    for (String name : registry.models()) {
      for (ModelVersion version : registry.versions(name)) {
        if (matches(version, clauses)) {
          matching.add(version);
        }
      }
    }
    Page<ModelVersion> page =
        Page.of(matching, MlflowApi.maxResults(request, DEFAULT_PAGE), request.text("page_token"));
    ObjectNode body = MlflowApi.object();
    ArrayNode versions = body.putArray("model_versions");
    page.items().forEach(version -> versions.add(version(version)));
    MlflowApi.putToken(body, page);
    return body;
  }

  private static boolean matches(ModelVersion version, List<SearchFilter.Clause> clauses) {
    for (SearchFilter.Clause clause : clauses) {
      String key = clause.key().toLowerCase(Locale.ROOT);
      String value =
          switch (key) {
            case "name" -> version.model();
            case "run_id" -> version.runId();
            case "version_number" -> Integer.toString(version.version());
            default ->
                throw EvergreenException.invalid(
                    "model versions can be filtered by name, run_id or version_number, got "
                        + clause.describe());
          };
      if (!SearchFilter.compareText(clause, value)) {
        return false;
      }
    }
    return true;
  }

  private ObjectNode registeredModel(String name) {
    List<ModelVersion> versions = requireModel(name);
    ModelVersion first = versions.get(0);
    ModelVersion latest = versions.get(versions.size() - 1);
    ObjectNode node = MlflowApi.object();
    node.put("name", name);
    MlflowJson.putTime(node, "creation_timestamp", first.createdAt());
    MlflowJson.putTime(node, "last_updated_timestamp", latest.createdAt());
    node.put("description", "");
    node.putArray("latest_versions").add(version(latest));
    node.putArray("tags");
    ArrayNode aliases = node.putArray("aliases");
    new TreeMap<>(registry.aliases(name))
        .forEach(
            (alias, version) -> {
              ObjectNode entry = aliases.addObject();
              entry.put("alias", alias);
              entry.put("version", Integer.toString(version));
            });
    return node;
  }

  private ObjectNode version(ModelVersion version) {
    ObjectNode node = MlflowApi.object();
    node.put("name", version.model());
    node.put("version", Integer.toString(version.version()));
    MlflowJson.putTime(node, "creation_timestamp", version.createdAt());
    MlflowJson.putTime(node, "last_updated_timestamp", version.createdAt());
    node.put("current_stage", "None");
    node.put("description", "");
    node.put("source", version.artifactKey() == null ? "" : version.artifactKey());
    if (version.runId() != null) {
      node.put("run_id", version.runId());
    }
    node.put("status", "READY");
    ArrayNode tags = node.putArray("tags");
    Map<String, String> values = new TreeMap<>();
    if (version.snapshotId() != null) {
      values.put("evergreen.snapshot_id", version.snapshotId());
    }
    if (version.artifactSha256() != null) {
      values.put("evergreen.artifact_sha256", version.artifactSha256());
    }
    MlflowJson.keyValues(tags, values);
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

  private List<ModelVersion> requireModel(String name) {
    List<ModelVersion> versions = registry.versions(name);
    if (versions.isEmpty()) {
      throw EvergreenException.notFound(
          "registered model '" + name + "' does not exist; search registered models for names");
    }
    return versions;
  }

  private static Comparator<String> nameOrder(List<String> orderBy) {
    Comparator<String> order = Comparator.naturalOrder();
    for (String text : orderBy) {
      SearchFilter.OrderKey key = SearchFilter.parseOrder(text);
      if (!key.key().equals("name")) {
        throw EvergreenException.invalid(
            "registered models can be ordered by name only, got '" + text + "'");
      }
      return key.ascending() ? order : order.reversed();
    }
    return order;
  }
}
