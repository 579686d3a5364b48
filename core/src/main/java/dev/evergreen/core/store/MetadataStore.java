package dev.evergreen.core.store;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.lineage.LineageEdge;
import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.api.security.Token;
import dev.evergreen.api.validation.ValidationReport;
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
   * {@code version} field of the argument is ignored.
   */
  ModelVersion insertModelVersion(ModelVersion version);

  Optional<ModelVersion> findModelVersion(String model, int version);

  /** Returns the versions of a model, oldest first. */
  List<ModelVersion> listModelVersions(String model);

  /** Returns the names of all registered models, sorted. */
  List<String> listModels();

  /** Returns alias name to version for a model. */
  Map<String, Integer> aliases(String model);

  /** Applies an alias move (a null {@code toVersion} deletes the alias) and records it. */
  void moveAlias(AliasMove move);

  /** Returns every alias move of a model, oldest first. */
  List<AliasMove> aliasHistory(String model);

  void insertDeploymentEvent(DeploymentEvent event);

  /** Returns deployment events of a model, oldest first. */
  List<DeploymentEvent> listDeploymentEvents(String model);

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
}
