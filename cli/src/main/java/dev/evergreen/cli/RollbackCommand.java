package dev.evergreen.cli;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.Aliases;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.audit.AuditActions;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Returns a model's champion to the version that served before it. */
@Command(
    name = "rollback",
    mixinStandardHelpOptions = true,
    description = {
      "Move the champion of MODEL back to the version that was champion before it.",
      "With --url (or $EVERGREEN_URL) the running server switches at once to the previous"
          + " version, which it keeps loaded. Without it the alias moves in --home and a server on"
          + " that home switches within its poll interval."
    })
final class RollbackCommand implements Callable<Integer> {
  @Parameters(paramLabel = "MODEL")
  String model;

  @Mixin HomeOption home;

  @Option(
      names = "--url",
      paramLabel = "URL",
      description = "Server base URL, such as http://127.0.0.1:8080 (default: $EVERGREEN_URL).")
  String url;

  @Option(
      names = "--token",
      paramLabel = "TOKEN",
      description = "Operator token for --url (default: $EVERGREEN_TOKEN).")
  String token;

  @Override
  public Integer call() throws Exception {
    String base = url != null ? url : System.getenv("EVERGREEN_URL");
    if (base != null && !base.isBlank()) {
      return viaServer(base, token != null ? token : System.getenv("EVERGREEN_TOKEN"));
    }
    try (Evergreen evergreen = Home.openExisting(home.resolve(), new SimpleMeterRegistry())) {
      Integer current = evergreen.registry().aliases(model).get(Aliases.CHAMPION);
      if (current == null) {
        throw EvergreenException.notFound(
            "model '" + model + "' has no champion; list models with `evergreen models list`");
      }
      Integer previous = previousChampion(evergreen.registry().aliasHistory(model), current);
      if (previous == null) {
        throw new EvergreenException(
            dev.evergreen.api.ErrorKind.CONFLICT,
            "model '" + model + "' has no earlier champion than version " + current);
      }
      evergreen
          .store()
          .inTransaction(
              () -> {
                evergreen
                    .registry()
                    .moveAlias(
                        model,
                        Aliases.CHAMPION,
                        previous,
                        Main.actor(),
                        "rollback from version " + current);
                evergreen
                    .audit()
                    .append(
                        Main.actor(),
                        AuditActions.ROLLBACK,
                        Map.of("model", model, "version", previous.toString()),
                        Map.of("from", current.toString()));
              });
      System.out.println(
          "champion of " + model + " moved from version " + current + " to " + previous);
    }
    return 0;
  }

  /** Returns the version the champion alias pointed to before it last moved to {@code current}. */
  static Integer previousChampion(List<AliasMove> history, int current) {
    for (int i = history.size() - 1; i >= 0; i--) {
      AliasMove move = history.get(i);
      if (move.alias().equals(Aliases.CHAMPION)
          && move.toVersion() != null
          && move.toVersion() == current) {
        return move.fromVersion();
      }
    }
    return null;
  }

  private int viaServer(String base, String secret) throws Exception {
    if (secret == null || secret.isBlank()) {
      throw EvergreenException.invalid(
          "rollback through "
              + base
              + " needs an operator token: pass --token or set"
              + " EVERGREEN_TOKEN");
    }
    HttpRequest request =
        HttpRequest.newBuilder(
                URI.create(base.replaceAll("/+$", "") + "/api/v1/models/" + model + "/rollback"))
            .header("Authorization", "Bearer " + secret)
            .POST(HttpRequest.BodyPublishers.noBody())
            .build();
    HttpResponse<String> response = ServerCalls.send(request, base);
    if (response.statusCode() / 100 != 2) {
      System.err.println(Formats.serverError(response.statusCode(), response.body()));
      return Main.EXIT_FAILED;
    }
    System.out.println(response.body());
    return 0;
  }
}
