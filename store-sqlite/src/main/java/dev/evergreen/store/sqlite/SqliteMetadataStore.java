package dev.evergreen.store.sqlite;

import static dev.evergreen.store.sqlite.Sql.getInstant;
import static dev.evergreen.store.sqlite.Sql.getInteger;
import static dev.evergreen.store.sqlite.Sql.setInstant;
import static dev.evergreen.store.sqlite.Sql.setInteger;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.data.PersonalDataTag;
import dev.evergreen.api.data.Profile;
import dev.evergreen.api.data.Schema;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.lineage.LineageEdge;
import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.BatchingSpec;
import dev.evergreen.api.pipeline.CanarySpec;
import dev.evergreen.api.pipeline.RuleSpec;
import dev.evergreen.api.pipeline.ShadowSpec;
import dev.evergreen.api.run.Provenance;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.api.security.Role;
import dev.evergreen.api.security.Token;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.core.lineage.LineageService;
import dev.evergreen.core.registry.ModelStage;
import dev.evergreen.core.registry.RegisteredModel;
import dev.evergreen.core.registry.VersionMetadata;
import dev.evergreen.core.store.DeploymentEvent;
import dev.evergreen.core.store.MetadataStore;
import dev.evergreen.core.store.PipelineState;
import dev.evergreen.core.store.TrafficSettings;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * {@link MetadataStore} in one SQLite file, shared safely by several processes.
 *
 * <p>The database runs in WAL mode, so readers do not wait for the writer, and with {@code
 * synchronous=FULL}, so a commit is synced to disk before it returns. Every write runs in a
 * transaction that begins with {@code BEGIN IMMEDIATE}, so it holds the write lock from its first
 * statement. Instants are stored as milliseconds since the epoch and read back with millisecond
 * precision.
 */
public final class SqliteMetadataStore implements MetadataStore {
  private static final TypeReference<Map<String, PersonalDataTag>> TAGS = new TypeReference<>() {};
  private static final TypeReference<Map<String, Double>> DOUBLES = new TypeReference<>() {};
  private static final TypeReference<Map<String, String>> STRINGS = new TypeReference<>() {};
  private static final TypeReference<List<RuleSpec>> RULES = new TypeReference<>() {};

  private final SqliteDatabase database;

  private SqliteMetadataStore(SqliteDatabase database) {
    this.database = database;
  }

  /**
   * Opens the database file, creating it and its parent folders when missing, and applies pending
   * schema migrations.
   */
  public static SqliteMetadataStore open(Path databaseFile) {
    return open(databaseFile, SqliteDatabase.BUSY_TIMEOUT_MILLIS);
  }

  /** Opens the store with a shorter busy timeout, so tests can reach the retry path quickly. */
  static SqliteMetadataStore open(Path databaseFile, int busyTimeoutMillis) {
    SqliteDatabase database = SqliteDatabase.open(databaseFile, busyTimeoutMillis);
    try {
      Migrations.apply(database);
    } catch (RuntimeException e) {
      database.close();
      throw e;
    }
    return new SqliteMetadataStore(database);
  }

  /** Returns the absolute path of the database file. */
  public Path file() {
    return database.file();
  }

  SqliteDatabase database() {
    return database;
  }

  @Override
  public <T> T inTransaction(Supplier<T> work) {
    return database.inTransaction(work);
  }

  @Override
  public long changeCounter() {
    return database.changeCounter();
  }

  // Snapshots

  @Override
  public boolean insertSnapshot(Snapshot snapshot) {
    return database.write(
        "insert snapshot " + snapshot.id(),
        connection ->
            Sql.update(
                    connection,
                    "INSERT INTO snapshots (id, source, artifact_key, schema_json, profile_json,"
                        + " tags_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                        + " ON CONFLICT (id) DO NOTHING",
                    statement -> {
                      statement.setString(1, snapshot.id());
                      statement.setString(2, snapshot.source());
                      statement.setString(3, snapshot.artifactKey());
                      statement.setString(4, Json.write(snapshot.schema()));
                      statement.setString(5, Json.write(snapshot.profile()));
                      statement.setString(6, Json.write(snapshot.tags()));
                      setInstant(statement, 7, snapshot.createdAt());
                    })
                == 1);
  }

  @Override
  public Optional<Snapshot> findSnapshot(String id) {
    return database.read(
        "find snapshot " + id,
        connection ->
            Sql.first(
                connection,
                "SELECT * FROM snapshots WHERE id = ?",
                statement -> statement.setString(1, id),
                SqliteMetadataStore::snapshot));
  }

  private static Snapshot snapshot(ResultSet row) throws SQLException {
    return new Snapshot(
        row.getString("id"),
        row.getString("source"),
        row.getString("artifact_key"),
        Json.read(row.getString("schema_json"), Schema.class, "snapshots.schema_json"),
        Json.read(row.getString("profile_json"), Profile.class, "snapshots.profile_json"),
        Json.read(row.getString("tags_json"), TAGS, "snapshots.tags_json"),
        getInstant(row, "created_at"));
  }

  @Override
  public Optional<PipelineState> findPipelineState(String pipeline) {
    return database.read(
        "find the state of pipeline " + pipeline,
        connection ->
            Sql.first(
                connection,
                "SELECT * FROM pipeline_state WHERE pipeline = ?",
                statement -> statement.setString(1, pipeline),
                row ->
                    new PipelineState(
                        row.getString("pipeline"),
                        row.getString("reference_snapshot_id"),
                        Json.read(
                            row.getString("inferred_rules_json"),
                            RULES,
                            "pipeline_state.inferred_rules_json"))));
  }

  @Override
  public void savePipelineState(PipelineState state) {
    database.write(
        "save the state of pipeline " + state.pipeline(),
        connection ->
            Sql.update(
                connection,
                "INSERT INTO pipeline_state (pipeline, reference_snapshot_id, inferred_rules_json)"
                    + " VALUES (?, ?, ?) ON CONFLICT (pipeline) DO UPDATE SET"
                    + " reference_snapshot_id = excluded.reference_snapshot_id,"
                    + " inferred_rules_json = excluded.inferred_rules_json",
                statement -> {
                  statement.setString(1, state.pipeline());
                  statement.setString(2, state.referenceSnapshotId());
                  statement.setString(3, Json.write(state.inferredRules()));
                }));
  }

  @Override
  public boolean deletePipelineState(String pipeline) {
    int deleted =
        database.write(
            "delete the state of pipeline " + pipeline,
            connection ->
                Sql.update(
                    connection,
                    "DELETE FROM pipeline_state WHERE pipeline = ?",
                    statement -> statement.setString(1, pipeline)));
    return deleted > 0;
  }

  // Runs

  private static final String RUN_COLUMNS =
      "id, pipeline, status, outcome, source, snapshot_id, reason, metrics_json,"
          + " step_seconds_json, provenance_json, owner, actor, started_at, finished_at";

  @Override
  public void insertRun(Run run) {
    int inserted =
        database.write(
            "insert run " + run.id(),
            connection ->
                Sql.update(
                    connection,
                    "INSERT INTO runs ("
                        + RUN_COLUMNS
                        + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                        + " ON CONFLICT (id) DO NOTHING",
                    statement -> bindRun(statement, run)));
    if (inserted == 0) {
      throw new EvergreenException(
          ErrorKind.CONFLICT,
          "run " + run.id() + " already exists; update it with updateRun or use a new run id");
    }
  }

  @Override
  public void updateRun(Run run) {
    int updated =
        database.write(
            "update run " + run.id(),
            connection ->
                Sql.update(
                    connection,
                    "UPDATE runs SET id = ?, pipeline = ?, status = ?, outcome = ?, source = ?,"
                        + " snapshot_id = ?, reason = ?, metrics_json = ?, step_seconds_json = ?,"
                        + " provenance_json = ?, owner = ?, actor = ?, started_at = ?,"
                        + " finished_at = ? WHERE id = ?",
                    statement -> {
                      bindRun(statement, run);
                      statement.setString(15, run.id());
                    }));
    if (updated == 0) {
      throw EvergreenException.notFound(
          "run " + run.id() + " not found; insert it with insertRun before updating it");
    }
  }

  /** Binds the 14 columns of {@link #RUN_COLUMNS} in that order. */
  private static void bindRun(PreparedStatement statement, Run run) throws SQLException {
    statement.setString(1, run.id());
    statement.setString(2, run.pipeline());
    statement.setString(3, Sql.name(run.status()));
    statement.setString(4, Sql.name(run.outcome()));
    statement.setString(5, run.source());
    statement.setString(6, run.snapshotId());
    statement.setString(7, run.reason());
    statement.setString(8, Json.write(run.metrics()));
    statement.setString(9, Json.write(run.stepSeconds()));
    statement.setString(10, Json.write(run.provenance()));
    statement.setString(11, run.owner());
    statement.setString(12, run.actor());
    setInstant(statement, 13, run.startedAt());
    setInstant(statement, 14, run.finishedAt());
  }

  private static Run run(ResultSet row) throws SQLException {
    return new Run(
        row.getString("id"),
        row.getString("pipeline"),
        Sql.parse(RunStatus.class, row.getString("status")),
        Sql.parse(RunOutcome.class, row.getString("outcome")),
        row.getString("source"),
        row.getString("snapshot_id"),
        row.getString("reason"),
        Json.read(row.getString("metrics_json"), DOUBLES, "runs.metrics_json"),
        Json.read(row.getString("step_seconds_json"), DOUBLES, "runs.step_seconds_json"),
        Json.read(row.getString("provenance_json"), Provenance.class, "runs.provenance_json"),
        row.getString("owner"),
        row.getString("actor"),
        getInstant(row, "started_at"),
        getInstant(row, "finished_at"));
  }

  @Override
  public Optional<Run> findRun(String id) {
    return database.read(
        "find run " + id,
        connection ->
            Sql.first(
                connection,
                "SELECT * FROM runs WHERE id = ?",
                statement -> statement.setString(1, id),
                SqliteMetadataStore::run));
  }

  /**
   * Returns runs by start time, newest first. Runs that started in the same millisecond come in
   * reverse insertion order, and runs without a start time come last.
   */
  @Override
  public List<Run> listRuns(String pipeline, int limit) {
    requirePositiveLimit(limit);
    String where = pipeline == null ? "" : " WHERE pipeline = ?";
    return database.read(
        "list runs",
        connection ->
            Sql.list(
                connection,
                "SELECT * FROM runs" + where + " ORDER BY started_at DESC, seq DESC LIMIT ?",
                statement -> {
                  int index = 1;
                  if (pipeline != null) {
                    statement.setString(index++, pipeline);
                  }
                  statement.setInt(index, limit);
                },
                SqliteMetadataStore::run));
  }

  /** Returns the runs with any of the statuses, oldest first (by start time, then insertion). */
  @Override
  public List<Run> listRunsByStatus(Set<RunStatus> statuses) {
    if (statuses.isEmpty()) {
      return List.of();
    }
    List<RunStatus> values = List.copyOf(statuses);
    String placeholders = String.join(", ", Collections.nCopies(values.size(), "?"));
    return database.read(
        "list runs by status",
        connection ->
            Sql.list(
                connection,
                "SELECT * FROM runs WHERE status IN ("
                    + placeholders
                    + ") ORDER BY started_at, seq",
                statement -> {
                  for (int i = 0; i < values.size(); i++) {
                    statement.setString(i + 1, values.get(i).name());
                  }
                },
                SqliteMetadataStore::run));
  }

  /** Stores the report of a run, replacing an earlier one; the run must exist. */
  @Override
  public void saveValidationReport(String runId, ValidationReport report) {
    database.write(
        "save the validation report of run " + runId,
        connection -> {
          if (!Sql.exists(
              connection,
              "SELECT 1 FROM runs WHERE id = ?",
              statement -> statement.setString(1, runId))) {
            throw EvergreenException.notFound(
                "run " + runId + " not found; insert the run before saving its validation report");
          }
          return Sql.update(
              connection,
              "INSERT INTO validation_reports (run_id, snapshot_id, report_json) VALUES (?, ?, ?)"
                  + " ON CONFLICT (run_id) DO UPDATE SET snapshot_id = excluded.snapshot_id,"
                  + " report_json = excluded.report_json",
              statement -> {
                statement.setString(1, runId);
                statement.setString(2, report.snapshotId());
                statement.setString(3, Json.write(report));
              });
        });
  }

  @Override
  public Optional<ValidationReport> findValidationReport(String runId) {
    return database.read(
        "find the validation report of run " + runId,
        connection ->
            Sql.first(
                connection,
                "SELECT report_json FROM validation_reports WHERE run_id = ?",
                statement -> statement.setString(1, runId),
                row ->
                    Json.read(
                        row.getString(1),
                        ValidationReport.class,
                        "validation_reports.report_json")));
  }

  // Registry

  @Override
  public ModelVersion insertModelVersion(ModelVersion version) {
    Objects.requireNonNull(version.model(), "model");
    return database.write(
        "insert a version of model " + version.model(),
        connection -> {
          Sql.update(
              connection,
              "INSERT INTO registered_models (name, created_at, updated_at) VALUES (?, ?, ?)"
                  + " ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at,"
                  // A deleted model comes back as new: created now, without description.
                  + " created_at = CASE WHEN deleted_at IS NULL THEN created_at"
                  + " ELSE excluded.created_at END,"
                  + " description = CASE WHEN deleted_at IS NULL THEN description ELSE '' END,"
                  + " deleted_at = NULL",
              statement -> {
                Instant at = version.createdAt() == null ? Instant.now() : version.createdAt();
                statement.setString(1, version.model());
                setInstant(statement, 2, at);
                setInstant(statement, 3, at);
              });
          int number =
              Sql.first(
                      connection,
                      "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE model = ?",
                      statement -> statement.setString(1, version.model()),
                      row -> row.getInt(1))
                  .orElseThrow();
          ModelVersion numbered =
              new ModelVersion(
                  version.model(),
                  number,
                  version.artifactKey(),
                  version.artifactSha256(),
                  version.runId(),
                  version.snapshotId(),
                  version.metrics(),
                  version.provenance(),
                  version.createdAt());
          Sql.update(
              connection,
              "INSERT INTO model_versions (model, version, artifact_key, artifact_sha256, run_id,"
                  + " snapshot_id, metrics_json, provenance_json, created_at)"
                  + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
              statement -> {
                statement.setString(1, numbered.model());
                statement.setInt(2, numbered.version());
                statement.setString(3, numbered.artifactKey());
                statement.setString(4, numbered.artifactSha256());
                statement.setString(5, numbered.runId());
                statement.setString(6, numbered.snapshotId());
                statement.setString(7, Json.write(numbered.metrics()));
                statement.setString(8, Json.write(numbered.provenance()));
                setInstant(statement, 9, numbered.createdAt());
              });
          return numbered;
        });
  }

  private static ModelVersion modelVersion(ResultSet row) throws SQLException {
    return new ModelVersion(
        row.getString("model"),
        row.getInt("version"),
        row.getString("artifact_key"),
        row.getString("artifact_sha256"),
        row.getString("run_id"),
        row.getString("snapshot_id"),
        Json.read(row.getString("metrics_json"), DOUBLES, "model_versions.metrics_json"),
        Json.read(
            row.getString("provenance_json"), Provenance.class, "model_versions.provenance_json"),
        getInstant(row, "created_at"));
  }

  @Override
  public Optional<ModelVersion> findModelVersion(String model, int version) {
    return database.read(
        "find version " + version + " of model " + model,
        connection -> findModelVersion(connection, model, version));
  }

  private static Optional<ModelVersion> findModelVersion(
      Connection connection, String model, int version) throws SQLException {
    return Sql.first(
        connection,
        "SELECT * FROM model_versions WHERE model = ? AND version = ? AND deleted_at IS NULL",
        statement -> {
          statement.setString(1, model);
          statement.setInt(2, version);
        },
        SqliteMetadataStore::modelVersion);
  }

  @Override
  public List<ModelVersion> listModelVersions(String model) {
    return database.read(
        "list versions of model " + model,
        connection ->
            Sql.list(
                connection,
                "SELECT * FROM model_versions WHERE model = ? AND deleted_at IS NULL"
                    + " ORDER BY version",
                statement -> statement.setString(1, model),
                SqliteMetadataStore::modelVersion));
  }

  @Override
  public List<String> listModels() {
    return database.read(
        "list models",
        connection ->
            Sql.list(
                connection,
                "SELECT name FROM registered_models WHERE deleted_at IS NULL ORDER BY name",
                statement -> {},
                row -> row.getString(1)));
  }

  /** Returns alias name to version, ordered by alias name. */
  @Override
  public Map<String, Integer> aliases(String model) {
    return database.read(
        "list aliases of model " + model, connection -> aliases(connection, model));
  }

  private static Map<String, Integer> aliases(Connection connection, String model)
      throws SQLException {
    Map<String, Integer> aliases = new LinkedHashMap<>();
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT alias, version FROM aliases WHERE model = ? ORDER BY alias")) {
      statement.setString(1, model);
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          aliases.put(rows.getString(1), rows.getInt(2));
        }
      }
    }
    return Collections.unmodifiableMap(aliases);
  }

  /**
   * Applies an alias move and appends it to the history in one transaction. The move's {@code
   * fromVersion} must match the stored alias, so a move computed from stale state is rejected with
   * CONFLICT instead of recording a history that skips a step.
   */
  @Override
  public void moveAlias(AliasMove move) {
    database.write(
        "move alias " + move.alias() + " of model " + move.model(),
        connection -> {
          checkAliasMove(connection, move);
          if (move.toVersion() == null) {
            Sql.update(
                connection,
                "DELETE FROM aliases WHERE model = ? AND alias = ?",
                statement -> {
                  statement.setString(1, move.model());
                  statement.setString(2, move.alias());
                });
          } else {
            Sql.update(
                connection,
                "INSERT INTO aliases (model, alias, version) VALUES (?, ?, ?)"
                    + " ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version",
                statement -> {
                  statement.setString(1, move.model());
                  statement.setString(2, move.alias());
                  statement.setInt(3, move.toVersion());
                });
          }
          return Sql.update(
              connection,
              "INSERT INTO alias_moves (model, alias, from_version, to_version, actor, reason, at)"
                  + " VALUES (?, ?, ?, ?, ?, ?, ?)",
              statement -> {
                statement.setString(1, move.model());
                statement.setString(2, move.alias());
                setInteger(statement, 3, move.fromVersion());
                setInteger(statement, 4, move.toVersion());
                statement.setString(5, move.actor());
                statement.setString(6, move.reason());
                setInstant(statement, 7, move.at());
              });
        });
  }

  private static void checkAliasMove(Connection connection, AliasMove move) throws SQLException {
    if (!Sql.exists(
        connection,
        "SELECT 1 FROM registered_models WHERE name = ? AND deleted_at IS NULL",
        statement -> statement.setString(1, move.model()))) {
      throw EvergreenException.notFound(
          "cannot move alias '"
              + move.alias()
              + "': model '"
              + move.model()
              + "' is not registered");
    }
    if (move.toVersion() != null
        && findModelVersion(connection, move.model(), move.toVersion()).isEmpty()) {
      throw EvergreenException.notFound(
          "cannot move alias '"
              + move.alias()
              + "': model '"
              + move.model()
              + "' has no version "
              + move.toVersion()
              + "; register the version first or pick one from the model's version list");
    }
    Integer current = aliases(connection, move.model()).get(move.alias());
    if (!Objects.equals(current, move.fromVersion())) {
      throw new EvergreenException(
          ErrorKind.CONFLICT,
          "alias '"
              + move.alias()
              + "' of model '"
              + move.model()
              + "' points to version "
              + (current == null ? "none" : current)
              + ", but the move starts from version "
              + (move.fromVersion() == null ? "none" : move.fromVersion())
              + "; read the aliases again and retry the move");
    }
  }

  /** Returns every alias move of a model in the order they were stored. */
  @Override
  public List<AliasMove> aliasHistory(String model) {
    return database.read(
        "list alias moves of model " + model,
        connection ->
            Sql.list(
                connection,
                "SELECT * FROM alias_moves WHERE model = ? ORDER BY seq",
                statement -> statement.setString(1, model),
                row ->
                    new AliasMove(
                        row.getString("model"),
                        row.getString("alias"),
                        getInteger(row, "from_version"),
                        getInteger(row, "to_version"),
                        row.getString("actor"),
                        row.getString("reason"),
                        getInstant(row, "at"))));
  }

  // Registry metadata

  @Override
  public Optional<RegisteredModel> findRegisteredModel(String name) {
    return database.read(
        "find registered model " + name, connection -> findRegisteredModel(connection, name));
  }

  private static Optional<RegisteredModel> findRegisteredModel(Connection connection, String name)
      throws SQLException {
    Map<String, String> tags =
        tags(
            connection,
            "SELECT key, value FROM registered_model_tags WHERE model = ? ORDER BY key",
            statement -> statement.setString(1, name));
    return Sql.first(
        connection,
        "SELECT m.name, m.description, m.created_at, COALESCE(m.updated_at, (SELECT"
            + " MAX(v.created_at) FROM model_versions v WHERE v.model = m.name AND v.deleted_at IS"
            + " NULL), m.created_at) AS updated FROM registered_models m"
            + " WHERE m.name = ? AND m.deleted_at IS NULL",
        statement -> statement.setString(1, name),
        row ->
            new RegisteredModel(
                row.getString("name"),
                row.getString("description"),
                tags,
                getInstant(row, "created_at"),
                getInstant(row, "updated")));
  }

  @Override
  public void insertRegisteredModel(RegisteredModel model) {
    database.write(
        "insert registered model " + model.name(),
        connection -> {
          // Empty when the name was never used, else whether the model with that name is deleted.
          Optional<Boolean> deleted =
              Sql.first(
                  connection,
                  "SELECT deleted_at IS NOT NULL FROM registered_models WHERE name = ?",
                  statement -> statement.setString(1, model.name()),
                  row -> row.getBoolean(1));
          if (deleted.isPresent() && !deleted.get()) {
            throw new EvergreenException(
                ErrorKind.ALREADY_EXISTS,
                "registered model '" + model.name() + "' already exists; choose another name");
          }
          Sql.update(
              connection,
              deleted.isEmpty()
                  ? "INSERT INTO registered_models (description, created_at, updated_at, name)"
                      + " VALUES (?, ?, ?, ?)"
                  : "UPDATE registered_models SET description = ?, created_at = ?, updated_at = ?,"
                      + " deleted_at = NULL WHERE name = ?",
              statement -> {
                statement.setString(1, model.description());
                setInstant(statement, 2, model.createdAt());
                setInstant(statement, 3, model.updatedAt());
                statement.setString(4, model.name());
              });
          replaceModelTags(connection, model.name(), model.tags());
          return null;
        });
  }

  @Override
  public void updateRegisteredModel(RegisteredModel model) {
    database.write(
        "update registered model " + model.name(),
        connection -> {
          int updated =
              Sql.update(
                  connection,
                  "UPDATE registered_models SET description = ?, updated_at = ?"
                      + " WHERE name = ? AND deleted_at IS NULL",
                  statement -> {
                    statement.setString(1, model.description());
                    setInstant(statement, 2, model.updatedAt());
                    statement.setString(3, model.name());
                  });
          if (updated == 0) {
            throw modelNotFound(model.name());
          }
          replaceModelTags(connection, model.name(), model.tags());
          return null;
        });
  }

  /**
   * Renames every row that names the model. Foreign keys are checked at commit ({@code
   * defer_foreign_keys}), because the referenced and the referencing rows change one after the
   * other.
   */
  @Override
  public void renameRegisteredModel(String name, String newName, Instant at) {
    database.write(
        "rename registered model " + name + " to " + newName,
        connection -> {
          if (findRegisteredModel(connection, name).isEmpty()) {
            throw modelNotFound(name);
          }
          if (Sql.exists(
              connection,
              "SELECT 1 FROM registered_models WHERE name = ?",
              statement -> statement.setString(1, newName))) {
            throw new EvergreenException(
                ErrorKind.ALREADY_EXISTS,
                "registered model '"
                    + newName
                    + "' already exists, or existed and was deleted, which keeps its name"
                    + " reserved; choose another name");
          }
          try (Statement pragma = connection.createStatement()) {
            pragma.execute("PRAGMA defer_foreign_keys = ON");
          }
          Sql.update(
              connection,
              "UPDATE registered_models SET name = ?, updated_at = ? WHERE name = ?",
              statement -> {
                statement.setString(1, newName);
                setInstant(statement, 2, at);
                statement.setString(3, name);
              });
          for (String table :
              List.of(
                  "model_versions",
                  "aliases",
                  "alias_moves",
                  "deployment_events",
                  "traffic_settings",
                  "registered_model_tags",
                  "model_version_tags")) {
            Sql.update(
                connection,
                "UPDATE " + table + " SET model = ? WHERE model = ?",
                statement -> {
                  statement.setString(1, newName);
                  statement.setString(2, name);
                });
          }
          // Version lineage ids are "<model>:<version>".
          for (String side : List.of("from", "to")) {
            Sql.update(
                connection,
                "UPDATE lineage_edges SET "
                    + side
                    + "_id = ? || substr("
                    + side
                    + "_id, ?) WHERE "
                    + side
                    + "_kind = ? AND substr("
                    + side
                    + "_id, 1, ?) = ?",
                statement -> {
                  statement.setString(1, newName + ":");
                  statement.setInt(2, name.length() + 2);
                  statement.setString(3, LineageService.MODEL_VERSION);
                  statement.setInt(4, name.length() + 1);
                  statement.setString(5, name + ":");
                });
          }
          return null;
        });
  }

  @Override
  public void deleteRegisteredModel(String name, Instant at) {
    database.write(
        "delete registered model " + name,
        connection -> {
          Map<String, Integer> aliases = aliases(connection, name);
          if (!aliases.isEmpty()) {
            throw EvergreenException.invalid(
                "registered model '"
                    + name
                    + "' still has aliases "
                    + aliases.keySet()
                    + "; delete them before deleting the model");
          }
          int updated =
              Sql.update(
                  connection,
                  "UPDATE registered_models SET deleted_at = ?, updated_at = ?, description = ''"
                      + " WHERE name = ? AND deleted_at IS NULL",
                  statement -> {
                    setInstant(statement, 1, at);
                    setInstant(statement, 2, at);
                    statement.setString(3, name);
                  });
          if (updated == 0) {
            throw modelNotFound(name);
          }
          Sql.update(
              connection,
              "UPDATE model_versions SET deleted_at = ?, updated_at = ?"
                  + " WHERE model = ? AND deleted_at IS NULL",
              statement -> {
                setInstant(statement, 1, at);
                setInstant(statement, 2, at);
                statement.setString(3, name);
              });
          for (String table :
              List.of("registered_model_tags", "model_version_tags", "traffic_settings")) {
            Sql.update(
                connection,
                "DELETE FROM " + table + " WHERE model = ?",
                statement -> statement.setString(1, name));
          }
          return null;
        });
  }

  @Override
  public Optional<VersionMetadata> findVersionMetadata(String model, int version) {
    return database.read(
        "find the metadata of version " + version + " of model " + model,
        connection -> {
          Map<String, String> tags =
              tags(
                  connection,
                  "SELECT key, value FROM model_version_tags WHERE model = ? AND version = ?"
                      + " ORDER BY key",
                  statement -> {
                    statement.setString(1, model);
                    statement.setInt(2, version);
                  });
          return Sql.first(
              connection,
              "SELECT description, stage, source, COALESCE(updated_at, created_at) AS updated"
                  + " FROM model_versions WHERE model = ? AND version = ? AND deleted_at IS NULL",
              statement -> {
                statement.setString(1, model);
                statement.setInt(2, version);
              },
              row ->
                  new VersionMetadata(
                      row.getString("description"),
                      ModelStage.parse(row.getString("stage")),
                      row.getString("source"),
                      tags,
                      getInstant(row, "updated")));
        });
  }

  @Override
  public void updateVersionMetadata(String model, int version, VersionMetadata metadata) {
    database.write(
        "update version " + version + " of model " + model,
        connection -> {
          int updated =
              Sql.update(
                  connection,
                  "UPDATE model_versions SET description = ?, stage = ?, source = ?,"
                      + " updated_at = ? WHERE model = ? AND version = ? AND deleted_at IS NULL",
                  statement -> {
                    statement.setString(1, metadata.description());
                    statement.setString(2, metadata.stage().mlflowName());
                    statement.setString(3, metadata.source());
                    setInstant(statement, 4, metadata.updatedAt());
                    statement.setString(5, model);
                    statement.setInt(6, version);
                  });
          if (updated == 0) {
            throw versionNotFound(model, version);
          }
          Sql.update(
              connection,
              "DELETE FROM model_version_tags WHERE model = ? AND version = ?",
              statement -> {
                statement.setString(1, model);
                statement.setInt(2, version);
              });
          for (Map.Entry<String, String> tag : metadata.tags().entrySet()) {
            Sql.update(
                connection,
                "INSERT INTO model_version_tags (model, version, key, value) VALUES (?, ?, ?, ?)",
                statement -> {
                  statement.setString(1, model);
                  statement.setInt(2, version);
                  statement.setString(3, tag.getKey());
                  statement.setString(4, tag.getValue());
                });
          }
          return null;
        });
  }

  @Override
  public void deleteModelVersion(String model, int version, Instant at) {
    database.write(
        "delete version " + version + " of model " + model,
        connection -> {
          List<String> targeting = new ArrayList<>();
          aliases(connection, model)
              .forEach(
                  (alias, target) -> {
                    if (target == version) {
                      targeting.add("'" + alias + "'");
                    }
                  });
          if (!targeting.isEmpty()) {
            throw EvergreenException.invalid(
                "version "
                    + version
                    + " of model '"
                    + model
                    + "' is the target of alias "
                    + String.join(", ", targeting)
                    + "; move or delete the alias before deleting the version");
          }
          int updated =
              Sql.update(
                  connection,
                  "UPDATE model_versions SET deleted_at = ?, updated_at = ?"
                      + " WHERE model = ? AND version = ? AND deleted_at IS NULL",
                  statement -> {
                    setInstant(statement, 1, at);
                    setInstant(statement, 2, at);
                    statement.setString(3, model);
                    statement.setInt(4, version);
                  });
          if (updated == 0) {
            throw versionNotFound(model, version);
          }
          return Sql.update(
              connection,
              "DELETE FROM model_version_tags WHERE model = ? AND version = ?",
              statement -> {
                statement.setString(1, model);
                statement.setInt(2, version);
              });
        });
  }

  private static void replaceModelTags(
      Connection connection, String model, Map<String, String> tags) throws SQLException {
    Sql.update(
        connection,
        "DELETE FROM registered_model_tags WHERE model = ?",
        statement -> statement.setString(1, model));
    for (Map.Entry<String, String> tag : tags.entrySet()) {
      Sql.update(
          connection,
          "INSERT INTO registered_model_tags (model, key, value) VALUES (?, ?, ?)",
          statement -> {
            statement.setString(1, model);
            statement.setString(2, tag.getKey());
            statement.setString(3, tag.getValue());
          });
    }
  }

  private static Map<String, String> tags(Connection connection, String sql, Sql.Binder binder)
      throws SQLException {
    Map<String, String> tags = new LinkedHashMap<>();
    for (String[] tag :
        Sql.list(
            connection, sql, binder, row -> new String[] {row.getString(1), row.getString(2)})) {
      tags.put(tag[0], tag[1]);
    }
    return tags;
  }

  private static EvergreenException modelNotFound(String name) {
    return EvergreenException.notFound(
        "registered model '" + name + "' does not exist; search registered models for names");
  }

  private static EvergreenException versionNotFound(String model, int version) {
    return EvergreenException.notFound(
        "model '" + model + "' has no version " + version + "; search model versions for numbers");
  }

  @Override
  public void insertDeploymentEvent(DeploymentEvent event) {
    int inserted =
        database.write(
            "insert deployment event " + event.id(),
            connection ->
                Sql.update(
                    connection,
                    "INSERT INTO deployment_events (id, model, version, previous_version, kind,"
                        + " actor, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                        + " ON CONFLICT (id) DO NOTHING",
                    statement -> {
                      statement.setString(1, event.id());
                      statement.setString(2, event.model());
                      statement.setInt(3, event.version());
                      setInteger(statement, 4, event.previousVersion());
                      statement.setString(5, event.kind());
                      statement.setString(6, event.actor());
                      statement.setString(7, event.detail());
                      setInstant(statement, 8, event.at());
                    }));
    if (inserted == 0) {
      throw new EvergreenException(
          ErrorKind.CONFLICT,
          "deployment event " + event.id() + " already exists; give each event a new id");
    }
  }

  /** Returns the deployment events of a model in the order they were stored. */
  @Override
  public List<DeploymentEvent> listDeploymentEvents(String model) {
    return database.read(
        "list deployment events of model " + model,
        connection ->
            Sql.list(
                connection,
                "SELECT * FROM deployment_events WHERE model = ? ORDER BY seq",
                statement -> statement.setString(1, model),
                row ->
                    new DeploymentEvent(
                        row.getString("id"),
                        row.getString("model"),
                        row.getInt("version"),
                        getInteger(row, "previous_version"),
                        row.getString("kind"),
                        row.getString("actor"),
                        row.getString("detail"),
                        getInstant(row, "at"))));
  }

  @Override
  public void saveTrafficSlots(
      String model, TrafficSettings.CanarySetting canary, TrafficSettings.ShadowSetting shadow) {
    database.write(
        "save canary and shadow of model " + model,
        connection -> {
          Sql.update(
              connection,
              "INSERT INTO traffic_settings (model, canary_version, canary_json, shadow_version,"
                  + " shadow_json) VALUES (?, ?, ?, ?, ?) ON CONFLICT (model) DO UPDATE SET"
                  + " canary_version = excluded.canary_version, canary_json ="
                  + " excluded.canary_json, shadow_version = excluded.shadow_version,"
                  + " shadow_json = excluded.shadow_json",
              statement -> {
                statement.setString(1, model);
                setInteger(statement, 2, canary == null ? null : canary.version());
                statement.setString(3, canary == null ? null : Json.write(canary.spec()));
                setInteger(statement, 4, shadow == null ? null : shadow.version());
                statement.setString(5, shadow == null ? null : Json.write(shadow.spec()));
              });
          deleteEmptyTrafficSettings(connection, model);
          return null;
        });
  }

  @Override
  public void saveBatching(String model, BatchingSpec batching) {
    database.write(
        "save batching of model " + model,
        connection -> {
          Sql.update(
              connection,
              "INSERT INTO traffic_settings (model, batching_json) VALUES (?, ?)"
                  + " ON CONFLICT (model) DO UPDATE SET batching_json = excluded.batching_json",
              statement -> {
                statement.setString(1, model);
                statement.setString(2, Json.write(batching));
              });
          deleteEmptyTrafficSettings(connection, model);
          return null;
        });
  }

  private static void deleteEmptyTrafficSettings(Connection connection, String model)
      throws SQLException {
    Sql.update(
        connection,
        "DELETE FROM traffic_settings WHERE model = ? AND canary_version IS NULL"
            + " AND shadow_version IS NULL AND batching_json IS NULL",
        statement -> statement.setString(1, model));
  }

  @Override
  public List<TrafficSettings> listTrafficSettings() {
    return database.read(
        "list traffic settings",
        connection ->
            Sql.list(
                connection,
                "SELECT * FROM traffic_settings ORDER BY model",
                statement -> {},
                SqliteMetadataStore::trafficSettings));
  }

  @Override
  public Optional<TrafficSettings> trafficSettings(String model) {
    return database.read(
        "read traffic settings of model " + model,
        connection ->
            Sql.first(
                connection,
                "SELECT * FROM traffic_settings WHERE model = ?",
                statement -> statement.setString(1, model),
                SqliteMetadataStore::trafficSettings));
  }

  private static TrafficSettings trafficSettings(ResultSet row) throws SQLException {
    Integer canaryVersion = getInteger(row, "canary_version");
    Integer shadowVersion = getInteger(row, "shadow_version");
    return new TrafficSettings(
        row.getString("model"),
        canaryVersion == null
            ? null
            : new TrafficSettings.CanarySetting(
                canaryVersion,
                Json.read(
                    row.getString("canary_json"),
                    CanarySpec.class,
                    "traffic_settings.canary_json")),
        shadowVersion == null
            ? null
            : new TrafficSettings.ShadowSetting(
                shadowVersion,
                Json.read(
                    row.getString("shadow_json"),
                    ShadowSpec.class,
                    "traffic_settings.shadow_json")),
        Json.read(
            row.getString("batching_json"), BatchingSpec.class, "traffic_settings.batching_json"));
  }

  // Audit

  /**
   * Appends an audit entry. Its time must have millisecond precision, because the store keeps only
   * milliseconds and the entry's hash covers the time. An entry whose sequence is already stored is
   * rejected with CONFLICT.
   */
  @Override
  public void insertAuditEntry(AuditEntry entry) {
    if (entry.at().getNano() % 1_000_000 != 0) {
      throw EvergreenException.invalid(
          "audit entry "
              + entry.sequence()
              + " has time "
              + entry.at()
              + " with sub-millisecond digits, which the store cannot keep, so its hash would no"
              + " longer match; truncate the time to milliseconds before hashing");
    }
    int inserted =
        database.write(
            "insert audit entry " + entry.sequence(),
            connection ->
                Sql.update(
                    connection,
                    "INSERT INTO audit_log (sequence, at, actor, action, targets_json,"
                        + " details_json, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                        + " ON CONFLICT (sequence) DO NOTHING",
                    statement -> {
                      statement.setLong(1, entry.sequence());
                      setInstant(statement, 2, entry.at());
                      statement.setString(3, entry.actor());
                      statement.setString(4, entry.action());
                      statement.setString(5, Json.write(entry.targets()));
                      statement.setString(6, Json.write(entry.details()));
                      statement.setString(7, entry.previousHash());
                      statement.setString(8, entry.hash());
                    }));
    if (inserted == 0) {
      throw new EvergreenException(
          ErrorKind.CONFLICT,
          "audit entry "
              + entry.sequence()
              + " already exists; compute the next sequence from lastAuditEntry inside the same"
              + " transaction as the insert");
    }
  }

  private static AuditEntry auditEntry(ResultSet row) throws SQLException {
    return new AuditEntry(
        row.getLong("sequence"),
        getInstant(row, "at"),
        row.getString("actor"),
        row.getString("action"),
        Json.read(row.getString("targets_json"), STRINGS, "audit_log.targets_json"),
        Json.read(row.getString("details_json"), STRINGS, "audit_log.details_json"),
        row.getString("previous_hash"),
        row.getString("hash"));
  }

  @Override
  public Optional<AuditEntry> lastAuditEntry() {
    return database.read(
        "find the last audit entry",
        connection ->
            Sql.first(
                connection,
                "SELECT * FROM audit_log ORDER BY sequence DESC LIMIT 1",
                statement -> {},
                SqliteMetadataStore::auditEntry));
  }

  @Override
  public List<AuditEntry> listAuditEntries(long afterSequence, int limit) {
    requirePositiveLimit(limit);
    return database.read(
        "list audit entries after " + afterSequence,
        connection ->
            Sql.list(
                connection,
                "SELECT * FROM audit_log WHERE sequence > ? ORDER BY sequence LIMIT ?",
                statement -> {
                  statement.setLong(1, afterSequence);
                  statement.setInt(2, limit);
                },
                SqliteMetadataStore::auditEntry));
  }

  // Lineage

  /** Stores an edge; an edge already stored is kept with its first time. */
  @Override
  public void insertLineageEdge(LineageEdge edge) {
    database.write(
        "insert lineage edge " + edge.fromId() + " -> " + edge.toId(),
        connection ->
            Sql.update(
                connection,
                "INSERT INTO lineage_edges (from_kind, from_id, to_kind, to_id, at)"
                    + " VALUES (?, ?, ?, ?, ?)"
                    + " ON CONFLICT (from_kind, from_id, to_kind, to_id) DO NOTHING",
                statement -> {
                  statement.setString(1, edge.fromKind());
                  statement.setString(2, edge.fromId());
                  statement.setString(3, edge.toKind());
                  statement.setString(4, edge.toId());
                  setInstant(statement, 5, edge.at());
                }));
  }

  /** Returns the edges leaving a node in the order they were stored. */
  @Override
  public List<LineageEdge> lineageEdgesFrom(String kind, String id) {
    return lineageEdges("from_kind = ? AND from_id = ?", kind, id);
  }

  /** Returns the edges entering a node in the order they were stored. */
  @Override
  public List<LineageEdge> lineageEdgesTo(String kind, String id) {
    return lineageEdges("to_kind = ? AND to_id = ?", kind, id);
  }

  private List<LineageEdge> lineageEdges(String condition, String kind, String id) {
    return database.read(
        "list lineage edges of " + kind + " " + id,
        connection ->
            Sql.list(
                connection,
                "SELECT * FROM lineage_edges WHERE " + condition + " ORDER BY seq",
                statement -> {
                  statement.setString(1, kind);
                  statement.setString(2, id);
                },
                row ->
                    new LineageEdge(
                        row.getString("from_kind"),
                        row.getString("from_id"),
                        row.getString("to_kind"),
                        row.getString("to_id"),
                        getInstant(row, "at"))));
  }

  // Tokens

  /** Stores a token; a token whose id or secret hash is already stored is rejected. */
  @Override
  public void insertToken(Token token) {
    database.write(
        "insert token " + token.id(),
        connection -> {
          if (Sql.exists(
              connection,
              "SELECT 1 FROM tokens WHERE id = ? OR secret_sha256 = ?",
              statement -> {
                statement.setString(1, token.id());
                statement.setString(2, token.secretSha256());
              })) {
            throw new EvergreenException(
                ErrorKind.CONFLICT,
                "a token with id "
                    + token.id()
                    + " or with the same secret already exists; create the token with a new id"
                    + " and secret");
          }
          return Sql.update(
              connection,
              "INSERT INTO tokens (id, name, role, secret_sha256, created_at)"
                  + " VALUES (?, ?, ?, ?, ?)",
              statement -> {
                statement.setString(1, token.id());
                statement.setString(2, token.name());
                statement.setString(3, Sql.name(token.role()));
                statement.setString(4, token.secretSha256());
                setInstant(statement, 5, token.createdAt());
              });
        });
  }

  private static Token token(ResultSet row) throws SQLException {
    return new Token(
        row.getString("id"),
        row.getString("name"),
        Sql.parse(Role.class, row.getString("role")),
        row.getString("secret_sha256"),
        getInstant(row, "created_at"));
  }

  @Override
  public Optional<Token> findTokenBySecretHash(String secretSha256) {
    return database.read(
        "find a token by secret hash",
        connection ->
            Sql.first(
                connection,
                "SELECT * FROM tokens WHERE secret_sha256 = ?",
                statement -> statement.setString(1, secretSha256),
                SqliteMetadataStore::token));
  }

  /** Returns all tokens in the order they were created. */
  @Override
  public List<Token> listTokens() {
    return database.read(
        "list tokens",
        connection ->
            Sql.list(
                connection,
                "SELECT * FROM tokens ORDER BY seq",
                statement -> {},
                SqliteMetadataStore::token));
  }

  @Override
  public boolean deleteToken(String id) {
    return database.write(
            "delete token " + id,
            connection ->
                Sql.update(
                    connection,
                    "DELETE FROM tokens WHERE id = ?",
                    statement -> statement.setString(1, id)))
        == 1;
  }

  @Override
  public void close() {
    database.close();
  }

  private static void requirePositiveLimit(int limit) {
    if (limit < 1) {
      throw EvergreenException.invalid("limit " + limit + " is invalid; pass 1 or more");
    }
  }
}
