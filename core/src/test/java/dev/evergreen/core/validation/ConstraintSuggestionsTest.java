package dev.evergreen.core.validation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.ConstraintsSpec;
import dev.evergreen.api.pipeline.FeaturesSpec;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.PipelineSpecs;
import dev.evergreen.api.pipeline.SourceSpec;
import dev.evergreen.api.validation.ConstraintResult;
import dev.evergreen.api.validation.ConstraintStatus;
import dev.evergreen.api.validation.Severity;
import dev.evergreen.api.validation.ValidationResult;
import dev.evergreen.core.snapshot.BatchFiles;
import dev.evergreen.core.validation.RuleInference.Suggestion;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Constraints suggested from a batch, written as YAML and read back as a constraints file. */
class ConstraintSuggestionsTest {
  static final int ROWS = 1200;

  @TempDir Path dir;
  Path parquet;
  Snapshot batch;

  /**
   * 1200 rows: a unique id, a non-negative amount, a code with three values, a note that is null in
   * every tenth row and a signed change.
   */
  @BeforeEach
  void setUp() throws IOException {
    StringBuilder csv = new StringBuilder("id,amount,code,note,change\n");
    for (int i = 1; i <= ROWS; i++) {
      csv.append(i)
          .append(',')
          .append(i % 7)
          .append(',')
          .append("ABC".charAt(i % 3))
          .append(',')
          .append(i % 10 == 0 ? "" : "n" + i)
          .append(',')
          .append(i - 600)
          .append('\n');
    }
    Path file = Files.writeString(dir.resolve("batch.csv"), csv);
    parquet = dir.resolve("batch.parquet");
    batch = BatchFiles.read(file, bare(file), parquet, null, 1);
  }

  static PipelineSpec bare(Path file) {
    return new PipelineSpec(
        "constraints",
        new SourceSpec(null, file.toString(), null, null, null),
        null,
        null,
        new FeaturesSpec(null, null, null, null),
        null,
        null,
        null,
        null,
        null);
  }

  @Test
  void suggestNamesStatisticOfEachConstraint() {
    List<Suggestion> suggestions = RuleInference.suggest(batch, parquet, 1);

    assertThat(suggestions)
        .contains(
            new Suggestion(
                "id", Severity.ERROR, "notNull", true, "completeness 1.0 over 1,200 rows"),
            new Suggestion(
                "id", Severity.ERROR, "unique", true, "1,200 distinct values in 1,200 rows"),
            new Suggestion(
                "amount", Severity.ERROR, "min", 0, "minimum 0 over 1,200 non-null rows"),
            new Suggestion(
                "note", Severity.ERROR, "completeness", 0.9, "completeness 0.9000 over 1,200 rows"),
            new Suggestion(
                "code",
                Severity.WARNING,
                "allowedValues",
                List.of("A", "B", "C"),
                "3 distinct values over 1,200 non-null rows"));
    assertThat(suggestions)
        .filteredOn(s -> s.column().equals("change"))
        .extracting(Suggestion::field)
        .containsExactly("notNull", "unique");
    assertThat(suggestions)
        .filteredOn(s -> s.column().equals("amount"))
        .extracting(Suggestion::field)
        .doesNotContain("unique");
  }

  @Test
  void writtenYamlHasCommentOnEachSuggestion() {
    String yaml = ConstraintsYaml.write(batch, RuleInference.suggest(batch, parquet, 1));

    assertThat(yaml).contains("      notNull: true  # completeness 1.0 over 1,200 rows\n");
    assertThat(yaml).contains("      allowedValues: [\"A\", \"B\", \"C\"]  # 3 distinct values");
    assertThat(yaml).contains("    \"note\": string  # type read from the file\n");
    assertThat(yaml).contains("      severity: warning\n");
  }

  @Test
  void writtenYamlPassesOnItsOwnData() throws IOException {
    String yaml = ConstraintsYaml.write(batch, RuleInference.suggest(batch, parquet, 1));
    Path file = Files.writeString(dir.resolve("constraints.yaml"), yaml, StandardCharsets.UTF_8);

    ConstraintsSpec constraints = PipelineSpecs.loadConstraints(file);
    PipelineSpec spec =
        new PipelineSpec(
            "constraints",
            new SourceSpec(null, "batch.csv", null, constraints.csv(), null),
            constraints.data(),
            null,
            new FeaturesSpec(null, null, null, null),
            null,
            null,
            constraints.validation(),
            null,
            null);
    ValidationResult result =
        new Validator(1)
            .check(
                batch,
                parquet,
                null,
                null,
                spec,
                List.of(),
                ValidationContext.training(Instant.now()))
            .result();

    assertThat(constraints.data().columns()).containsEntry("id", "integer");
    assertThat(constraints.validation().rules()).hasSize(6);
    assertThat(result.verdict()).isEqualTo(ValidationResult.ACCEPTED);
    assertThat(result.constraints())
        .extracting(ConstraintResult::status)
        .containsOnly(ConstraintStatus.PASSED);
  }

  @Test
  void stringWithQuotesAndColonsRoundTrips() throws IOException {
    Path file =
        Files.writeString(dir.resolve("odd.csv"), "\"key: a\",kind\n1,\"x: \"\"y\"\"\"\n2,# z\n");
    Path oddParquet = dir.resolve("odd.parquet");
    Snapshot odd = BatchFiles.read(file, bare(file), oddParquet, null, 1);

    String yaml = ConstraintsYaml.write(odd, RuleInference.suggest(odd, oddParquet, 1));
    ConstraintsSpec constraints =
        PipelineSpecs.parseConstraints(yaml.getBytes(StandardCharsets.UTF_8), "odd.yaml");

    assertThat(constraints.data().columns()).containsKey("key: a");
    assertThat(constraints.validation().rules())
        .filteredOn(r -> r.allowedValues() != null)
        .singleElement()
        .satisfies(r -> assertThat(r.allowedValues()).containsExactly("# z", "x: \"y\""));
  }
}
