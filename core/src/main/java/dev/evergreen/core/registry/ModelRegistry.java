package dev.evergreen.core.registry;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.lineage.LineageService;
import dev.evergreen.core.store.MetadataStore;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Registered models, their immutable versions and their aliases. Every change is written with its
 * audit entry and lineage edge in one transaction.
 */
public final class ModelRegistry {
  private final MetadataStore store;
  private final AuditLog audit;
  private final LineageService lineage;
  private final Clock clock;

  public ModelRegistry(MetadataStore store, AuditLog audit, LineageService lineage, Clock clock) {
    this.store = store;
    this.audit = audit;
    this.lineage = lineage;
    this.clock = clock;
  }

  /** Registers a new version; its number is assigned here, the draft's number is ignored. */
  public ModelVersion register(ModelVersion draft, String actor) {
    return store.inTransaction(
        () -> {
          ModelVersion stored = store.insertModelVersion(draft);
          Map<String, String> targets = new LinkedHashMap<>();
          targets.put("model", stored.model());
          targets.put("version", Integer.toString(stored.version()));
          if (stored.runId() != null) {
            targets.put("run", stored.runId());
          }
          audit.append(
              actor,
              AuditActions.MODEL_REGISTERED,
              targets,
              Map.of("artifact_sha256", stored.artifactSha256()));
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
    return version(model, version)
        .orElseThrow(
            () ->
                EvergreenException.notFound(
                    "model '"
                        + model
                        + "' has no version "
                        + version
                        + "; list versions with `evergreen models show "
                        + model
                        + "`"));
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

  public List<AliasMove> aliasHistory(String model) {
    return store.aliasHistory(model);
  }

  /** Returns the lineage id of a version, {@code model:version}. */
  public static String key(ModelVersion version) {
    return version.model() + ":" + version.version();
  }
}
