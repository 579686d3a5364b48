package dev.evergreen.core.registry;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.lineage.LineageService;
import dev.evergreen.core.store.MetadataStore;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * Registered models, their immutable versions and their aliases. Every change is written with its
 * audit entry and lineage edge in one transaction.
 */
public final class ModelRegistry {
  /** Audit actions of registry changes made through the MLflow model registry API. */
  public static final String MODEL_CREATED = "model.created";

  public static final String MODEL_RENAMED = "model.renamed";
  public static final String MODEL_UPDATED = "model.updated";
  public static final String MODEL_DELETED = "model.deleted";
  public static final String VERSION_UPDATED = "model.version.updated";
  public static final String VERSION_DELETED = "model.version.deleted";

  private final MetadataStore store;
  private final AuditLog audit;
  private final LineageService lineage;
  private final Clock clock;

  /**
   * Check that runs before a model or one of its versions is deleted, with the version or null for
   * the whole model. It throws to keep what still serves, and the deployment manager sets it.
   */
  private volatile BiConsumer<String, Integer> deleteGuard = (model, version) -> {};

  public ModelRegistry(MetadataStore store, AuditLog audit, LineageService lineage, Clock clock) {
    this.store = store;
    this.audit = audit;
    this.lineage = lineage;
    this.clock = clock;
  }

  /** Registers a new version; its number is assigned here, the draft's number is ignored. */
  public ModelVersion register(ModelVersion draft, String actor) {
    return register(draft, actor, Map.of());
  }

  /**
   * Registers a version as {@link #register(ModelVersion, String)} does, with more details in its
   * audit entry, such as the format and signature of an external model file.
   */
  public ModelVersion register(ModelVersion draft, String actor, Map<String, String> details) {
    return store.inTransaction(
        () -> {
          ModelVersion stored = store.insertModelVersion(draft);
          Map<String, String> targets = new LinkedHashMap<>();
          targets.put("model", stored.model());
          targets.put("version", Integer.toString(stored.version()));
          if (stored.runId() != null) {
            targets.put("run", stored.runId());
          }
          Map<String, String> all = new LinkedHashMap<>();
          all.put("artifact_sha256", stored.artifactSha256());
          all.putAll(details);
          audit.append(actor, AuditActions.MODEL_REGISTERED, targets, all);
          if (stored.runId() != null) {
            lineage.record(
                LineageService.RUN, stored.runId(), LineageService.MODEL_VERSION, key(stored));
          }
          return stored;
        });
  }

  public Optional<ModelVersion> version(String model, int version) {
    return store.findModelVersion(model, version);
  }

  /** Returns a version or throws NOT_FOUND naming it. */
  public ModelVersion require(String model, int version) {
    return version(model, version).orElseThrow(() -> missingVersion(model, version));
  }

  public List<ModelVersion> versions(String model) {
    return store.listModelVersions(model);
  }

  public List<String> models() {
    return store.listModels();
  }

  public Map<String, Integer> aliases(String model) {
    return store.aliases(model);
  }

  public Optional<ModelVersion> byAlias(String model, String alias) {
    Integer version = store.aliases(model).get(alias);
    return version == null ? Optional.empty() : store.findModelVersion(model, version);
  }

  /**
   * Points an alias at a version, or deletes it when {@code version} is null, and records who moved
   * it and why. Moving an alias to the version it already points to changes nothing and returns
   * empty.
   */
  public Optional<AliasMove> moveAlias(
      String model, String alias, Integer version, String actor, String reason) {
    return store.inTransaction(
        () -> {
          if (version != null) {
            require(model, version);
          }
          Integer current = store.aliases(model).get(alias);
          if (Objects.equals(current, version)) {
            return Optional.<AliasMove>empty();
          }
          AliasMove move =
              new AliasMove(
                  model,
                  alias,
                  current,
                  version,
                  actor,
                  reason,
                  clock.instant().truncatedTo(ChronoUnit.MILLIS));
          store.moveAlias(move);
          Map<String, String> details = new LinkedHashMap<>();
          details.put("alias", alias);
          details.put("from", current == null ? "" : current.toString());
          details.put("to", version == null ? "" : version.toString());
          details.put("reason", reason == null ? "" : reason);
          audit.append(actor, AuditActions.ALIAS_MOVED, Map.of("model", model), details);
          return Optional.of(move);
        });
  }

  /**
   * Moves an alias as {@link #moveAlias} does, but only while it still points at {@code expected},
   * null for no version. The check and the move are one transaction, which the SQLite store runs
   * with the database's write lock, so of two processes that read the same version only the first
   * moves the alias.
   *
   * @throws EvergreenException CONFLICT naming the version the alias points at now, and who moved
   *     it there
   */
  public Optional<AliasMove> moveAliasFrom(
      String model, String alias, Integer expected, Integer version, String actor, String reason) {
    return store.inTransaction(
        () -> {
          Integer current = store.aliases(model).get(alias);
          if (!Objects.equals(current, expected)) {
            throw new EvergreenException(
                ErrorKind.CONFLICT,
                "alias '"
                    + alias
                    + "' of model '"
                    + model
                    + "' points at "
                    + describe(current)
                    + ", no longer at "
                    + describe(expected)
                    + lastMove(model, alias));
          }
          return moveAlias(model, alias, version, actor, reason);
        });
  }

  private static String describe(Integer version) {
    return version == null ? "no version" : "version " + version;
  }

  /** Returns " (moved by ACTOR: REASON)" for the alias's latest move, or "" when it never moved. */
  private String lastMove(String model, String alias) {
    List<AliasMove> history = store.aliasHistory(model);
    for (int i = history.size() - 1; i >= 0; i--) {
      AliasMove move = history.get(i);
      if (move.alias().equals(alias)) {
        return " (moved by " + move.actor() + ": " + move.reason() + ")";
      }
    }
    return "";
  }

  public List<AliasMove> aliasHistory(String model) {
    return store.aliasHistory(model);
  }

  // Registry metadata, written through the MLflow model registry API

  /** Returns a model's metadata, empty when the model does not exist. */
  public Optional<RegisteredModel> model(String name) {
    return store.findRegisteredModel(name);
  }

  /** Returns a model's metadata or throws NOT_FOUND naming it. */
  public RegisteredModel requireModel(String name) {
    return model(name)
        .orElseThrow(
            () ->
                EvergreenException.notFound(
                    "registered model '"
                        + name
                        + "' does not exist; search registered models for names"));
  }

  /** Returns a version's changeable metadata or throws NOT_FOUND naming the version. */
  public VersionMetadata metadata(String model, int version) {
    return store
        .findVersionMetadata(model, version)
        .orElseThrow(() -> missingVersion(model, version));
  }

  /**
   * Registers a model without versions.
   *
   * @throws EvergreenException ALREADY_EXISTS when it exists, INVALID_INPUT for an invalid name
   */
  public RegisteredModel createModel(
      String name, String description, Map<String, String> tags, String actor) {
    requireModelName(name);
    return store.inTransaction(
        () -> {
          Instant now = now();
          RegisteredModel model = new RegisteredModel(name, description, tags, now, now);
          store.insertRegisteredModel(model);
          audit.append(actor, MODEL_CREATED, Map.of("model", name), Map.of());
          return requireModel(name);
        });
  }

  /**
   * Renames a model. A model with a {@code champion} or {@code challenger} alias is not renamed,
   * because its pipeline registers versions and serving loads versions under the model's name.
   */
  public RegisteredModel renameModel(String name, String newName, String actor) {
    requireModelName(newName);
    return store.inTransaction(
        () -> {
          requireModel(name);
          for (String alias : List.of(Aliases.CHAMPION, Aliases.CHALLENGER)) {
            if (store.aliases(name).containsKey(alias)) {
              throw EvergreenException.invalid(
                  "registered model '"
                      + name
                      + "' has alias '"
                      + alias
                      + "', so a pipeline or the server uses its name; models with a champion or"
                      + " challenger cannot be renamed");
            }
          }
          store.renameRegisteredModel(name, newName, now());
          audit.append(
              actor, MODEL_RENAMED, Map.of("model", newName), Map.of("previous_name", name));
          return requireModel(newName);
        });
  }

  public RegisteredModel updateModelDescription(String name, String description, String actor) {
    return store.inTransaction(
        () -> {
          RegisteredModel model = requireModel(name);
          store.updateRegisteredModel(model.withDescription(description, now()));
          audit.append(actor, MODEL_UPDATED, Map.of("model", name), Map.of("field", "description"));
          return requireModel(name);
        });
  }

  /**
   * Sets a model tag, or deletes it when {@code value} is null. Deleting a missing tag changes
   * nothing, as in MLflow.
   */
  public void setModelTag(String name, String key, String value, String actor) {
    requireTagKey(key);
    store.inTransaction(
        () -> {
          RegisteredModel model = requireModel(name);
          Map<String, String> tags = new LinkedHashMap<>(model.tags());
          if (value == null && tags.remove(key) == null) {
            return;
          }
          if (value != null) {
            tags.put(key, value);
          }
          store.updateRegisteredModel(model.withTags(tags, now()));
          audit.append(actor, MODEL_UPDATED, Map.of("model", name), tagDetails(key, value));
        });
  }

  /**
   * Deletes a model and its versions; aliases other than {@code champion} are deleted with it and
   * recorded in the alias history.
   *
   * @throws EvergreenException INVALID_INPUT when the model has a champion, because it serves
   */
  public void deleteModel(String name, String actor) {
    store.inTransaction(
        () -> {
          requireModel(name);
          Map<String, Integer> aliases = store.aliases(name);
          if (aliases.containsKey(Aliases.CHAMPION)) {
            throw EvergreenException.invalid(
                "registered model '"
                    + name
                    + "' has alias 'champion', so version "
                    + aliases.get(Aliases.CHAMPION)
                    + " serves it; a serving model cannot be deleted");
          }
          deleteGuard.accept(name, null);
          for (String alias : aliases.keySet()) {
            moveAlias(name, alias, null, actor, "model deleted");
          }
          store.deleteRegisteredModel(name, now());
          audit.append(actor, MODEL_DELETED, Map.of("model", name), Map.of());
        });
  }

  /**
   * Registers a version whose artifacts live outside Evergreen at {@code source}, as MLflow's
   * create-model-version does. Such a version has no model bundle, so it cannot serve.
   *
   * @throws EvergreenException NOT_FOUND when the model does not exist
   */
  public ModelVersion registerExternal(
      String name,
      String source,
      String runId,
      String description,
      Map<String, String> tags,
      String actor) {
    if (source == null || source.isEmpty()) {
      throw EvergreenException.invalid("missing value for required parameter 'source'");
    }
    return store.inTransaction(
        () -> {
          requireModel(name);
          Instant now = now();
          ModelVersion stored =
              store.insertModelVersion(
                  new ModelVersion(name, 0, null, null, runId, null, Map.of(), null, now));
          store.updateVersionMetadata(
              name,
              stored.version(),
              new VersionMetadata(description, ModelStage.NONE, source, tags, now));
          Map<String, String> targets = new LinkedHashMap<>();
          targets.put("model", name);
          targets.put("version", Integer.toString(stored.version()));
          if (runId != null) {
            targets.put("run", runId);
          }
          audit.append(actor, AuditActions.MODEL_REGISTERED, targets, Map.of("source", source));
          if (runId != null && store.findRun(runId).isPresent()) {
            lineage.record(LineageService.RUN, runId, LineageService.MODEL_VERSION, key(stored));
          }
          return stored;
        });
  }

  public VersionMetadata updateVersionDescription(
      String name, int version, String description, String actor) {
    return store.inTransaction(
        () -> {
          VersionMetadata metadata = metadata(name, version);
          store.updateVersionMetadata(name, version, metadata.withDescription(description, now()));
          audit.append(
              actor,
              VERSION_UPDATED,
              versionTargets(name, version),
              Map.of("field", "description"));
          return metadata(name, version);
        });
  }

  /**
   * Sets a version tag, or deletes it when {@code value} is null. Deleting a missing tag changes
   * nothing, as in MLflow.
   */
  public void setVersionTag(String name, int version, String key, String value, String actor) {
    requireTagKey(key);
    store.inTransaction(
        () -> {
          VersionMetadata metadata = metadata(name, version);
          Map<String, String> tags = new LinkedHashMap<>(metadata.tags());
          if (value == null && tags.remove(key) == null) {
            return;
          }
          if (value != null) {
            tags.put(key, value);
          }
          store.updateVersionMetadata(name, version, metadata.withTags(tags, now()));
          audit.append(
              actor, VERSION_UPDATED, versionTargets(name, version), tagDetails(key, value));
        });
  }

  /**
   * Moves a version to a stage. With {@code archiveOthers}, which needs Staging or Production as
   * the target, the other versions in that stage move to Archived, as in MLflow.
   */
  public VersionMetadata transitionStage(
      String name, int version, ModelStage stage, boolean archiveOthers, String actor) {
    if (archiveOthers && !stage.active()) {
      throw EvergreenException.invalid(
          "archive_existing_versions needs stage Staging or Production, got " + stage.mlflowName());
    }
    return store.inTransaction(
        () -> {
          VersionMetadata metadata = metadata(name, version);
          Instant now = now();
          store.updateVersionMetadata(name, version, metadata.withStage(stage, now));
          audit.append(
              actor,
              VERSION_UPDATED,
              versionTargets(name, version),
              Map.of("stage", stage.mlflowName(), "from", metadata.stage().mlflowName()));
          if (archiveOthers) {
            for (ModelVersion other : store.listModelVersions(name)) {
              VersionMetadata otherMetadata = metadata(name, other.version());
              if (other.version() != version && otherMetadata.stage() == stage) {
                store.updateVersionMetadata(
                    name, other.version(), otherMetadata.withStage(ModelStage.ARCHIVED, now));
                audit.append(
                    actor,
                    VERSION_UPDATED,
                    versionTargets(name, other.version()),
                    Map.of("stage", ModelStage.ARCHIVED.mlflowName(), "from", stage.mlflowName()));
              }
            }
          }
          store.updateRegisteredModel(requireModel(name).withUpdatedAt(now));
          return metadata(name, version);
        });
  }

  /**
   * Sets the check that runs before each delete, such as one that rejects deleting a loaded
   * version.
   */
  public void setDeleteGuard(BiConsumer<String, Integer> guard) {
    this.deleteGuard = guard;
  }

  /**
   * Deletes a version. Its number is not reused.
   *
   * @throws EvergreenException INVALID_INPUT naming the alias when an alias points to the version
   */
  public void deleteVersion(String name, int version, String actor) {
    store.inTransaction(
        () -> {
          require(name, version);
          deleteGuard.accept(name, version);
          Instant now = now();
          store.deleteModelVersion(name, version, now);
          store.updateRegisteredModel(requireModel(name).withUpdatedAt(now));
          audit.append(actor, VERSION_DELETED, versionTargets(name, version), Map.of());
        });
  }

  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MILLIS);
  }

  private static EvergreenException missingVersion(String model, int version) {
    return EvergreenException.notFound(
        "model '"
            + model
            + "' has no version "
            + version
            + "; list versions with `evergreen models show "
            + model
            + "`");
  }

  /** Rejects names that cannot appear in REST paths and lineage ids. */
  private static void requireModelName(String name) {
    if (name == null || name.isBlank()) {
      throw EvergreenException.invalid("missing value for required parameter 'name'");
    }
    if (name.contains("/") || name.contains(":")) {
      throw EvergreenException.invalid(
          "registered model name '"
              + name
              + "' contains '/' or ':', which REST paths and lineage ids use as separators;"
              + " choose a name without them");
    }
  }

  private static void requireTagKey(String key) {
    if (key == null || key.isEmpty()) {
      throw EvergreenException.invalid("missing value for required parameter 'key'");
    }
  }

  private static Map<String, String> versionTargets(String model, int version) {
    Map<String, String> targets = new LinkedHashMap<>();
    targets.put("model", model);
    targets.put("version", Integer.toString(version));
    return targets;
  }

  private static Map<String, String> tagDetails(String key, String value) {
    Map<String, String> details = new LinkedHashMap<>();
    details.put(value == null ? "deleted_tag" : "tag", key);
    if (value != null) {
      details.put("value", value);
    }
    return details;
  }

  /** Returns the lineage id of a version, {@code model:version}. */
  public static String key(ModelVersion version) {
    return version.model() + ":" + version.version();
  }
}
