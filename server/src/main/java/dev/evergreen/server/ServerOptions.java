package dev.evergreen.server;

import dev.evergreen.api.EvergreenException;

/**
 * Listening address and thread count of the HTTP server.
 *
 * @param host address to bind, {@code 127.0.0.1} by default so that nothing is exposed unless asked
 * @param port TCP port, 0 for an ephemeral port that {@link EvergreenServer#port()} returns
 * @param eventLoops event-loop threads, each with its own HTTP server instance on the same port
 */
public record ServerOptions(String host, int port, int eventLoops) {
  public static final String DEFAULT_HOST = "127.0.0.1";

  public ServerOptions {
    if (host == null || host.isBlank()) {
      host = DEFAULT_HOST;
    }
    if (port < 0 || port > 65_535) {
      throw EvergreenException.invalid("port must be between 0 and 65535, got " + port);
    }
    if (eventLoops < 1) {
      throw EvergreenException.invalid("event loops must be at least 1, got " + eventLoops);
    }
  }

  /** Returns options for the default host with one event loop per available processor. */
  public static ServerOptions defaults(int port) {
    return new ServerOptions(DEFAULT_HOST, port, Runtime.getRuntime().availableProcessors());
  }
}
