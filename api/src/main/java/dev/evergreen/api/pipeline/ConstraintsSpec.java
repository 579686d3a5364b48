package dev.evergreen.api.pipeline;

/**
 * A constraints file for {@code evergreen validate --schema}: the {@code data} and {@code
 * validation} sections of a pipeline, with the same fields, and how to read CSV files. Read with
 * {@link PipelineSpecs#loadConstraints}.
 *
 * @param data declared column types; declared columns are required
 * @param validation rules and drift thresholds
 * @param csv options for CSV files, the defaults of {@code source.csv} when null
 */
public record ConstraintsSpec(DataSpec data, ValidationSpec validation, CsvSpec csv) {
  public ConstraintsSpec {
    data = data == null ? DataSpec.EMPTY : data;
    validation = validation == null ? ValidationSpec.DEFAULT : validation;
    csv = csv == null ? CsvSpec.DEFAULT : csv;
  }
}
