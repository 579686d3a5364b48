package dev.evergreen.api.validation;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Outcome of the checks on one snapshot.
 *
 * @param referenceSnapshotId snapshot drift was measured against, null for the first batch
 * @param driftSource {@value #FROM_PROFILES} when drift was measured from the stored profiles of
 *     both snapshots, {@value #FROM_ROWS} when from their rows, null when no drift was measured
 *     (and in reports stored before this field was added)
 * @param datasetDrift share of drifted features and the batch-level verdict, null when no drift was
 *     measured
 */
public record ValidationReport(
    String snapshotId,
    String referenceSnapshotId,
    List<Anomaly> anomalies,
    List<FeatureDrift> drift,
    String driftSource,
    DatasetDrift datasetDrift) {
  public static final String FROM_PROFILES = "profiles";
  public static final String FROM_ROWS = "rows";

  @JsonCreator
  public ValidationReport {
    anomalies = List.copyOf(anomalies);
    drift = List.copyOf(drift);
  }

  /** Creates a report without a drift source or dataset verdict. */
  public ValidationReport(
      String snapshotId,
      String referenceSnapshotId,
      List<Anomaly> anomalies,
      List<FeatureDrift> drift) {
    this(snapshotId, referenceSnapshotId, anomalies, drift, null, null);
  }

  /** Returns true when no anomaly has error severity. */
  public boolean accepted() {
    return anomalies.stream().noneMatch(a -> a.severity() == Severity.ERROR);
  }

  public List<Anomaly> errors() {
    return anomalies.stream().filter(a -> a.severity() == Severity.ERROR).toList();
  }

  public List<Anomaly> warnings() {
    return anomalies.stream().filter(a -> a.severity() == Severity.WARNING).toList();
  }

  public Optional<FeatureDrift> largestDrift() {
    return drift.stream().max(Comparator.comparingDouble(FeatureDrift::psi));
  }
}
