package dev.evergreen.cli;

import dev.evergreen.api.EvergreenException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code evergreen} command. */
@Command(
    name = "evergreen",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Continuous training: version, validate, retrain, compare, register, deploy.",
    subcommands = {
      ServerCommand.class,
      RunCommand.class,
      ValidateCommand.class,
      SchemaCommand.class,
      RulesCommand.class,
      ModelsCommand.class,
      RollbackCommand.class,
      TrafficCommand.class,
      RunsCommand.class,
      AuditCommand.class,
      LineageCommand.class,
      TokensCommand.class,
      DemoCommand.class,
      CommandLine.HelpCommand.class
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:success (for run: the challenger was promoted)",
      "1:the command or run failed, or a file or data directory it reads does not exist",
      "2:invalid command-line usage",
      "3:run, validate: validation rejected the data",
      "4:run: the gate kept the champion",
      "5:audit verify: the audit log was altered",
      "6:run: the gate promoted no version and the model has no champion"
    })
public final class Main {
  /** Exit code when the command failed with an error. */
  static final int EXIT_FAILED = 1;

  /** Exit code of {@code audit verify} when the chain is broken. */
  static final int EXIT_AUDIT_BROKEN = 5;

  private Main() {}

  public static void main(String[] args) {
    System.exit(execute(args));
  }

  /** Runs a command line and returns its exit code, without exiting the JVM. */
  public static int execute(String... args) {
    return commandLine().execute(args);
  }

  static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(Main.class);
    commandLine.setExecutionExceptionHandler(
        (exception, line, parseResult) -> {
          if (exception instanceof EvergreenException e) {
            line.getErr().println("error: " + e.getMessage());
          } else {
            line.getErr().println("error: " + exception);
            exception.printStackTrace(line.getErr());
          }
          return EXIT_FAILED;
        });
    return commandLine;
  }

  /** Actor name recorded in the audit log for commands run from a shell. */
  static String actor() {
    return "cli:" + System.getProperty("user.name", "unknown");
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = Main.class.getPackage().getImplementationVersion();
      return new String[] {"evergreen " + (version == null ? "development build" : version)};
    }
  }
}
