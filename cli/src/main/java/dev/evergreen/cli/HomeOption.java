package dev.evergreen.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The {@code --home} option shared by commands that open a data directory. */
final class HomeOption {
  @Option(
      names = "--home",
      paramLabel = "DIR",
      description =
          "Data directory with metadata.db and artifacts/ (default: $EVERGREEN_HOME, else"
              + " ./.evergreen). Commands that only read it fail when it has no metadata.db;"
              + " run, server, models register and tokens create create it.")
  Path home;

  Path resolve() {
    return Home.resolve(home);
  }
}
