package dev.evergreen.core.validation;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.validation.Anomaly;
import dev.evergreen.api.validation.ConstraintResult;
import dev.evergreen.api.validation.ConstraintStatus;
import dev.evergreen.api.validation.ExampleRow;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.api.validation.ValidationResult;
import dev.evergreen.core.data.DuckDb;
import dev.evergreen.core.profile.DatasetProfile;
import dev.evergreen.core.profile.ProfileBuilder;
import dev.evergreen.core.profile.SnapshotProfiles;
import dev.evergreen.core.snapshot.SnapshotService;
import dev.evergreen.core.store.ArtifactStore;
import dev.evergreen.core.store.MetadataStore;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Builds the HTML report of a stored run from its validation report, its snapshots and their
 * profiles. A run stores only its failed constraints, so the report lists those, each with its
 * example rows read back from the snapshot. A snapshot without a stored profile is profiled from
 * its rows.
 */
public final class StoredRunReport {
  private StoredRunReport() {}

  /**
   * Returns the report of run {@code runId}.
   *
   * @param spec the run's pipeline, for its feature list; null charts every column of the batch
   * @throws EvergreenException {@link ErrorKind#NOT_FOUND} when the run, its validation report or
   *     its snapshot is not stored
   */
  public static HtmlReport of(
      MetadataStore store,
      ArtifactStore artifacts,
      SnapshotService snapshots,
      int threads,
      String runId,
      PipelineSpec spec) {
    Run run =
        store
            .findRun(runId)
            .orElseThrow(
                () ->
                    EvergreenException.notFound(
                        "run '" + runId + "' not found; list runs with `evergreen runs list`"));
    ValidationReport report =
        store
            .findValidationReport(runId)
            .orElseThrow(
                () ->
                    EvergreenException.notFound(
                        "run '"
                            + runId
                            + "' has no validation report; it ended before validation: "
                            + run.reason()));
    Snapshot current = snapshot(store, report.snapshotId());
    Snapshot reference =
        report.referenceSnapshotId() == null ? null : snapshot(store, report.referenceSnapshotId());
    Path parquet = snapshots.parquetOf(current);
    try {
      DatasetProfile currentProfile = profile(artifacts, snapshots, current, threads);
      DatasetProfile referenceProfile =
          reference == null ? null : profile(artifacts, snapshots, reference, threads);
      List<ConstraintResult> constraints = new ArrayList<>();
      for (Anomaly anomaly : report.anomalies()) {
        constraints.add(failed(anomaly, exampleRows(parquet, anomaly, threads)));
      }
      List<String> details = new ArrayList<>();
      details.add(
          "Pipeline "
              + run.pipeline()
              + ", status "
              + run.status()
              + (run.outcome() == null ? "" : ", outcome " + run.outcome())
              + ".");
      if (run.reason() != null) {
        details.add("Reason: " + run.reason());
      }
      details.add(
          "Snapshot "
              + current.shortId()
              + " with "
              + current.profile().rowCount()
              + " rows, from "
              + current.source()
              + ".");
      details.add(
          reference == null
              ? "No reference snapshot: drift was not measured."
              : "Reference snapshot "
                  + reference.shortId()
                  + "; drift measured from "
                  + (report.driftSource() == null ? "rows" : report.driftSource())
                  + ".");
      details.add("The run stores failed constraints only; passed ones are not listed.");
      return new HtmlReport(
          "Run " + run.id(),
          report.accepted() ? ValidationResult.ACCEPTED : ValidationResult.REJECTED,
          details,
          constraints,
          report.drift(),
          report.datasetDrift(),
          FeatureChart.of(spec, referenceProfile, currentProfile));
    } catch (SQLException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "DuckDB failed while reading snapshot " + current.shortId() + ": " + e.getMessage(),
          e);
    }
  }

  private static Snapshot snapshot(MetadataStore store, String id) {
    return store
        .findSnapshot(id)
        .orElseThrow(() -> EvergreenException.notFound("snapshot " + id + " not found"));
  }

  private static DatasetProfile profile(
      ArtifactStore artifacts, SnapshotService snapshots, Snapshot snapshot, int threads)
      throws SQLException {
    var stored = SnapshotProfiles.read(artifacts, snapshot);
    if (stored.isPresent()) {
      return stored.get();
    }
    return ProfileBuilder.ofParquet(snapshots.parquetOf(snapshot), snapshot.schema(), threads);
  }

  private static ConstraintResult failed(Anomaly anomaly, List<ExampleRow> examples) {
    return new ConstraintResult(
        anomaly.rule(),
        anomaly.column(),
        anomaly.severity(),
        ConstraintStatus.FAILED,
        anomaly.expected(),
        anomaly.observed(),
        null,
        anomaly.failingRows() > 0 ? anomaly.failingRows() : null,
        null,
        examples);
  }

  /**
   * Reads an anomaly's example rows from the snapshot: the anomaly's column, or every column for a
   * batch rule (column {@code *}) and for a column the snapshot lacks.
   */
  private static List<ExampleRow> exampleRows(Path parquet, Anomaly anomaly, int threads)
      throws SQLException {
    if (anomaly.exampleRows().isEmpty()) {
      return List.of();
    }
    String rows =
        anomaly.exampleRows().stream()
            .map(row -> Long.toString(row - 1))
            .collect(Collectors.joining(", "));
    String source = "read_parquet(" + DuckDb.path(parquet) + ", file_row_number = true)";
    List<ExampleRow> examples = new ArrayList<>();
    try (Connection connection = DuckDb.open(threads);
        Statement statement = connection.createStatement()) {
      boolean oneColumn = !"*".equals(anomaly.column()) && hasColumn(statement, source, anomaly);
      String columns =
          oneColumn ? DuckDb.identifier(anomaly.column()) : "* EXCLUDE (file_row_number)";
      String sql =
          "SELECT file_row_number, "
              + columns
              + " FROM "
              + source
              + " WHERE file_row_number IN ("
              + rows
              + ") ORDER BY file_row_number";
      try (ResultSet result = statement.executeQuery(sql)) {
        ResultSetMetaData meta = result.getMetaData();
        while (result.next()) {
          Map<String, Object> values = new LinkedHashMap<>();
          for (int i = 2; i <= meta.getColumnCount(); i++) {
            Object value = result.getObject(i);
            values.put(meta.getColumnLabel(i), value == null ? null : value.toString());
          }
          examples.add(new ExampleRow(result.getLong(1) + 1, values));
        }
      }
    }
    return examples;
  }

  private static boolean hasColumn(Statement statement, String source, Anomaly anomaly)
      throws SQLException {
    try (ResultSet result =
        statement.executeQuery(
            "SELECT count(*) FROM (DESCRIBE SELECT * FROM "
                + source
                + ") WHERE column_name = "
                + DuckDb.literal(anomaly.column()))) {
      return result.next() && result.getLong(1) > 0;
    }
  }
}
