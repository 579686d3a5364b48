package dev.evergreen.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.ConstraintsSpec;
import dev.evergreen.api.pipeline.DataSpec;
import dev.evergreen.api.pipeline.FeaturesSpec;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.PipelineSpecs;
import dev.evergreen.api.pipeline.SourceSpec;
import dev.evergreen.api.pipeline.ValidationSpec;
import dev.evergreen.api.validation.Anomaly;
import dev.evergreen.api.validation.ConstraintResult;
import dev.evergreen.api.validation.ConstraintStatus;
import dev.evergreen.api.validation.ExampleRow;
import dev.evergreen.api.validation.ValidationResult;
import dev.evergreen.core.EvergreenSettings;
import dev.evergreen.core.profile.DatasetProfile;
import dev.evergreen.core.profile.ProfileBuilder;
import dev.evergreen.core.snapshot.BatchFiles;
import dev.evergreen.core.validation.FeatureChart;
import dev.evergreen.core.validation.HtmlReport;
import dev.evergreen.core.validation.ValidationContext;
import dev.evergreen.core.validation.Validator;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Checks one data file against a pipeline's rules or a constraints file, storing nothing. */
@Command(
    name = "validate",
    mixinStandardHelpOptions = true,
    description = {
      "Check a CSV or Parquet file against the validation rules of a pipeline (validate PIPELINE"
          + " DATA) or of a constraints file (validate --schema CONSTRAINTS DATA).",
      "Nothing is run or stored. Rules inferred by earlier runs and drift are not checked."
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:every error-severity constraint passed (warnings allowed)",
      "1:a file could not be read, or a constraint is invalid for the data",
      "2:invalid usage",
      "3:a constraint of severity error failed"
    })
final class ValidateCommand implements Callable<Integer> {
  /** Exit code when a constraint of severity error failed, as {@code evergreen run}'s rejection. */
  static final int EXIT_REJECTED = 3;

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  @Spec CommandSpec command;

  @Parameters(
      arity = "1..2",
      paramLabel = "FILE",
      description = "PIPELINE DATA, or DATA alone with --schema.")
  List<Path> files;

  @Option(
      names = "--schema",
      paramLabel = "CONSTRAINTS",
      description = "Constraints file (the data and validation sections of a pipeline).")
  Path constraints;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write the result as JSON.")
  Path json;

  @Option(
      names = "--html",
      paramLabel = "FILE",
      description =
          "Also write a self-contained HTML report: the verdict, every constraint with its failing"
              + " rows, and a chart of each feature's distribution.")
  Path html;

  @Option(
      names = "--environment",
      paramLabel = "NAME",
      defaultValue = ValidationSpec.TRAINING,
      description =
          "Environment whose validation.environments exclusions apply (default:"
              + " ${DEFAULT-VALUE}).")
  String environment;

  @Option(
      names = "--previous-rows",
      paramLabel = "COUNT",
      description =
          "Rows of the previous batch, for maxRowCountChange; without it that check is skipped.")
  Long previousRows;

  @Override
  public Integer call() throws IOException {
    PipelineSpec spec;
    Path data;
    if (constraints != null) {
      if (files.size() != 1) {
        throw new ParameterException(
            command.commandLine(), "with --schema, give only the DATA file, not " + files);
      }
      data = files.get(0);
      spec = fromConstraints(PipelineSpecs.loadConstraints(constraints), data);
    } else {
      if (files.size() != 2) {
        throw new ParameterException(
            command.commandLine(),
            "give a PIPELINE file and a DATA file, or --schema CONSTRAINTS and a DATA file");
      }
      spec = PipelineSpecs.load(files.get(0));
      data = files.get(1);
    }
    checkEnvironment(spec.validation());
    if (previousRows != null && previousRows < 0) {
      throw new ParameterException(
          command.commandLine(), "--previous-rows " + previousRows + " must be 0 or more");
    }
    ValidationResult result = validate(spec, data);
    if (json != null) {
      Files.writeString(json, JSON.writeValueAsString(result) + "\n", StandardCharsets.UTF_8);
    }
    print(result, command.commandLine().getOut());
    return result.accepted() ? 0 : EXIT_REJECTED;
  }

  private ValidationResult validate(PipelineSpec spec, Path data) throws IOException {
    int threads = EvergreenSettings.defaults().threads();
    String key = System.getenv(Home.ENV_PSEUDONYM_KEY);
    byte[] pseudonymKey =
        key == null || key.isEmpty() ? null : key.getBytes(StandardCharsets.UTF_8);
    // The HTML report profiles a Parquet copy of the rows, so it is written only when requested.
    Path parquet = html == null ? null : Files.createTempFile("evergreen-validate-", ".parquet");
    try {
      ValidationContext context = new ValidationContext(environment, Instant.now(), previousRows);
      Checked checked =
          BatchFiles.check(
              data,
              withoutExcluded(spec),
              pseudonymKey,
              threads,
              (batch, connection, table) -> {
                ValidationResult result =
                    new Validator(threads).check(batch, connection, table, spec, context).result();
                if (parquet != null) {
                  BatchFiles.writeParquet(connection, table, parquet);
                }
                return new Checked(batch, result);
              });
      if (html != null) {
        writeHtml(checked.result(), spec, checked.batch(), parquet, threads);
      }
      return checked.result();
    } finally {
      if (parquet != null) {
        Files.deleteIfExists(parquet);
      }
    }
  }

  private record Checked(Snapshot batch, ValidationResult result) {}

  /** Writes the HTML report, with charts of the current batch only: there is no reference. */
  private void writeHtml(
      ValidationResult result, PipelineSpec spec, Snapshot batch, Path parquet, int threads)
      throws IOException {
    DatasetProfile profile;
    try {
      profile = ProfileBuilder.ofParquet(parquet, batch.schema(), threads);
    } catch (SQLException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL, "DuckDB failed while profiling " + result.data() + ": " + e, e);
    }
    HtmlReport report =
        new HtmlReport(
            result.data(),
            result.verdict(),
            List.of(
                result.rows()
                    + " rows, environment "
                    + result.environment()
                    + ", checked at "
                    + result.checkedAt()
                    + ".",
                "No reference batch: drift is not measured, and the charts show this batch only."),
            result.constraints(),
            List.of(),
            null,
            FeatureChart.of(constraints == null ? spec : null, null, profile));
    Files.writeString(html, report.render(), StandardCharsets.UTF_8);
  }

  private void checkEnvironment(ValidationSpec validation) {
    Set<String> known = new TreeSet<>(validation.environments().keySet());
    known.add(ValidationSpec.TRAINING);
    if (!known.contains(environment)) {
      throw new ParameterException(
          command.commandLine(),
          "--environment '"
              + environment
              + "' is not declared in validation.environments; use one of "
              + String.join(", ", known));
    }
  }

  /** Returns a pipeline that holds only the constraints file's sections, for reading DATA. */
  static PipelineSpec fromConstraints(ConstraintsSpec constraints, Path data) {
    return new PipelineSpec(
        "constraints",
        new SourceSpec(null, data.toString(), null, constraints.csv(), null),
        constraints.data(),
        null,
        new FeaturesSpec(null, null, null, null),
        null,
        null,
        constraints.validation(),
        null,
        null);
  }

  /**
   * Returns the pipeline without the columns the environment excludes, so that reading a file that
   * lacks them, such as serving data without the label, does not fail.
   */
  private PipelineSpec withoutExcluded(PipelineSpec spec) {
    List<String> excluded = spec.validation().excludedIn(environment);
    if (excluded.isEmpty()) {
      return spec;
    }
    Map<String, String> columns = new LinkedHashMap<>(spec.data().columns());
    columns.keySet().removeAll(excluded);
    FeaturesSpec features = spec.features();
    FeaturesSpec kept =
        new FeaturesSpec(
            features.numeric().stream().filter(c -> !excluded.contains(c)).toList(),
            features.categorical().stream().filter(c -> !excluded.contains(c)).toList(),
            features.derived().stream().filter(d -> !excluded.contains(d.from())).toList(),
            features.allowPersonalData());
    boolean labelExcluded = spec.label() != null && excluded.contains(spec.label().column());
    return new PipelineSpec(
        spec.name(),
        spec.source(),
        new DataSpec(columns, spec.data().personalData()),
        labelExcluded ? null : spec.label(),
        kept,
        spec.split(),
        spec.trainer(),
        spec.validation(),
        spec.evaluation(),
        spec.deployment());
  }

  /** Prints one line per constraint, failures first, each failing row on a line of its own. */
  static void print(ValidationResult result, PrintWriter out) {
    for (ConstraintResult constraint : result.constraints()) {
      StringBuilder line =
          new StringBuilder()
              .append(
                  String.format(Locale.ROOT, "%-7s %-7s ", label(constraint), severity(constraint)))
              .append(constraint.column())
              .append(' ')
              .append(constraint.name())
              .append(": expected ")
              .append(constraint.expected())
              .append(", observed ")
              .append(constraint.observed());
      if (constraint.failingRows() != null && constraint.failingRows() > 0) {
        line.append(" (")
            .append(Anomaly.failingRowsText(constraint.failingRows(), constraint.failingShare()))
            .append(')');
      }
      out.println(line);
      for (ExampleRow example : constraint.examples()) {
        out.println(
            "    row "
                + example.row()
                + ": "
                + example.values().entrySet().stream()
                    .map(e -> e.getKey() + "=" + e.getValue())
                    .collect(Collectors.joining(", ")));
      }
    }
    out.println(
        result.verdict()
            + ": "
            + result.errors()
            + " errors, "
            + result.warnings()
            + " warnings, "
            + result.constraints().size()
            + " constraints on "
            + result.rows()
            + " rows of "
            + result.data());
    out.flush();
  }

  private static String label(ConstraintResult constraint) {
    return constraint.status() == ConstraintStatus.FAILED ? "FAILED" : constraint.status().text();
  }

  private static String severity(ConstraintResult constraint) {
    return constraint.severity().text();
  }
}
