package dev.evergreen.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.Evergreen;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Splits a model's traffic on a running server: canaries, shadows and dynamic batching. These live
 * in the serving process, so the subcommands talk to the server's REST API. Only {@code abort} and
 * {@code shadow-stop} also work without a server: they withdraw a setting that is stored in the
 * data directory and that no server runs now.
 */
@Command(
    name = "traffic",
    mixinStandardHelpOptions = true,
    description = {
      "Start, ramp, promote or abort a canary, start or stop a shadow, set dynamic batching, or show how"
          + " a model's traffic is split, on the server at --url (or $EVERGREEN_URL) with an"
          + " operator token (--token or $EVERGREEN_TOKEN). Each change is audited."
    },
    subcommands = {
      TrafficCommand.Show.class,
      TrafficCommand.StartCanary.class,
      TrafficCommand.Promote.class,
      TrafficCommand.Ramp.class,
      TrafficCommand.Abort.class,
      TrafficCommand.StartShadow.class,
      TrafficCommand.StopShadow.class,
      TrafficCommand.Batching.class
    })
final class TrafficCommand {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Server address and token options shared by the subcommands. */
  static final class ServerOptions {
    @Option(
        names = "--url",
        paramLabel = "URL",
        description = "Server base URL, such as http://127.0.0.1:8080 (default: $EVERGREEN_URL).")
    String url;

    @Option(
        names = "--token",
        paramLabel = "TOKEN",
        description = "Token (operator to change, viewer to show; default: $EVERGREEN_TOKEN).")
    String token;

    /**
     * Returns whether the command goes to a server rather than to the data directory: --url, else
     * --home (which names the directory), else $EVERGREEN_URL.
     *
     * @throws EvergreenException INVALID when both --url and --home are given
     */
    boolean toServer(HomeOption home) {
      if (url != null && home.home != null) {
        throw EvergreenException.invalid(
            "pass --url to change a running server or --home to withdraw a stored setting, not"
                + " both");
      }
      if (url != null) {
        return true;
      }
      if (home.home != null) {
        return false;
      }
      String base = System.getenv("EVERGREEN_URL");
      return base != null && !base.isBlank();
    }

    /** Sends a request and prints the response body; returns the exit code. */
    int send(String method, String path, String body) throws Exception {
      String base = url != null ? url : System.getenv("EVERGREEN_URL");
      if (base == null || base.isBlank()) {
        throw EvergreenException.invalid(
            "traffic commands change the running server: pass --url (such as"
                + " http://127.0.0.1:8080) or set EVERGREEN_URL; abort and shadow-stop also take"
                + " --home to withdraw a setting stored in a data directory");
      }
      String secret = token != null ? token : System.getenv("EVERGREEN_TOKEN");
      if (secret == null || secret.isBlank()) {
        throw EvergreenException.invalid(
            "traffic commands need a token: pass --token or set EVERGREEN_TOKEN");
      }
      URI uri;
      try {
        uri = URI.create(base.replaceAll("/+$", "") + path);
      } catch (IllegalArgumentException e) {
        throw EvergreenException.invalid("--url '" + base + "' is not a URL: " + e.getMessage());
      }
      HttpRequest.Builder request =
          HttpRequest.newBuilder(uri)
              .timeout(Duration.ofMinutes(5))
              .header("Authorization", "Bearer " + secret)
              .method(
                  method,
                  body == null
                      ? HttpRequest.BodyPublishers.noBody()
                      : HttpRequest.BodyPublishers.ofString(body));
      if (body != null) {
        request.header("Content-Type", "application/json");
      }
      HttpResponse<String> response = ServerCalls.send(request.build(), base);
      if (response.statusCode() / 100 == 2) {
        System.out.println(response.body());
        return 0;
      }
      System.err.println(Formats.serverError(response.statusCode(), response.body()));
      return Main.EXIT_FAILED;
    }
  }

  private static String modelPath(String model, String action) {
    return "/api/v1/models/" + model + action;
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "Show the active, standby, canary and shadow versions and batching of MODEL.")
  static final class Show implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL")
    String model;

    @Mixin ServerOptions server;

    @Override
    public Integer call() throws Exception {
      return server.send("GET", modelPath(model, "/serving"), null);
    }
  }

  @Command(
      name = "canary",
      mixinStandardHelpOptions = true,
      description = {
        "Load and check VERSION of MODEL and send it --percent of requests. A request with the"
            + " key header always reaches the same version. The canary is rolled back"
            + " automatically when its error rate or p99 latency over the window exceeds the"
            + " limits."
      })
  static final class StartCanary implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL")
    String model;

    @Parameters(index = "1", paramLabel = "VERSION")
    int version;

    @Option(
        names = "--percent",
        description = "Share of requests, 0.01 to 99.99 in steps of 0.01 (10).")
    Double percent;

    @Option(names = "--key-header", description = "Header that routes a request (X-Evergreen-Key).")
    String keyHeader;

    @Option(names = "--key-input", description = "Input whose first-row value routes a request.")
    String keyInput;

    @Option(names = "--max-error-rate", description = "Largest server error share, 0 to 1 (0.05).")
    Double maxErrorRate;

    @Option(names = "--max-p99-ms", description = "Largest p99 latency in milliseconds (none).")
    Double maxP99Millis;

    @Option(names = "--window-seconds", description = "Sliding window of the limits (60).")
    Integer windowSeconds;

    @Option(names = "--min-requests", description = "Requests needed before judging (50).")
    Integer minRequests;

    @Mixin ServerOptions server;

    @Override
    public Integer call() throws Exception {
      ObjectNode body = JSON.createObjectNode();
      body.put("version", version);
      putIfSet(body, "percent", percent);
      putIfSet(body, "key_header", keyHeader);
      putIfSet(body, "key_input", keyInput);
      ObjectNode rollback = body.putObject("rollback");
      putIfSet(rollback, "max_error_rate", maxErrorRate);
      putIfSet(rollback, "max_p99_millis", maxP99Millis);
      putIfSet(rollback, "window_seconds", windowSeconds);
      putIfSet(rollback, "min_requests", minRequests);
      return server.send("POST", modelPath(model, "/canary"), body.toString());
    }
  }

  @Command(
      name = "promote",
      mixinStandardHelpOptions = true,
      description = "Send all traffic of MODEL to its canary and make it the champion.")
  static final class Promote implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL")
    String model;

    @Mixin ServerOptions server;

    @Override
    public Integer call() throws Exception {
      return server.send("POST", modelPath(model, "/canary/promote"), "");
    }
  }

  @Command(
      name = "ramp",
      mixinStandardHelpOptions = true,
      description = {
        "Change the share of requests that the canary of MODEL takes, keeping its key settings,"
            + " rollback limits and rollback window.",
        "Keyed callers on the canary stay on it when the share grows."
      })
  static final class Ramp implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL")
    String model;

    @Option(
        names = "--percent",
        required = true,
        description = "New share of requests, 0.01 to 99.99 in steps of 0.01.")
    Double percent;

    @Mixin ServerOptions server;

    @Override
    public Integer call() throws Exception {
      ObjectNode body = JSON.createObjectNode();
      body.put("percent", percent);
      return server.send("POST", modelPath(model, "/canary/percent"), body.toString());
    }
  }

  @Command(
      name = "abort",
      mixinStandardHelpOptions = true,
      description = {
        "Stop the canary of MODEL; all traffic returns to the active version.",
        "With --home, or without --url and $EVERGREEN_URL, withdraw the canary stored in the data"
            + " directory that no server runs now, such as one that `evergreen run`"
            + " requested while no server ran."
      })
  static final class Abort implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL")
    String model;

    @Option(names = "--reason", description = "Why, recorded in the audit log.")
    String reason;

    @Mixin ServerOptions server;

    @Mixin HomeOption home;

    @Override
    public Integer call() throws Exception {
      if (!server.toServer(home)) {
        return withdrawStored(
            home,
            evergreen -> evergreen.deployments().withdrawStoredCanary(model, Main.actor(), reason));
      }
      ObjectNode body = JSON.createObjectNode();
      putIfSet(body, "reason", reason);
      return server.send("POST", modelPath(model, "/canary/abort"), body.toString());
    }
  }

  @Command(
      name = "shadow",
      mixinStandardHelpOptions = true,
      description =
          "Load and check VERSION of MODEL and let it score a copy of --percent of requests in"
              + " the background; callers only get the active version's scores.")
  static final class StartShadow implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL")
    String model;

    @Parameters(index = "1", paramLabel = "VERSION")
    int version;

    @Option(
        names = "--percent",
        description = "Share of requests copied, 0.01 to 100 in steps of 0.01 (100).")
    Double percent;

    @Option(names = "--tolerance", description = "Largest score difference that agrees (1e-6).")
    Double tolerance;

    @Mixin ServerOptions server;

    @Override
    public Integer call() throws Exception {
      ObjectNode body = JSON.createObjectNode();
      body.put("version", version);
      putIfSet(body, "percent", percent);
      putIfSet(body, "tolerance", tolerance);
      return server.send("POST", modelPath(model, "/shadow"), body.toString());
    }
  }

  @Command(
      name = "shadow-stop",
      mixinStandardHelpOptions = true,
      description = {
        "Stop the shadow of MODEL.",
        "With --home, or without --url and $EVERGREEN_URL, withdraw the shadow stored in the data"
            + " directory that no server runs now."
      })
  static final class StopShadow implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL")
    String model;

    @Mixin ServerOptions server;

    @Mixin HomeOption home;

    @Override
    public Integer call() throws Exception {
      if (!server.toServer(home)) {
        return withdrawStored(
            home, evergreen -> evergreen.deployments().withdrawStoredShadow(model, Main.actor()));
      }
      return server.send("DELETE", modelPath(model, "/shadow"), null);
    }
  }

  /**
   * Withdraws a stored canary or shadow in the data directory while holding its server lock, so
   * that no server starts on the directory and restores the setting meanwhile.
   */
  private static int withdrawStored(HomeOption home, Function<Evergreen, String> withdraw)
      throws Exception {
    Path dir = home.resolve();
    if (!Files.isRegularFile(dir.resolve(Home.METADATA_FILE))) {
      throw EvergreenException.notFound(
          "data directory "
              + dir.toAbsolutePath()
              + " has no metadata database; pass --home with the server's data directory, or"
              + " --url to reach a running server");
    }
    ServerLock lock;
    try {
      lock = ServerLock.acquire(dir);
    } catch (EvergreenException e) {
      throw new EvergreenException(
          ErrorKind.CONFLICT,
          "a server runs on data directory "
              + dir.toAbsolutePath()
              + ", so it may run this setting; change it there: pass that server's --url in place"
              + " of --home, or drop --home when EVERGREEN_URL names that server");
    }
    try (lock;
        Evergreen evergreen = Home.open(dir, new SimpleMeterRegistry())) {
      System.out.println(withdraw.apply(evergreen));
    }
    return 0;
  }

  @Command(
      name = "batching",
      mixinStandardHelpOptions = true,
      description =
          "Score requests to MODEL that arrive within --max-delay-ms of each other as one batch"
              + " of at most --max-batch-size rows, with at most --max-queue waiting; --off turns"
              + " batching off.")
  static final class Batching implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL")
    String model;

    @Option(names = "--max-batch-size", description = "Rows per batch at most (64).")
    Integer maxBatchSize;

    @Option(names = "--max-delay-ms", description = "Maximum wait of a batch's first request (2).")
    Double maxDelayMillis;

    @Option(names = "--max-queue", description = "Waiting requests at most; more get 503 (1024).")
    Integer maxQueue;

    @Option(names = "--off", description = "Turn batching off.")
    boolean off;

    @Mixin ServerOptions server;

    @Override
    public Integer call() throws Exception {
      if (off) {
        if (maxBatchSize != null || maxDelayMillis != null || maxQueue != null) {
          throw EvergreenException.invalid(
              "--off turns batching off, so it takes no --max-batch-size, --max-delay-ms or"
                  + " --max-queue; pass either --off or the settings");
        }
        return server.send("DELETE", modelPath(model, "/batching"), null);
      }
      ObjectNode body = JSON.createObjectNode();
      putIfSet(body, "max_batch_size", maxBatchSize);
      putIfSet(body, "max_delay_millis", maxDelayMillis);
      putIfSet(body, "max_queue", maxQueue);
      return server.send("PUT", modelPath(model, "/batching"), body.toString());
    }
  }

  private static void putIfSet(ObjectNode node, String field, Object value) {
    if (value instanceof Integer number) {
      node.put(field, number);
    } else if (value instanceof Double number) {
      node.put(field, number);
    } else if (value instanceof String text) {
      node.put(field, text);
    }
  }
}
