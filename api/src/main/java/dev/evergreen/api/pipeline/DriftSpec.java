package dev.evergreen.api.pipeline;

/**
 * Population stability index (PSI) thresholds per feature, against the reference snapshot (the
 * first accepted snapshot of the pipeline). The conventional reading: below 0.1 stable, 0.1 to 0.25
 * moderate shift, above 0.25 major shift.
 *
 * @param warning PSI at or above which a warning is recorded, 0.1 by default
 * @param error PSI at or above which the batch is rejected; null (the default) never rejects
 */
public record DriftSpec(Double warning, Double error) {
  public static final DriftSpec DEFAULT = new DriftSpec(null, null);

  public DriftSpec {
    warning = warning == null ? 0.1 : warning;
  }
}
