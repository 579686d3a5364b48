package dev.evergreen.api.validation;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Outcome of the checks on one snapshot.
 *
 * @param referenceSnapshotId snapshot drift was measured against, null for the first batch
 */
public record ValidationReport(
    String snapshotId,
    String referenceSnapshotId,
    List<Anomaly> anomalies,
    List<FeatureDrift> drift) {
  public ValidationReport {
    anomalies = List.copyOf(anomalies);
    drift = List.copyOf(drift);
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
