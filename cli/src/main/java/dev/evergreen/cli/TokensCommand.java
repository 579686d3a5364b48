package dev.evergreen.cli;

import dev.evergreen.api.security.Role;
import dev.evergreen.api.security.Token;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.security.IssuedToken;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Manages bearer tokens directly in a data directory. */
@Command(
    name = "tokens",
    mixinStandardHelpOptions = true,
    description = "Create and list bearer tokens (needs write access to the data directory).",
    subcommands = {TokensCommand.Create.class, TokensCommand.ListTokens.class})
final class TokensCommand {
  @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a token.")
  static final class Create implements Callable<Integer> {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(
        names = "--role",
        required = true,
        description = "viewer (read, infer), operator (run, deploy, rollback) or admin (tokens).")
    String role;

    @Mixin HomeOption home;

    @Override
    public Integer call() throws Exception {
      Role parsed;
      try {
        parsed = Role.parse(role);
      } catch (IllegalArgumentException e) {
        throw dev.evergreen.api.EvergreenException.invalid("--role: " + e.getMessage());
      }
      try (Evergreen evergreen = Home.open(home.resolve(), new SimpleMeterRegistry())) {
        IssuedToken issued = evergreen.tokens().create(name, parsed, Main.actor());
        System.out.println("token " + issued.token().id() + " (" + role + "); shown only once:");
        System.out.println(issued.secret());
      }
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List tokens.")
  static final class ListTokens implements Callable<Integer> {
    @Mixin HomeOption home;

    @Override
    public Integer call() throws Exception {
      try (Evergreen evergreen = Home.openExisting(home.resolve(), new SimpleMeterRegistry())) {
        for (Token token : evergreen.tokens().list()) {
          System.out.printf(
              "%s  %-20s %-8s %s%n",
              token.id(), token.name(), token.role().name().toLowerCase(), token.createdAt());
        }
      }
      return 0;
    }
  }
}
