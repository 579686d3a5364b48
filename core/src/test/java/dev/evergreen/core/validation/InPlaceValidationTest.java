package dev.evergreen.core.validation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.ConstraintsSpec;
import dev.evergreen.api.pipeline.FeaturesSpec;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.PipelineSpecs;
import dev.evergreen.api.pipeline.SourceSpec;
import dev.evergreen.api.pipeline.ValidationSpec;
import dev.evergreen.api.validation.ConstraintResult;
import dev.evergreen.api.validation.ConstraintStatus;
import dev.evergreen.api.validation.ExampleRow;
import dev.evergreen.api.validation.ValidationResult;
import dev.evergreen.core.snapshot.BatchFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checking the table that {@link BatchFiles#check} loads, with the constraints computed in one
 * scan, against checking the sorted Parquet copy that {@link BatchFiles#read} writes.
 */
class InPlaceValidationTest {
  static final int ROWS = 1000;

  static final String CONSTRAINTS =
      """
      data:
        columns:
          id: integer
          amount: integer
          code: string
          note: string
      validation:
        rules:
          - column: id
            notNull: true
            unique: true
          - column: amount
            min: 0
            max: 90
            meanBetween: [0, 100]
            stddevBetween: [0, 100]
          - column: code
            allowedValues: [A, B, C]
            pattern: "[A-Z]"
            distinctCountBetween: [1, 3]
          - column: note
            completeness: 0.95
            maxLength: 5
          - column: amount
            where: "amount <> 50"
          - condition: "id > 3"
      """;

  @TempDir Path dir;
  Path file;
  ValidationContext context = new ValidationContext(ValidationSpec.TRAINING, Instant.now(), null);

  /**
   * 1000 rows. {@code amount} is {@code id % 100}, so ids ending in 91 to 99 exceed the maximum and
   * ids ending in 50 fail the {@code where}. {@code code} is D in rows 7 and 700, and {@code note}
   * is null in every tenth row.
   */
  @BeforeEach
  void setUp() throws IOException {
    StringBuilder csv = new StringBuilder("id,amount,code,note\n");
    for (int i = 1; i <= ROWS; i++) {
      String code = i == 7 || i == 700 ? "D" : String.valueOf("ABC".charAt(i % 3));
      csv.append(i)
          .append(',')
          .append(i % 100)
          .append(',')
          .append(code)
          .append(',')
          .append(i % 10 == 0 ? "" : "n" + i)
          .append('\n');
    }
    file = Files.writeString(dir.resolve("batch.csv"), csv);
  }

  PipelineSpec spec(String constraints) throws IOException {
    Path path = Files.writeString(dir.resolve("constraints.yaml"), constraints);
    ConstraintsSpec loaded = PipelineSpecs.loadConstraints(path);
    return new PipelineSpec(
        "constraints",
        new SourceSpec(null, file.toString(), null, loaded.csv(), null),
        loaded.data(),
        null,
        new FeaturesSpec(null, null, null, null),
        null,
        null,
        loaded.validation(),
        null,
        null);
  }

  ValidationResult checkInPlace(PipelineSpec spec) {
    return BatchFiles.check(
        file,
        spec,
        null,
        2,
        (batch, connection, table) ->
            new Validator(2).check(batch, connection, table, spec, context).result());
  }

  ValidationResult checkParquetCopy(PipelineSpec spec) {
    Path parquet = dir.resolve("batch.parquet");
    return new Validator(2)
        .check(
            BatchFiles.read(file, spec, parquet, null, 2),
            parquet,
            null,
            null,
            spec,
            List.of(),
            context)
        .result();
  }

  @Test
  void checkInPlaceMatchesParquetCopy() throws IOException {
    PipelineSpec spec = spec(CONSTRAINTS);

    ValidationResult inPlace = checkInPlace(spec);
    ValidationResult copy = checkParquetCopy(spec);

    assertThat(inPlace.rows()).isEqualTo(ROWS);
    assertThat(inPlace.constraints()).isEqualTo(copy.constraints());
    assertThat(inPlace.verdict()).isEqualTo(copy.verdict());
  }

  @Test
  void checkInPlaceRowNumbersInFileOrder() throws IOException {
    ValidationResult result = checkInPlace(spec(CONSTRAINTS));

    ConstraintResult max = constraint(result, "amount", "max");
    assertThat(max.status()).isEqualTo(ConstraintStatus.FAILED);
    assertThat(max.failingRows()).isEqualTo(90L);
    assertThat(max.examples()).extracting(ExampleRow::row).containsExactly(91L, 92L, 93L, 94L, 95L);
    ConstraintResult allowed = constraint(result, "code", "allowed_values");
    assertThat(allowed.failingRows()).isEqualTo(2L);
    assertThat(allowed.examples()).extracting(ExampleRow::row).containsExactly(7L, 700L);
    assertThat(constraint(result, "*", "condition").examples())
        .extracting(ExampleRow::row)
        .containsExactly(1L, 2L, 3L);
  }

  @Test
  void checkInPlaceReportsInvalidPattern() throws IOException {
    PipelineSpec spec = spec(CONSTRAINTS.replace("\"[A-Z]\"", "\"[A-Z\""));

    assertThatThrownBy(() -> checkInPlace(spec))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("pattern '[A-Z' is not a valid RE2 regular expression");
  }

  static ConstraintResult constraint(ValidationResult result, String column, String name) {
    return result.constraints().stream()
        .filter(c -> c.column().equals(column) && c.name().equals(name))
        .findFirst()
        .orElseThrow();
  }
}
