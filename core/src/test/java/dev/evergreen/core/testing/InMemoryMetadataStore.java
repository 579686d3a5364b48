package dev.evergreen.core.testing;

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
import dev.evergreen.core.store.DeploymentEvent;
import dev.evergreen.core.store.MetadataStore;
import dev.evergreen.core.store.PipelineState;
import dev.evergreen.core.store.TrafficSettings;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * {@link MetadataStore} kept in memory, for tests. One lock serializes all calls; {@link
 * #inTransaction} holds it for the whole transaction and restores the state as it was at the start
 * of the outermost transaction when the work throws.
 */
public final class InMemoryMetadataStore implements MetadataStore {
  private final ReentrantLock lock = new ReentrantLock();
  private State state = new State();
  private long changes;
  private volatile Consumer<DeploymentEvent> beforeDeploymentEvent = event -> {};
  private volatile Consumer<ModelVersion> afterModelVersionInsert = version -> {};

  /** All stored data; records are immutable, so copying the collections copies the state. */
  private static final class State {
    final Map<String, Snapshot> snapshots = new LinkedHashMap<>();
    final Map<String, PipelineState> pipelineStates = new HashMap<>();
    final Map<String, Run> runs = new LinkedHashMap<>();
    final Map<String, ValidationReport> reports = new HashMap<>();
    final Map<String, List<ModelVersion>> versions = new TreeMap<>();
    final Map<String, Map<String, Integer>> aliases = new HashMap<>();
    final Map<String, List<AliasMove>> aliasMoves = new HashMap<>();
    final Map<String, List<DeploymentEvent>> deploymentEvents = new HashMap<>();
    final Map<String, TrafficSettings> trafficSettings = new TreeMap<>();
    final List<AuditEntry> audit = new ArrayList<>();
    final List<LineageEdge> edges = new ArrayList<>();
    final Map<String, Token> tokens = new LinkedHashMap<>();

    State copy() {
      State copy = new State();
      copy.snapshots.putAll(snapshots);
      copy.pipelineStates.putAll(pipelineStates);
      copy.runs.putAll(runs);
      copy.reports.putAll(reports);
      versions.forEach((k, v) -> copy.versions.put(k, new ArrayList<>(v)));
      aliases.forEach((k, v) -> copy.aliases.put(k, new HashMap<>(v)));
      aliasMoves.forEach((k, v) -> copy.aliasMoves.put(k, new ArrayList<>(v)));
      deploymentEvents.forEach((k, v) -> copy.deploymentEvents.put(k, new ArrayList<>(v)));
      copy.trafficSettings.putAll(trafficSettings);
      copy.audit.addAll(audit);
      copy.edges.addAll(edges);
      copy.tokens.putAll(tokens);
      return copy;
    }
  }

  @Override
  public <T> T inTransaction(Supplier<T> work) {
    lock.lock();
    try {
      if (lock.getHoldCount() > 1) {
        return work.get();
      }
      State before = state.copy();
      long changesBefore = changes;
      try {
        return work.get();
      } catch (RuntimeException | Error e) {
        state = before;
        changes = changesBefore;
        throw e;
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public long changeCounter() {
    return locked(() -> changes);
  }

  @Override
  public boolean insertSnapshot(Snapshot snapshot) {
    return write(
        () -> {
          if (state.snapshots.containsKey(snapshot.id())) {
            return false;
          }
          state.snapshots.put(snapshot.id(), snapshot);
          return true;
        });
  }

  @Override
  public Optional<Snapshot> findSnapshot(String id) {
    return locked(() -> Optional.ofNullable(state.snapshots.get(id)));
  }

  /** Returns all stored snapshots in insertion order. */
  public List<Snapshot> snapshots() {
    return locked(() -> List.copyOf(state.snapshots.values()));
  }

  @Override
  public Optional<PipelineState> findPipelineState(String pipeline) {
    return locked(() -> Optional.ofNullable(state.pipelineStates.get(pipeline)));
  }

  @Override
  public void savePipelineState(PipelineState pipelineState) {
    write(() -> state.pipelineStates.put(pipelineState.pipeline(), pipelineState));
  }

  @Override
  public boolean deletePipelineState(String pipeline) {
    return write(() -> state.pipelineStates.remove(pipeline) != null);
  }

  @Override
  public void insertRun(Run run) {
    write(
        () -> {
          if (state.runs.containsKey(run.id())) {
            throw new EvergreenException(ErrorKind.CONFLICT, "run " + run.id() + " exists");
          }
          return state.runs.put(run.id(), run);
        });
  }

  @Override
  public void updateRun(Run run) {
    write(
        () -> {
          if (!state.runs.containsKey(run.id())) {
            throw EvergreenException.notFound("run " + run.id() + " not found");
          }
          return state.runs.put(run.id(), run);
        });
  }

  @Override
  public Optional<Run> findRun(String id) {
    return locked(() -> Optional.ofNullable(state.runs.get(id)));
  }

  @Override
  public List<Run> listRuns(String pipeline, int limit) {
    return locked(
        () -> {
          List<Run> runs = new ArrayList<>();
          for (Run run : state.runs.values()) {
            if (pipeline == null || pipeline.equals(run.pipeline())) {
              runs.add(0, run);
            }
          }
          runs.sort(
              Comparator.comparing(
                  Run::startedAt, Comparator.nullsLast(Comparator.reverseOrder())));
          return List.copyOf(runs.subList(0, Math.min(limit, runs.size())));
        });
  }

  @Override
  public List<Run> listRunsByStatus(Set<RunStatus> statuses) {
    return locked(
        () -> state.runs.values().stream().filter(r -> statuses.contains(r.status())).toList());
  }

  @Override
  public void saveValidationReport(String runId, ValidationReport report) {
    write(() -> state.reports.put(runId, report));
  }

  @Override
  public Optional<ValidationReport> findValidationReport(String runId) {
    return locked(() -> Optional.ofNullable(state.reports.get(runId)));
  }

  /**
   * Runs {@code hook} inside the transaction that registers each model version, after the version
   * is stored, as another process writing between two steps of a run would.
   */
  public void afterModelVersionInsert(Consumer<ModelVersion> hook) {
    afterModelVersionInsert = hook;
  }

  @Override
  public ModelVersion insertModelVersion(ModelVersion version) {
    ModelVersion stored = insertNumbered(version);
    afterModelVersionInsert.accept(stored);
    return stored;
  }

  private ModelVersion insertNumbered(ModelVersion version) {
    return write(
        () -> {
          List<ModelVersion> versions =
              state.versions.computeIfAbsent(version.model(), k -> new ArrayList<>());
          ModelVersion numbered =
              new ModelVersion(
                  version.model(),
                  versions.size() + 1,
                  version.artifactKey(),
                  version.artifactSha256(),
                  version.runId(),
                  version.snapshotId(),
                  version.metrics(),
                  version.provenance(),
                  version.createdAt());
          versions.add(numbered);
          return numbered;
        });
  }

  @Override
  public Optional<ModelVersion> findModelVersion(String model, int version) {
    return locked(
        () ->
            state.versions.getOrDefault(model, List.of()).stream()
                .filter(v -> v.version() == version)
                .findFirst());
  }

  @Override
  public List<ModelVersion> listModelVersions(String model) {
    return locked(() -> List.copyOf(state.versions.getOrDefault(model, List.of())));
  }

  @Override
  public List<String> listModels() {
    return locked(() -> List.copyOf(state.versions.keySet()));
  }

  @Override
  public Map<String, Integer> aliases(String model) {
    return locked(() -> Map.copyOf(state.aliases.getOrDefault(model, Map.of())));
  }

  @Override
  public void moveAlias(AliasMove move) {
    write(
        () -> {
          Map<String, Integer> aliases =
              state.aliases.computeIfAbsent(move.model(), k -> new HashMap<>());
          if (move.toVersion() == null) {
            aliases.remove(move.alias());
          } else {
            aliases.put(move.alias(), move.toVersion());
          }
          return state.aliasMoves.computeIfAbsent(move.model(), k -> new ArrayList<>()).add(move);
        });
  }

  @Override
  public List<AliasMove> aliasHistory(String model) {
    return locked(() -> List.copyOf(state.aliasMoves.getOrDefault(model, List.of())));
  }

  /**
   * Runs {@code hook} inside the transaction of each deployment event, before the event is stored.
   * A hook that throws fails that transaction, as a full disk or a lost database would.
   */
  public void beforeDeploymentEvent(Consumer<DeploymentEvent> hook) {
    beforeDeploymentEvent = hook;
  }

  @Override
  public void insertDeploymentEvent(DeploymentEvent event) {
    beforeDeploymentEvent.accept(event);
    write(
        () ->
            state
                .deploymentEvents
                .computeIfAbsent(event.model(), k -> new ArrayList<>())
                .add(event));
  }

  @Override
  public List<DeploymentEvent> listDeploymentEvents(String model) {
    return locked(() -> List.copyOf(state.deploymentEvents.getOrDefault(model, List.of())));
  }

  @Override
  public void saveTrafficSlots(
      String model, TrafficSettings.CanarySetting canary, TrafficSettings.ShadowSetting shadow) {
    write(
        () -> {
          TrafficSettings stored = state.trafficSettings.get(model);
          putTrafficSettings(
              new TrafficSettings(
                  model, canary, shadow, stored == null ? null : stored.batching()));
          return null;
        });
  }

  @Override
  public void saveBatching(String model, BatchingSpec batching) {
    write(
        () -> {
          TrafficSettings stored = state.trafficSettings.get(model);
          putTrafficSettings(
              stored == null
                  ? new TrafficSettings(model, null, null, batching)
                  : new TrafficSettings(model, stored.canary(), stored.shadow(), batching));
          return null;
        });
  }

  private void putTrafficSettings(TrafficSettings settings) {
    if (settings.canary() == null && settings.shadow() == null && settings.batching() == null) {
      state.trafficSettings.remove(settings.model());
    } else {
      state.trafficSettings.put(settings.model(), settings);
    }
  }

  @Override
  public List<TrafficSettings> listTrafficSettings() {
    return locked(() -> List.copyOf(state.trafficSettings.values()));
  }

  @Override
  public Optional<TrafficSettings> trafficSettings(String model) {
    return locked(() -> Optional.ofNullable(state.trafficSettings.get(model)));
  }

  @Override
  public void insertAuditEntry(AuditEntry entry) {
    write(() -> state.audit.add(entry));
  }

  @Override
  public Optional<AuditEntry> lastAuditEntry() {
    return locked(
        () ->
            state.audit.isEmpty()
                ? Optional.empty()
                : Optional.of(state.audit.get(state.audit.size() - 1)));
  }

  @Override
  public List<AuditEntry> listAuditEntries(long afterSequence, int limit) {
    return locked(
        () ->
            state.audit.stream()
                .filter(e -> e.sequence() > afterSequence)
                .sorted(Comparator.comparingLong(AuditEntry::sequence))
                .limit(limit)
                .toList());
  }

  @Override
  public void insertLineageEdge(LineageEdge edge) {
    write(() -> state.edges.add(edge));
  }

  @Override
  public List<LineageEdge> lineageEdgesFrom(String kind, String id) {
    return locked(
        () ->
            state.edges.stream()
                .filter(e -> e.fromKind().equals(kind) && e.fromId().equals(id))
                .toList());
  }

  @Override
  public List<LineageEdge> lineageEdgesTo(String kind, String id) {
    return locked(
        () ->
            state.edges.stream()
                .filter(e -> e.toKind().equals(kind) && e.toId().equals(id))
                .toList());
  }

  @Override
  public void insertToken(Token token) {
    write(
        () -> {
          if (state.tokens.containsKey(token.id())) {
            throw new EvergreenException(ErrorKind.CONFLICT, "token " + token.id() + " exists");
          }
          return state.tokens.put(token.id(), token);
        });
  }

  @Override
  public Optional<Token> findTokenBySecretHash(String secretSha256) {
    return locked(
        () ->
            state.tokens.values().stream()
                .filter(t -> t.secretSha256().equals(secretSha256))
                .findFirst());
  }

  @Override
  public List<Token> listTokens() {
    return locked(() -> List.copyOf(state.tokens.values()));
  }

  @Override
  public boolean deleteToken(String id) {
    return write(() -> state.tokens.remove(id) != null);
  }

  @Override
  public void close() {}

  private <T> T locked(Supplier<T> read) {
    lock.lock();
    try {
      return read.get();
    } finally {
      lock.unlock();
    }
  }

  /** Runs a change as its own transaction, so a failing change leaves no partial state. */
  private <T> T write(Supplier<T> change) {
    return inTransaction(
        () -> {
          T result = change.get();
          changes++;
          return result;
        });
  }
}
