package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Commands that only read a data directory, and {@code rollback}, which needs an existing champion:
 * each rejects a {@code --home} without a metadata database and creates nothing, so a mistyped path
 * in a CI check fails instead of checking an empty directory.
 */
class ReadOnlyHomeTest {
  private static final String RUN_ID = "0".repeat(32);

  @TempDir Path work;

  static Stream<List<String>> readOnlyCommands() {
    return Stream.of(
        List.of("audit", "verify"),
        List.of("audit", "list"),
        List.of("models", "list"),
        List.of("models", "show", "flights-delay"),
        List.of("models", "history", "flights-delay"),
        List.of("runs", "list"),
        List.of("runs", "show", RUN_ID),
        List.of("runs", "report", RUN_ID, "--html", "report.html"),
        List.of("lineage", "flights-delay:1"),
        List.of("rollback", "flights-delay"),
        List.of("tokens", "list"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("readOnlyCommands")
  void missingHomeIsRejectedAndNotCreated(List<String> command) {
    Path home = work.resolve("does-not-exist");

    Result result = execute(command, home);

    assertThat(result.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(result.error()).contains(home.toAbsolutePath().toString());
    assertThat(result.error()).contains("does not exist");
    assertThat(result.error()).contains("--home").contains("evergreen run");
    assertThat(home).doesNotExist();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("readOnlyCommands")
  void homeWithoutDatabaseIsRejected(List<String> command) throws Exception {
    Path home = work.resolve("home");
    assertThat(execute(List.of("tokens", "create", "ci", "--role", "viewer"), home).exitCode())
        .isZero();
    Files.delete(home.resolve(Home.METADATA_FILE));

    Result result = execute(command, home);

    assertThat(result.exitCode()).isEqualTo(Main.EXIT_FAILED);
    assertThat(result.error()).contains(home.toAbsolutePath().toString());
    assertThat(result.error()).contains("has no metadata database " + Home.METADATA_FILE);
    assertThat(home.resolve(Home.METADATA_FILE)).doesNotExist();
  }

  @Test
  void commandThatCreatesDataCreatesHome() {
    Path home = work.resolve("new-home");

    Result created = execute(List.of("tokens", "create", "ci", "--role", "viewer"), home);
    Result verified = execute(List.of("audit", "verify"), home);

    assertThat(created.exitCode()).isZero();
    assertThat(home.resolve(Home.METADATA_FILE)).isRegularFile();
    assertThat(verified.exitCode()).isZero();
  }

  private record Result(int exitCode, String error) {}

  private Result execute(List<String> command, Path home) {
    List<String> args = new ArrayList<>(command);
    args.replaceAll(arg -> arg.equals("report.html") ? work.resolve(arg).toString() : arg);
    args.add("--home");
    args.add(home.toString());
    StringWriter error = new StringWriter();
    int code =
        Main.commandLine()
            .setErr(new PrintWriter(error, true))
            .execute(args.toArray(String[]::new));
    return new Result(code, error.toString());
  }
}
