package dev.evergreen.cli;

import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.ConstraintsSpec;
import dev.evergreen.api.pipeline.CsvSpec;
import dev.evergreen.core.EvergreenSettings;
import dev.evergreen.core.snapshot.BatchFiles;
import dev.evergreen.core.validation.ConstraintsYaml;
import dev.evergreen.core.validation.RuleInference;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Works with constraints files, the input of {@code evergreen validate --schema}. */
@Command(
    name = "schema",
    mixinStandardHelpOptions = true,
    description = "Suggest constraints files from data.",
    subcommands = {SchemaCommand.Infer.class})
final class SchemaCommand {
  @Command(
      name = "infer",
      mixinStandardHelpOptions = true,
      description = {
        "Suggest a constraints file from a CSV or Parquet file: column types, non-null and"
            + " completeness, non-negative numbers, unique keys and the values of low-cardinality"
            + " text columns.",
        "Each suggestion carries a comment naming the statistic it came from. The file passes on"
            + " the data it was inferred from; edit it before using it on other batches."
      },
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {"0:the file was written", "1:the data could not be read", "2:invalid usage"})
  static final class Infer implements Callable<Integer> {
    @Spec CommandSpec command;

    @Parameters(index = "0", paramLabel = "DATA", description = "CSV or Parquet file.")
    Path data;

    @Option(
        names = "--out",
        paramLabel = "FILE",
        description = "Write the constraints file here instead of to standard output.")
    Path out;

    @Override
    public Integer call() throws IOException {
      int threads = EvergreenSettings.defaults().threads();
      ConstraintsSpec none = new ConstraintsSpec(null, null, CsvSpec.DEFAULT);
      Path parquet = Files.createTempFile("evergreen-infer-", ".parquet");
      String yaml;
      try {
        Snapshot batch =
            BatchFiles.read(
                data, ValidateCommand.fromConstraints(none, data), parquet, null, threads);
        yaml = ConstraintsYaml.write(batch, RuleInference.suggest(batch, parquet, threads));
      } finally {
        Files.deleteIfExists(parquet);
      }
      if (out == null) {
        command.commandLine().getOut().print(yaml);
        command.commandLine().getOut().flush();
      } else {
        Files.writeString(out, yaml, StandardCharsets.UTF_8);
        command.commandLine().getOut().println("wrote " + out);
        command.commandLine().getOut().flush();
      }
      return 0;
    }
  }
}
