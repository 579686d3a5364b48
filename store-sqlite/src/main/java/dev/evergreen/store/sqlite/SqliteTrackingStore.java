package dev.evergreen.store.sqlite;

import static dev.evergreen.store.sqlite.Sql.getInstant;
import static dev.evergreen.store.sqlite.Sql.setInstant;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.core.tracking.Dataset;
import dev.evergreen.core.tracking.DatasetInput;
import dev.evergreen.core.tracking.Experiment;
import dev.evergreen.core.tracking.LifecycleStage;
import dev.evergreen.core.tracking.MetricPoint;
import dev.evergreen.core.tracking.SearchFilter;
import dev.evergreen.core.tracking.TrackedRun;
import dev.evergreen.core.tracking.TrackingStore;
import dev.evergreen.core.tracking.ViewType;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * {@link TrackingStore} in the database of a {@link SqliteMetadataStore}, so that a transaction of
 * either store covers both, and a tracking change and its audit entry commit together.
 */
public final class SqliteTrackingStore implements TrackingStore {
  /**
   * Replaces the stored latest point of a metric when the new point is later by {@link
   * MetricPoint#isLaterThan}: a NULL value is NaN, which ranks above every number.
   */
  private static final String UPSERT_LATEST_METRIC =
      "INSERT INTO latest_metrics (run_id, key, value, timestamp, step) VALUES (?, ?, ?, ?, ?)"
          + " ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value,"
          + " timestamp = excluded.timestamp, step = excluded.step"
          + " WHERE excluded.step > latest_metrics.step"
          + " OR (excluded.step = latest_metrics.step"
          + " AND (excluded.timestamp > latest_metrics.timestamp"
          + " OR (excluded.timestamp = latest_metrics.timestamp"
          + " AND ((excluded.value IS NULL AND latest_metrics.value IS NOT NULL)"
          + " OR excluded.value > latest_metrics.value))))";

  private final SqliteDatabase database;

  public SqliteTrackingStore(SqliteMetadataStore metadata) {
    this.database = metadata.database();
  }

  @Override
  public <T> T inTransaction(Supplier<T> work) {
    return database.inTransaction(work);
  }

  // Experiments

  @Override
  public Experiment insertExperiment(
      String name,
      String artifactLocation,
      String pipeline,
      Map<String, String> tags,
      Instant createdAt) {
    return database.write(
        "insert experiment " + name,
        connection -> {
          if (Sql.exists(
              connection,
              "SELECT 1 FROM experiments WHERE name = ?",
              statement -> statement.setString(1, name))) {
            throw new EvergreenException(
                ErrorKind.ALREADY_EXISTS,
                "experiment '" + name + "' already exists; choose another name");
          }
          long id;
          try (PreparedStatement insert =
              connection.prepareStatement(
                  "INSERT INTO experiments (name, artifact_location, lifecycle_stage, pipeline,"
                      + " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id")) {
            insert.setString(1, name);
            insert.setString(2, artifactLocation);
            insert.setString(3, LifecycleStage.ACTIVE.mlflowName());
            insert.setString(4, pipeline);
            setInstant(insert, 5, createdAt);
            setInstant(insert, 6, createdAt);
            try (ResultSet rows = insert.executeQuery()) {
              rows.next();
              id = rows.getLong(1);
            }
          }
          for (Map.Entry<String, String> tag : tags.entrySet()) {
            putExperimentTag(connection, Long.toString(id), tag.getKey(), tag.getValue());
          }
          return findExperiment(connection, "id = ?", Long.toString(id)).orElseThrow();
        });
  }

  @Override
  public Optional<Experiment> findExperiment(String id) {
    if (!isNumber(id)) {
      return Optional.empty();
    }
    return database.read(
        "find experiment " + id, connection -> findExperiment(connection, "id = ?", id));
  }

  @Override
  public Optional<Experiment> findExperimentByName(String name) {
    return database.read(
        "find experiment named " + name,
        connection -> findExperiment(connection, "name = ?", name));
  }

  @Override
  public Optional<Experiment> findExperimentByPipeline(String pipeline) {
    return database.read(
        "find experiment of pipeline " + pipeline,
        connection -> findExperiment(connection, "pipeline = ?", pipeline));
  }

  @Override
  public List<Experiment> listExperiments() {
    return database.read(
        "list experiments",
        connection -> {
          Map<String, Map<String, String>> tags = new HashMap<>();
          try (PreparedStatement statement =
                  connection.prepareStatement(
                      "SELECT experiment_id, key, value FROM experiment_tags ORDER BY key");
              ResultSet rows = statement.executeQuery()) {
            while (rows.next()) {
              tags.computeIfAbsent(rows.getString(1), id -> new LinkedHashMap<>())
                  .put(rows.getString(2), rows.getString(3));
            }
          }
          return Sql.list(
              connection,
              "SELECT * FROM experiments ORDER BY id",
              statement -> {},
              row -> experiment(row, tags.getOrDefault(row.getString("id"), Map.of())));
        });
  }

  @Override
  public void updateExperiment(Experiment experiment) {
    database.write(
        "update experiment " + experiment.id(),
        connection -> {
          if (Sql.exists(
              connection,
              "SELECT 1 FROM experiments WHERE name = ? AND id != ?",
              statement -> {
                statement.setString(1, experiment.name());
                statement.setLong(2, Long.parseLong(experiment.id()));
              })) {
            throw new EvergreenException(
                ErrorKind.ALREADY_EXISTS,
                "experiment '" + experiment.name() + "' already exists; choose another name");
          }
          return Sql.update(
              connection,
              "UPDATE experiments SET name = ?, lifecycle_stage = ?, updated_at = ? WHERE id = ?",
              statement -> {
                statement.setString(1, experiment.name());
                statement.setString(2, experiment.lifecycleStage().mlflowName());
                setInstant(statement, 3, experiment.lastUpdateTime());
                statement.setLong(4, Long.parseLong(experiment.id()));
              });
        });
  }

  @Override
  public void setExperimentTag(String experimentId, String key, String value, Instant at) {
    database.write(
        "set tag " + key + " of experiment " + experimentId,
        connection -> {
          putExperimentTag(connection, experimentId, key, value);
          return Sql.update(
              connection,
              "UPDATE experiments SET updated_at = ? WHERE id = ?",
              statement -> {
                setInstant(statement, 1, at);
                statement.setLong(2, Long.parseLong(experimentId));
              });
        });
  }

  private static void putExperimentTag(
      Connection connection, String experimentId, String key, String value) throws SQLException {
    Sql.update(
        connection,
        "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)"
            + " ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
        statement -> {
          statement.setLong(1, Long.parseLong(experimentId));
          statement.setString(2, key);
          statement.setString(3, value);
        });
  }

  private static Optional<Experiment> findExperiment(
      Connection connection, String condition, String value) throws SQLException {
    Map<String, String> tags = new LinkedHashMap<>();
    Optional<Experiment> found =
        Sql.first(
            connection,
            "SELECT * FROM experiments WHERE " + condition,
            statement -> statement.setString(1, value),
            row -> experiment(row, Map.of()));
    if (found.isEmpty()) {
      return found;
    }
    for (String[] tag :
        Sql.list(
            connection,
            "SELECT key, value FROM experiment_tags WHERE experiment_id = ? ORDER BY key",
            statement -> statement.setLong(1, Long.parseLong(found.get().id())),
            row -> new String[] {row.getString(1), row.getString(2)})) {
      tags.put(tag[0], tag[1]);
    }
    Experiment experiment = found.get();
    return Optional.of(
        new Experiment(
            experiment.id(),
            experiment.name(),
            experiment.artifactLocation(),
            experiment.lifecycleStage(),
            experiment.pipeline(),
            experiment.creationTime(),
            experiment.lastUpdateTime(),
            tags));
  }

  private static Experiment experiment(ResultSet row, Map<String, String> tags)
      throws SQLException {
    return new Experiment(
        Long.toString(row.getLong("id")),
        row.getString("name"),
        row.getString("artifact_location"),
        LifecycleStage.fromMlflowName(row.getString("lifecycle_stage")),
        row.getString("pipeline"),
        getInstant(row, "created_at"),
        getInstant(row, "updated_at"),
        tags);
  }

  // Runs

  @Override
  public void insertRun(TrackedRun run) {
    database.write(
        "insert run " + run.id(),
        connection -> {
          Sql.update(
              connection,
              "INSERT INTO tracking_runs (id, experiment_id, name, user_id, status, start_time,"
                  + " end_time, artifact_uri, lifecycle_stage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
              statement -> {
                statement.setString(1, run.id());
                statement.setLong(2, Long.parseLong(run.experimentId()));
                statement.setString(3, run.name());
                statement.setString(4, run.userId());
                statement.setString(5, run.status().name());
                setInstant(statement, 6, run.startTime());
                setInstant(statement, 7, run.endTime());
                statement.setString(8, run.artifactUri());
                statement.setString(9, run.lifecycleStage().mlflowName());
              });
          putParams(connection, run.id(), run.params());
          putTags(connection, run.id(), run.tags());
          insertMetrics(connection, run.id(), run.metrics());
          return null;
        });
  }

  @Override
  public Optional<TrackedRun> findRun(String id) {
    return database.read(
        "find run " + id,
        connection -> {
          List<TrackedRun> runs = loadRuns(connection, "r.id = ?", List.of(id), false);
          return runs.isEmpty() ? Optional.<TrackedRun>empty() : Optional.of(runs.get(0));
        });
  }

  @Override
  public List<TrackedRun> listRuns(Collection<String> experimentIds) {
    List<String> ids = experimentIds.stream().filter(SqliteTrackingStore::isNumber).toList();
    if (ids.isEmpty()) {
      return List.of();
    }
    String placeholders = String.join(", ", Collections.nCopies(ids.size(), "?"));
    return database.read(
        "list runs of experiments " + ids,
        connection -> loadRuns(connection, "r.experiment_id IN (" + placeholders + ")", ids, true));
  }

  /** Largest number of ids in one {@code IN} list, below SQLite's limit of bound variables. */
  private static final int IDS_PER_QUERY = 500;

  @Override
  public List<TrackedRun> searchRuns(
      Collection<String> experimentIds,
      List<SearchFilter.Clause> clauses,
      ViewType view,
      List<SearchFilter.OrderKey> orderBy,
      int offset,
      int limit) {
    List<Long> ids =
        experimentIds.stream()
            .filter(SqliteTrackingStore::isNumber)
            .map(Long::parseLong)
            .distinct()
            .toList();
    if (ids.isEmpty()) {
      return List.of();
    }
    List<RunSearchQuery.Statement> statements =
        RunSearchQuery.build(ids, clauses, view, orderBy, offset, limit);
    return database.read(
        "search runs of experiments " + ids,
        connection -> {
          List<String> runIds = new ArrayList<>();
          for (RunSearchQuery.Statement query : statements) {
            try (PreparedStatement statement = connection.prepareStatement(query.sql())) {
              query.bind(statement);
              try (ResultSet rows = statement.executeQuery()) {
                while (rows.next()) {
                  runIds.add(rows.getString(1));
                }
              }
            }
            if (statements.size() > 1 && runIds.size() >= offset + limit) {
              break;
            }
          }
          if (statements.size() > 1) {
            // Each part returned up to offset + limit ids; the page starts at offset.
            runIds =
                new ArrayList<>(
                    runIds.subList(
                        Math.min(offset, runIds.size()), Math.min(offset + limit, runIds.size())));
          }
          Map<String, TrackedRun> runs = new HashMap<>();
          for (int start = 0; start < runIds.size(); start += IDS_PER_QUERY) {
            List<String> chunk =
                runIds.subList(start, Math.min(runIds.size(), start + IDS_PER_QUERY));
            String placeholders = String.join(", ", Collections.nCopies(chunk.size(), "?"));
            for (TrackedRun run :
                loadRuns(connection, "r.id IN (" + placeholders + ")", chunk, false)) {
              runs.put(run.id(), run);
            }
          }
          List<TrackedRun> page = new ArrayList<>(runIds.size());
          runIds.forEach(id -> page.add(runs.get(id)));
          return page;
        });
  }

  /**
   * Loads runs and their params, tags and latest metrics with one query each, by a condition on
   * {@code tracking_runs r}.
   */
  private static List<TrackedRun> loadRuns(
      Connection connection, String condition, List<String> arguments, boolean numeric)
      throws SQLException {
    Sql.Binder binder =
        statement -> {
          for (int i = 0; i < arguments.size(); i++) {
            if (numeric) {
              statement.setLong(i + 1, Long.parseLong(arguments.get(i)));
            } else {
              statement.setString(i + 1, arguments.get(i));
            }
          }
        };
    String runIds = "SELECT r.id FROM tracking_runs r WHERE " + condition;
    Map<String, Map<String, String>> params = keyValues(connection, "run_params", runIds, binder);
    Map<String, Map<String, String>> tags = keyValues(connection, "run_tags", runIds, binder);
    Map<String, List<MetricPoint>> metrics = new HashMap<>();
    for (Object[] row :
        Sql.list(
            connection,
            "SELECT run_id, key, value, timestamp, step FROM latest_metrics WHERE run_id IN ("
                + runIds
                + ")",
            binder,
            rows -> new Object[] {rows.getString(1), metric(rows, 2)})) {
      metrics.computeIfAbsent((String) row[0], id -> new ArrayList<>()).add((MetricPoint) row[1]);
    }
    Map<String, List<DatasetInput>> inputs = inputs(connection, runIds, binder);
    return Sql.list(
        connection,
        "SELECT * FROM tracking_runs r WHERE " + condition + " ORDER BY r.seq",
        binder,
        row -> {
          String id = row.getString("id");
          return new TrackedRun(
              id,
              Long.toString(row.getLong("experiment_id")),
              row.getString("name"),
              row.getString("user_id"),
              RunStatus.valueOf(row.getString("status")),
              getInstant(row, "start_time"),
              getInstant(row, "end_time"),
              row.getString("artifact_uri"),
              LifecycleStage.fromMlflowName(row.getString("lifecycle_stage")),
              metrics.getOrDefault(id, List.of()),
              params.getOrDefault(id, Map.of()),
              tags.getOrDefault(id, Map.of()),
              false,
              inputs.getOrDefault(id, List.of()));
        });
  }

  /** Loads the dataset inputs of the runs that a subquery selects, in logging order. */
  private static Map<String, List<DatasetInput>> inputs(
      Connection connection, String runIds, Sql.Binder binder) throws SQLException {
    Map<Long, Map<String, String>> tags = new HashMap<>();
    for (Object[] row :
        Sql.list(
            connection,
            "SELECT t.input_seq, t.key, t.value FROM run_input_tags t"
                + " JOIN run_inputs i ON i.seq = t.input_seq WHERE i.run_id IN ("
                + runIds
                + ")",
            binder,
            rows -> new Object[] {rows.getLong(1), rows.getString(2), rows.getString(3)})) {
      tags.computeIfAbsent((Long) row[0], seq -> new HashMap<>())
          .put((String) row[1], (String) row[2]);
    }
    Map<String, List<DatasetInput>> inputs = new HashMap<>();
    for (Object[] row :
        Sql.list(
            connection,
            "SELECT i.run_id, i.seq, d.name, d.digest, d.source_type, d.source, d.schema,"
                + " d.profile FROM run_inputs i JOIN datasets d ON d.id = i.dataset_id"
                + " WHERE i.run_id IN ("
                + runIds
                + ") ORDER BY i.seq",
            binder,
            rows ->
                new Object[] {
                  rows.getString(1),
                  new DatasetInput(
                      new Dataset(
                          rows.getString(3),
                          rows.getString(4),
                          rows.getString(5),
                          rows.getString(6),
                          rows.getString(7),
                          rows.getString(8)),
                      tags.getOrDefault(rows.getLong(2), Map.of()))
                })) {
      inputs.computeIfAbsent((String) row[0], id -> new ArrayList<>()).add((DatasetInput) row[1]);
    }
    return inputs;
  }

  @Override
  public void logInputs(String runId, String experimentId, List<DatasetInput> inputs) {
    database.write(
        "log " + inputs.size() + " dataset inputs of run " + runId,
        connection -> {
          for (DatasetInput input : inputs) {
            long datasetId = datasetId(connection, Long.parseLong(experimentId), input.dataset());
            boolean logged =
                Sql.exists(
                    connection,
                    "SELECT 1 FROM run_inputs WHERE run_id = ? AND dataset_id = ?",
                    statement -> {
                      statement.setString(1, runId);
                      statement.setLong(2, datasetId);
                    });
            if (logged) {
              continue;
            }
            long seq;
            try (PreparedStatement insert =
                connection.prepareStatement(
                    "INSERT INTO run_inputs (run_id, dataset_id) VALUES (?, ?) RETURNING seq")) {
              insert.setString(1, runId);
              insert.setLong(2, datasetId);
              try (ResultSet rows = insert.executeQuery()) {
                rows.next();
                seq = rows.getLong(1);
              }
            }
            for (Map.Entry<String, String> tag : input.tags().entrySet()) {
              Sql.update(
                  connection,
                  "INSERT INTO run_input_tags (input_seq, key, value) VALUES (?, ?, ?)",
                  statement -> {
                    statement.setLong(1, seq);
                    statement.setString(2, tag.getKey());
                    statement.setString(3, tag.getValue());
                  });
            }
          }
          return null;
        });
  }

  /** Returns the id of a dataset of an experiment, inserting it when the experiment has none. */
  private static long datasetId(Connection connection, long experimentId, Dataset dataset)
      throws SQLException {
    Optional<Long> existing =
        Sql.first(
            connection,
            "SELECT id FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?",
            statement -> {
              statement.setLong(1, experimentId);
              statement.setString(2, dataset.name());
              statement.setString(3, dataset.digest());
            },
            row -> row.getLong(1));
    if (existing.isPresent()) {
      return existing.get();
    }
    try (PreparedStatement insert =
        connection.prepareStatement(
            "INSERT INTO datasets (experiment_id, name, digest, source_type, source, schema,"
                + " profile) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id")) {
      insert.setLong(1, experimentId);
      insert.setString(2, dataset.name());
      insert.setString(3, dataset.digest());
      insert.setString(4, dataset.sourceType());
      insert.setString(5, dataset.source());
      insert.setString(6, dataset.schema());
      insert.setString(7, dataset.profile());
      try (ResultSet rows = insert.executeQuery()) {
        rows.next();
        return rows.getLong(1);
      }
    }
  }

  private static Map<String, Map<String, String>> keyValues(
      Connection connection, String table, String runIds, Sql.Binder binder) throws SQLException {
    Map<String, Map<String, String>> result = new HashMap<>();
    for (String[] row :
        Sql.list(
            connection,
            "SELECT run_id, key, value FROM " + table + " WHERE run_id IN (" + runIds + ")",
            binder,
            rows -> new String[] {rows.getString(1), rows.getString(2), rows.getString(3)})) {
      result.computeIfAbsent(row[0], id -> new LinkedHashMap<>()).put(row[1], row[2]);
    }
    return result;
  }

  @Override
  public void updateRun(TrackedRun run) {
    database.write(
        "update run " + run.id(),
        connection ->
            Sql.update(
                connection,
                "UPDATE tracking_runs SET name = ?, status = ?, end_time = ?, lifecycle_stage = ?"
                    + " WHERE id = ?",
                statement -> {
                  statement.setString(1, run.name());
                  statement.setString(2, run.status().name());
                  setInstant(statement, 3, run.endTime());
                  statement.setString(4, run.lifecycleStage().mlflowName());
                  statement.setString(5, run.id());
                }));
  }

  @Override
  public void logMetrics(String runId, List<MetricPoint> points) {
    database.write(
        "log " + points.size() + " metric values of run " + runId,
        connection -> {
          insertMetrics(connection, runId, points);
          return null;
        });
  }

  private static void insertMetrics(Connection connection, String runId, List<MetricPoint> points)
      throws SQLException {
    try (PreparedStatement insert =
        connection.prepareStatement(
            "INSERT INTO run_metrics (run_id, key, value, timestamp, step) VALUES (?, ?, ?, ?, ?)")) {
      for (MetricPoint point : points) {
        insert.setString(1, runId);
        insert.setString(2, point.key());
        if (Double.isNaN(point.value())) {
          insert.setNull(3, Types.REAL);
        } else {
          insert.setDouble(3, point.value());
        }
        insert.setLong(4, point.timestamp());
        insert.setLong(5, point.step());
        insert.addBatch();
      }
      insert.executeBatch();
    }
    Map<String, MetricPoint> latest = new LinkedHashMap<>();
    for (MetricPoint point : points) {
      MetricPoint current = latest.get(point.key());
      if (current == null || point.isLaterThan(current)) {
        latest.put(point.key(), point);
      }
    }
    try (PreparedStatement upsert = connection.prepareStatement(UPSERT_LATEST_METRIC)) {
      for (MetricPoint point : latest.values()) {
        upsert.setString(1, runId);
        upsert.setString(2, point.key());
        if (Double.isNaN(point.value())) {
          upsert.setNull(3, Types.REAL);
        } else {
          upsert.setDouble(3, point.value());
        }
        upsert.setLong(4, point.timestamp());
        upsert.setLong(5, point.step());
        upsert.addBatch();
      }
      upsert.executeBatch();
    }
  }

  @Override
  public void logParams(String runId, Map<String, String> params) {
    database.write(
        "log params of run " + runId,
        connection -> {
          putParams(connection, runId, params);
          return null;
        });
  }

  private static void putParams(Connection connection, String runId, Map<String, String> params)
      throws SQLException {
    for (Map.Entry<String, String> param : params.entrySet()) {
      String value = param.getValue() == null ? "" : param.getValue();
      Optional<String> stored =
          Sql.first(
              connection,
              "SELECT value FROM run_params WHERE run_id = ? AND key = ?",
              statement -> {
                statement.setString(1, runId);
                statement.setString(2, param.getKey());
              },
              row -> row.getString(1));
      if (stored.isPresent()) {
        if (!stored.get().equals(value)) {
          throw EvergreenException.invalid(
              "param '"
                  + param.getKey()
                  + "' of run "
                  + runId
                  + " was already logged with value '"
                  + stored.get()
                  + "', and params cannot change (new value '"
                  + value
                  + "'); log it under another key or in a new run");
        }
        continue;
      }
      Sql.update(
          connection,
          "INSERT INTO run_params (run_id, key, value) VALUES (?, ?, ?)",
          statement -> {
            statement.setString(1, runId);
            statement.setString(2, param.getKey());
            statement.setString(3, value);
          });
    }
  }

  @Override
  public void setTags(String runId, Map<String, String> tags) {
    database.write(
        "set tags of run " + runId,
        connection -> {
          putTags(connection, runId, tags);
          return null;
        });
  }

  private static void putTags(Connection connection, String runId, Map<String, String> tags)
      throws SQLException {
    for (Map.Entry<String, String> tag : tags.entrySet()) {
      Sql.update(
          connection,
          "INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?)"
              + " ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
          statement -> {
            statement.setString(1, runId);
            statement.setString(2, tag.getKey());
            statement.setString(3, tag.getValue() == null ? "" : tag.getValue());
          });
    }
  }

  @Override
  public boolean deleteTag(String runId, String key) {
    return database.write(
        "delete tag " + key + " of run " + runId,
        connection ->
            Sql.update(
                    connection,
                    "DELETE FROM run_tags WHERE run_id = ? AND key = ?",
                    statement -> {
                      statement.setString(1, runId);
                      statement.setString(2, key);
                    })
                == 1);
  }

  @Override
  public List<MetricPoint> metricHistory(String runId, String key) {
    return database.read(
        "read history of metric " + key + " of run " + runId,
        connection ->
            Sql.list(
                connection,
                "SELECT key, value, timestamp, step FROM run_metrics WHERE run_id = ? AND key = ?"
                    + " ORDER BY seq",
                statement -> {
                  statement.setString(1, runId);
                  statement.setString(2, key);
                },
                row -> metric(row, 1)));
  }

  private static MetricPoint metric(ResultSet row, int firstColumn) throws SQLException {
    String key = row.getString(firstColumn);
    double value = row.getDouble(firstColumn + 1);
    if (row.wasNull()) {
      value = Double.NaN;
    }
    return new MetricPoint(key, value, row.getLong(firstColumn + 2), row.getLong(firstColumn + 3));
  }

  private static boolean isNumber(String id) {
    if (id == null || id.isEmpty() || id.length() > 18) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      if (!Character.isDigit(id.charAt(i))) {
        return false;
      }
    }
    return true;
  }
}
