package dev.evergreen.core.store;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.lineage.LineageEdge;
import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.BatchingSpec;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.api.security.Token;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.core.registry.RegisteredModel;
import dev.evergreen.core.registry.VersionMetadata;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Durable metadata: snapshots, runs, the model registry, the audit log, lineage and tokens.
 *
 * <p>Each method is atomic on its own. {@link #inTransaction} groups calls made by the same thread
 * into one transaction that takes the write lock at its start, so concurrent writers, also in other
 * processes, are serialized; nested calls join the outer transaction. Several processes (a server
 * and CLI commands) may open the same store at once.
 */
public interface MetadataStore extends AutoCloseable {
  <T> T inTransaction(Supplier<T> work);

  default void inTransaction(Runnable work) {
    inTransaction(
        () -> {
          work.run();
          return null;
        });
  }

  /**
   * Returns a counter that changes whenever another connection committed a change, so a server can
   * notice registry changes made by CLI commands cheaply.
   */
  long changeCounter();

  // Snapshots

  /** Inserts a snapshot; returns false and changes nothing when the id is already stored. */
  boolean insertSnapshot(Snapshot snapshot);

  Optional<Snapshot> findSnapshot(String id);

  Optional<PipelineState> findPipelineState(String pipeline);

  void savePipelineState(PipelineState state);

  /**
   * Deletes a pipeline's reference snapshot id and inferred rules, so that its next accepted batch
   * becomes the reference again. Returns false when none were stored.
   */
  boolean deletePipelineState(String pipeline);

  // Runs

  void insertRun(Run run);

  /** Replaces the stored run with the same id. */
  void updateRun(Run run);

  Optional<Run> findRun(String id);

  /** Returns runs newest first; {@code pipeline} null means all pipelines. */
  List<Run> listRuns(String pipeline, int limit);

  List<Run> listRunsByStatus(Set<RunStatus> statuses);

  void saveValidationReport(String runId, ValidationReport report);

  Optional<ValidationReport> findValidationReport(String runId);

  // Registry

  /**
   * Inserts a version with the next number of its model (1 for the first) and returns it; the
   * {@code version} field of the argument is ignored. Numbers of deleted versions are not reused.
   * The model is registered when missing, and restored without description or tags when it was
   * deleted.
   */
  ModelVersion insertModelVersion(ModelVersion version);

  /** Returns a version, empty when it does not exist or was deleted. */
  Optional<ModelVersion> findModelVersion(String model, int version);

  /** Returns the versions of a model that are not deleted, oldest first. */
  List<ModelVersion> listModelVersions(String model);

  /** Returns the names of all registered models that are not deleted, sorted. */
  List<String> listModels();

  // Registry metadata: descriptions, tags and stages, shown through the MLflow API. Stores that do
  // not keep it reject these calls with INTERNAL; the SQLite store keeps it.

  /** Returns a model's metadata, empty when the model does not exist or was deleted. */
  default Optional<RegisteredModel> findRegisteredModel(String name) {
    throw unsupported("registered model metadata");
  }

  /**
   * Registers a model without versions. A deleted model of the same name is restored and keeps
   * counting version numbers after its deleted versions.
   *
   * @throws EvergreenException CONFLICT when the model exists
   */
  default void insertRegisteredModel(RegisteredModel model) {
    throw unsupported("creating registered models");
  }

  /**
   * Replaces the description, tags and update time of a model.
   *
   * @throws EvergreenException NOT_FOUND when the model does not exist
   */
  default void updateRegisteredModel(RegisteredModel model) {
    throw unsupported("updating registered models");
  }

  /**
   * Renames a model together with its versions, aliases, alias history, deployment events and the
   * lineage ids of its versions. The audit log keeps the old name, because its entries are
   * immutable.
   *
   * @throws EvergreenException NOT_FOUND when the model does not exist, CONFLICT when {@code
   *     newName} is taken, also by a deleted model
   */
  default void renameRegisteredModel(String name, String newName, Instant at) {
    throw unsupported("renaming registered models");
  }

  /**
   * Marks a model and its versions deleted and drops their tags. The rows stay, so version numbers
   * are not reused and alias history and lineage keep their meaning.
   *
   * @throws EvergreenException NOT_FOUND when the model does not exist, INVALID_INPUT when an alias
   *     still points to one of its versions
   */
  default void deleteRegisteredModel(String name, Instant at) {
    throw unsupported("deleting registered models");
  }

  /** Returns a version's metadata, empty when the version does not exist or was deleted. */
  default Optional<VersionMetadata> findVersionMetadata(String model, int version) {
    throw unsupported("model version metadata");
  }

  /**
   * Replaces the description, stage, source, tags and update time of a version.
   *
   * @throws EvergreenException NOT_FOUND when the version does not exist
   */
  default void updateVersionMetadata(String model, int version, VersionMetadata metadata) {
    throw unsupported("updating model versions");
  }

  /**
   * Marks a version deleted and drops its tags.
   *
   * @throws EvergreenException NOT_FOUND when the version does not exist, INVALID_INPUT naming the
   *     alias when an alias points to it
   */
  default void deleteModelVersion(String model, int version, Instant at) {
    throw unsupported("deleting model versions");
  }

  /** Returns alias name to version for a model. */
  Map<String, Integer> aliases(String model);

  /** Applies an alias move (a null {@code toVersion} deletes the alias) and records it. */
  void moveAlias(AliasMove move);

  /** Returns every alias move of a model, oldest first. */
  List<AliasMove> aliasHistory(String model);

  void insertDeploymentEvent(DeploymentEvent event);

  /** Returns deployment events of a model, oldest first. */
  List<DeploymentEvent> listDeploymentEvents(String model);

  /**
   * Replaces the stored canary and shadow of a model and keeps its batching settings. Null clears a
   * slot.
   */
  void saveTrafficSlots(
      String model, TrafficSettings.CanarySetting canary, TrafficSettings.ShadowSetting shadow);

  /**
   * Replaces the stored batching settings of a model and keeps its canary and shadow. Null means
   * batching is off.
   */
  void saveBatching(String model, BatchingSpec batching);

  /** Returns the traffic settings of every model that has at least one stored, sorted by model. */
  List<TrafficSettings> listTrafficSettings();

  /** Returns the stored traffic settings of one model, or empty when it has none. */
  Optional<TrafficSettings> trafficSettings(String model);

  // Audit

  /** Appends an entry whose sequence, previous hash and hash the caller computed. */
  void insertAuditEntry(AuditEntry entry);

  Optional<AuditEntry> lastAuditEntry();

  /** Returns entries in stored order (by sequence), starting after {@code afterSequence}. */
  List<AuditEntry> listAuditEntries(long afterSequence, int limit);

  // Lineage

  void insertLineageEdge(LineageEdge edge);

  List<LineageEdge> lineageEdgesFrom(String kind, String id);

  List<LineageEdge> lineageEdgesTo(String kind, String id);

  // Tokens

  void insertToken(Token token);

  Optional<Token> findTokenBySecretHash(String secretSha256);

  List<Token> listTokens();

  /** Deletes a token; returns false when no token has that id. */
  boolean deleteToken(String id);

  @Override
  void close();

  private EvergreenException unsupported(String feature) {
    return new EvergreenException(
        ErrorKind.INTERNAL,
        getClass().getSimpleName()
            + " does not support "
            + feature
            + "; use the SQLite metadata store");
  }
}
