package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code evergreen validate} and {@code evergreen schema infer} run in-process through picocli. */
class ValidateCommandTest {
  /** Six rows. Rows 2 and 5 have a delay below -120, and row 4 arrives before it departs. */
  static final String CSV =
      """
      id,departure,arrival,delay,origin,late
      1,2024-03-01 08:00:00,2024-03-01 10:00:00,5,SFO,0
      2,2024-03-01 09:00:00,2024-03-01 11:30:00,-130,LAX,0
      3,2024-03-02 07:00:00,2024-03-02 09:00:00,20,SFO,1
      4,2024-03-02 10:00:00,2024-03-02 09:00:00,,ORD,0
      5,2024-03-03 06:00:00,2024-03-03 08:00:00,-200,SFO,0
      6,2024-03-03 12:00:00,2024-03-03 14:00:00,45,LAX,1
      """;

  static final String PIPELINE =
      """
      name: delays
      source:
        landing: landing
      label:
        column: late
        greaterThan: 0
      features:
        numeric: [delay]
        categorical: [origin]
      trainer:
        objective: "binary:logistic"
      evaluation:
        metric: auc
      deployment:
        model: delays
      validation:
        environments:
          serving:
            exclude: [late]
        rules:
      """;

  @TempDir Path dir;
  Path data;
  StringWriter out;
  StringWriter err;

  @BeforeEach
  void setUp() throws IOException {
    data = Files.writeString(dir.resolve("batch.csv"), CSV);
  }

  int execute(String... args) {
    out = new StringWriter();
    err = new StringWriter();
    CommandLine commandLine = Main.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    return commandLine.execute(args);
  }

  Path pipeline(String rules) throws IOException {
    return Files.writeString(dir.resolve("pipeline.yaml"), PIPELINE + rules);
  }

  Path constraints(String yaml) throws IOException {
    return Files.writeString(dir.resolve("constraints.yaml"), yaml);
  }

  @Test
  void validatePipelinePassesWithExitZero() throws IOException {
    Path pipeline = pipeline("    - column: id\n      notNull: true\n      unique: true\n");

    int code = execute("validate", pipeline.toString(), data.toString());

    assertThat(code).isZero();
    assertThat(out.toString()).contains("passed  error   id not_null: expected no nulls");
    assertThat(out.toString()).contains("accepted: 0 errors, 0 warnings");
  }

  @Test
  void validateErrorFailureExitsThreeWithExamples() throws IOException {
    Path pipeline =
        pipeline(
            "    - column: id\n      notNull: true\n"
                + "    - column: delay\n      where: \"delay > -120\"\n");

    int code = execute("validate", pipeline.toString(), data.toString());

    assertThat(code).isEqualTo(ValidateCommand.EXIT_REJECTED);
    List<String> lines = out.toString().lines().toList();
    assertThat(lines.get(0))
        .startsWith("FAILED  error   delay where: expected delay > -120, observed 2 rows")
        .contains("(2 failing rows, 33.3333%)");
    assertThat(lines.get(1)).isEqualTo("    row 2: delay=-130");
    assertThat(lines.get(2)).isEqualTo("    row 5: delay=-200");
    assertThat(lines.getLast()).startsWith("rejected: 1 errors, 0 warnings");
  }

  @Test
  void validateWarningFailureExitsZero() throws IOException {
    Path pipeline =
        pipeline("    - condition: \"arrival >= departure\"\n      severity: warning\n");

    int code = execute("validate", pipeline.toString(), data.toString());

    assertThat(code).isZero();
    assertThat(out.toString()).contains("FAILED  warning * condition");
    assertThat(out.toString()).contains("    row 4: arrival=2024-03-02T09:00:00");
  }

  @Test
  void validateWritesJsonResult() throws IOException {
    Path pipeline = pipeline("    - column: delay\n      where: \"delay > -120\"\n");
    Path json = dir.resolve("result.json");

    int code = execute("validate", "--json", json.toString(), pipeline.toString(), data.toString());

    assertThat(code).isEqualTo(3);
    JsonNode result = new ObjectMapper().readTree(json.toFile());
    assertThat(result.path("format").asInt()).isEqualTo(1);
    assertThat(result.path("verdict").asText()).isEqualTo("rejected");
    assertThat(result.path("rows").asLong()).isEqualTo(6);
    assertThat(result.path("environment").asText()).isEqualTo("training");
    JsonNode first = result.path("constraints").path(0);
    assertThat(first.path("name").asText()).isEqualTo("where");
    assertThat(first.path("column").asText()).isEqualTo("delay");
    assertThat(first.path("status").asText()).isEqualTo("failed");
    assertThat(first.path("failingShare").asDouble()).isEqualTo(2 / 6.0);
    assertThat(first.path("examples").path(1).path("row").asLong()).isEqualTo(5);
    assertThat(first.path("examples").path(1).path("values").path("delay").asLong())
        .isEqualTo(-200);
  }

  @Test
  void validateSchemaFileAlone() throws IOException {
    Path passing = constraints("validation:\n  rules:\n    - rowCountBetween: [1, 10]\n");

    assertThat(execute("validate", "--schema", passing.toString(), data.toString())).isZero();

    Path failing =
        constraints(
            "data:\n  columns:\n    delay: integer\n"
                + "validation:\n  rules:\n    - column: delay\n      notNull: true\n");
    assertThat(execute("validate", "--schema", failing.toString(), data.toString())).isEqualTo(3);
    assertThat(out.toString()).contains("    row 4: delay=null");
  }

  @Test
  void validateServingEnvironmentSkipsLabel() throws IOException {
    Path pipeline = pipeline("    - column: late\n      notNull: true\n");
    String serving = CSV.replace(",late", "").replaceAll(",[01]\n", "\n");
    Path servingData = Files.writeString(dir.resolve("serving.csv"), serving);

    assertThat(
            execute(
                "validate",
                "--environment",
                "serving",
                pipeline.toString(),
                servingData.toString()))
        .isZero();
    assertThat(out.toString()).doesNotContain("late");
    assertThat(execute("validate", pipeline.toString(), servingData.toString())).isEqualTo(1);
    assertThat(err.toString()).contains("missing required column 'late'");
  }

  @Test
  void validateRowCountChangeUsesPreviousRows() throws IOException {
    Path schema = constraints("validation:\n  rules:\n    - maxRowCountChange: 0.2\n");

    assertThat(
            execute(
                "validate", "--previous-rows", "5", "--schema", schema.toString(), data.toString()))
        .isZero();
    assertThat(
            execute(
                "validate",
                "--previous-rows",
                "12",
                "--schema",
                schema.toString(),
                data.toString()))
        .isEqualTo(3);
    assertThat(execute("validate", "--schema", schema.toString(), data.toString())).isZero();
    assertThat(out.toString()).contains("skipped error   * row_count_change");
  }

  @Test
  void validateUsageErrorsExitTwo() throws IOException {
    Path pipeline = pipeline("    - column: id\n      notNull: true\n");

    assertThat(execute("validate", pipeline.toString())).isEqualTo(2);
    assertThat(execute("validate", "--schema", pipeline.toString(), "a.csv", "b.csv")).isEqualTo(2);
    assertThat(execute("validate", "--environment", "staging", pipeline.toString(), "a.csv"))
        .isEqualTo(2);
    assertThat(err.toString()).contains("--environment 'staging' is not declared");
    assertThat(execute("validate", "--unknown", pipeline.toString(), "a.csv")).isEqualTo(2);
  }

  @Test
  void validateUnreadableInputExitsOne() throws IOException {
    Path pipeline = pipeline("    - column: id\n      notNull: true\n");

    assertThat(execute("validate", pipeline.toString(), dir.resolve("absent.csv").toString()))
        .isEqualTo(1);
    assertThat(err.toString()).contains("absent.csv: file not found");
    Path invalid = constraints("validation:\n  rules:\n    - column: id\n      notNul: true\n");
    assertThat(execute("validate", "--schema", invalid.toString(), data.toString())).isEqualTo(1);
    assertThat(err.toString()).contains("unknown field 'validation.rules[0].notNul'");
  }

  @Test
  void schemaInferOutputPassesOnItsData() throws IOException {
    Path inferred = dir.resolve("inferred.yaml");

    assertThat(execute("schema", "infer", data.toString(), "--out", inferred.toString())).isZero();
    String yaml = Files.readString(inferred);
    assertThat(yaml).contains("      notNull: true  # completeness 1.0 over 6 rows\n");
    assertThat(yaml).contains("  # completeness 0.8333 over 6 rows\n");

    int code = execute("validate", "--schema", inferred.toString(), data.toString());
    assertThat(code).as("validate output:%n%s%s", out, err).isZero();
    assertThat(out.toString()).doesNotContain("FAILED");
  }

  @Test
  void schemaInferPrintsToStandardOutput() {
    assertThat(execute("schema", "infer", data.toString())).isZero();

    assertThat(out.toString()).startsWith("# Constraints suggested by evergreen schema infer");
    assertThat(out.toString()).contains("    \"departure\": timestamp");
  }
}
