package dev.evergreen.api.pipeline;

/**
 * Where batches arrive.
 *
 * @param landing folder watched by the server; each complete file in it is one batch
 * @param file one explicit file, for pipelines run only from the command line
 * @param format {@code csv} or {@code parquet}; null means taken from the file extension
 * @param csv options for CSV files, null for the defaults
 * @param stableSeconds a file in the landing folder whose size and modification time have not
 *     changed for this many seconds is complete; files written elsewhere and renamed into the
 *     folder are complete at once
 */
public record SourceSpec(
    String landing, String file, String format, CsvSpec csv, Integer stableSeconds) {
  public SourceSpec {
    csv = csv == null ? CsvSpec.DEFAULT : csv;
    stableSeconds = stableSeconds == null ? 2 : stableSeconds;
  }
}
