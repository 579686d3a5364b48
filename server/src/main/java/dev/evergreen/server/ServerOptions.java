package dev.evergreen.server;

import dev.evergreen.api.EvergreenException;
import java.nio.file.Path;
import java.util.List;

/**
 * Listening addresses and thread count of the server.
 *
 * @param host address to bind, {@code 127.0.0.1} by default so that nothing is exposed unless asked
 * @param port TCP port of the HTTP server, 0 for an ephemeral port that {@link
 *     EvergreenServer#port()} returns
 * @param eventLoops event-loop threads, each with its own HTTP server instance on the same port
 * @param predictionSample share of scored rows, 0 to 1, added to each model version's serving
 *     profile for {@code GET /api/v1/models/{name}/versions/{version}/skew}
 * @param grpcPort TCP port of the Open Inference Protocol gRPC service on the same host and event
 *     loops, 0 for an ephemeral port that {@link EvergreenServer#grpcPort()} returns, {@link
 *     #GRPC_OFF} for no gRPC service
 * @param dataFolders folders, besides each pipeline's own, from which {@code POST
 *     /api/v1/pipelines/{name}/runs} may read data files
 * @param tls the certificate and key that both ports serve TLS with, null for plaintext
 */
public record ServerOptions(
    String host,
    int port,
    int eventLoops,
    double predictionSample,
    int grpcPort,
    List<Path> dataFolders,
    TlsFiles tls) {
  public static final String DEFAULT_HOST = "127.0.0.1";

  /** The {@code grpcPort} that turns the gRPC service off. */
  public static final int GRPC_OFF = -1;

  public ServerOptions {
    if (host == null || host.isBlank()) {
      host = DEFAULT_HOST;
    }
    if (port < 0 || port > 65_535) {
      throw EvergreenException.invalid("port must be between 0 and 65535, got " + port);
    }
    if (grpcPort < GRPC_OFF || grpcPort > 65_535) {
      throw EvergreenException.invalid(
          "gRPC port must be between 0 and 65535, or -1 to turn gRPC off, got " + grpcPort);
    }
    if (grpcPort > 0 && grpcPort == port) {
      throw EvergreenException.invalid(
          "gRPC port " + grpcPort + " is also the HTTP port; choose two different ports");
    }
    if (eventLoops < 1) {
      throw EvergreenException.invalid("event loops must be at least 1, got " + eventLoops);
    }
    if (!(predictionSample >= 0.0 && predictionSample <= 1.0)) {
      throw EvergreenException.invalid(
          "prediction sample must be between 0 and 1, got " + predictionSample);
    }
    dataFolders =
        dataFolders == null
            ? List.of()
            : dataFolders.stream().map(f -> f.toAbsolutePath().normalize()).toList();
  }

  /** Creates options without extra data folders. */
  public ServerOptions(
      String host, int port, int eventLoops, double predictionSample, int grpcPort) {
    this(host, port, eventLoops, predictionSample, grpcPort, List.of(), null);
  }

  /** Creates options without the gRPC service. */
  public ServerOptions(String host, int port, int eventLoops, double predictionSample) {
    this(host, port, eventLoops, predictionSample, GRPC_OFF);
  }

  /**
   * Creates options without the gRPC service that sample the share of scored rows set by {@code
   * EVERGREEN_PREDICTION_SAMPLE}, 0.01 when it is not set.
   */
  public ServerOptions(String host, int port, int eventLoops) {
    this(host, port, eventLoops, PredictionSampler.fractionFromEnvironment());
  }

  /** Returns options for the default host with one event loop per available processor. */
  public static ServerOptions defaults(int port) {
    return new ServerOptions(DEFAULT_HOST, port, Runtime.getRuntime().availableProcessors());
  }

  /** Returns these options with the gRPC service on {@code grpcPort}, or off for -1. */
  public ServerOptions withGrpcPort(int grpcPort) {
    return new ServerOptions(host, port, eventLoops, predictionSample, grpcPort, dataFolders, tls);
  }

  /** Returns these options with further folders that pipeline runs may read data from. */
  public ServerOptions withDataFolders(List<Path> dataFolders) {
    return new ServerOptions(host, port, eventLoops, predictionSample, grpcPort, dataFolders, tls);
  }

  /** Returns these options serving TLS with {@code tls} on both ports, or plaintext for null. */
  public ServerOptions withTls(TlsFiles tls) {
    return new ServerOptions(host, port, eventLoops, predictionSample, grpcPort, dataFolders, tls);
  }
}
