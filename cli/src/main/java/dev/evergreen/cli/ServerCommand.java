package dev.evergreen.cli;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.server.TlsFiles;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Starts the server and blocks until the process is stopped. */
@Command(
    name = "server",
    mixinStandardHelpOptions = true,
    description = {
      "Serve the champion of each model over the Open Inference Protocol (V2 REST and gRPC), the"
          + " REST API and /metrics, and run pipelines on files arriving in their landing folders.",
      "On first start an admin token is created and printed once; set EVERGREEN_ADMIN_TOKEN to"
          + " choose it instead."
    })
final class ServerCommand implements Callable<Integer> {
  static final String ENV_PORT = "EVERGREEN_PORT";
  static final String ENV_GRPC_PORT = "EVERGREEN_GRPC_PORT";
  static final String ENV_HOST = "EVERGREEN_HOST";
  static final String ENV_ADMIN_TOKEN = "EVERGREEN_ADMIN_TOKEN";
  static final String ENV_TLS_CERT = "EVERGREEN_TLS_CERT";
  static final String ENV_TLS_KEY = "EVERGREEN_TLS_KEY";

  /** Maximum shutdown delay or timeout: one hour, above Kubernetes' usual grace periods. */
  static final long MAX_SHUTDOWN_SECONDS = 3_600;

  @Mixin HomeOption home;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      description = "TCP port (default: $EVERGREEN_PORT, else 8080; 0 picks a free port).")
  Integer port;

  @Option(
      names = "--grpc-port",
      paramLabel = "PORT",
      description =
          "TCP port of the Open Inference Protocol gRPC service (default: $EVERGREEN_GRPC_PORT,"
              + " else 8081; 0 picks a free port, -1 turns gRPC off).")
  Integer grpcPort;

  @Option(
      names = "--host",
      paramLabel = "ADDRESS",
      description = "Address to listen on (default: $EVERGREEN_HOST, else 127.0.0.1).")
  String host;

  @Option(
      names = "--tls-cert",
      paramLabel = "FILE",
      description =
          "PEM certificate chain, the server's certificate first, to serve HTTPS and gRPC over TLS"
              + " on both ports (default: $EVERGREEN_TLS_CERT). Needs --tls-key. The files are"
              + " read again every minute, so a renewed certificate needs no restart.")
  Path tlsCert;

  @Option(
      names = "--tls-key",
      paramLabel = "FILE",
      description =
          "PEM private key of the --tls-cert certificate, PKCS#8 or PKCS#1 (default:"
              + " $EVERGREEN_TLS_KEY).")
  Path tlsKey;

  @Option(
      names = "--shutdown-delay",
      paramLabel = "SECONDS",
      defaultValue = "0",
      description =
          "On SIGTERM, report not ready for this long while still serving, so that load balancers"
              + " stop sending requests first; each REST response meanwhile closes its connection."
              + " Use a few seconds behind Kubernetes Services (default: ${DEFAULT-VALUE}).")
  long shutdownDelaySeconds;

  @Option(
      names = "--shutdown-timeout",
      paramLabel = "SECONDS",
      defaultValue = "30",
      description =
          "Then stop accepting connections and wait this long at most for requests in progress"
              + " before exiting (default: ${DEFAULT-VALUE}).")
  long shutdownTimeoutSeconds;

  @Option(
      names = "--pipeline",
      paramLabel = "FILE",
      description =
          "Pipeline file to run on its landing folder; repeatable. Files in"
              + " HOME/pipelines/*.yaml are added.")
  List<Path> pipelines = new ArrayList<>();

  @Option(
      names = "--data-dir",
      paramLabel = "FOLDER",
      description =
          "Folder from which pipeline runs submitted over HTTP may read data files, besides each"
              + " pipeline's own folders; repeatable.")
  List<Path> dataFolders = new ArrayList<>();

  @Option(
      names = "--poll-millis",
      paramLabel = "MS",
      defaultValue = "500",
      description =
          "How often to look for landing files and registry changes, in milliseconds"
              + " (default: ${DEFAULT-VALUE}).")
  long pollMillis;

  @Override
  public Integer call() throws Exception {
    int resolvedPort = port != null ? port : intFromEnv(ENV_PORT, 8080);
    int resolvedGrpcPort = grpcPort != null ? grpcPort : intFromEnv(ENV_GRPC_PORT, 8081);
    String resolvedHost = host != null ? host : envOr(ENV_HOST, "127.0.0.1");
    if (shutdownDelaySeconds < 0
        || shutdownTimeoutSeconds < 0
        || shutdownDelaySeconds > MAX_SHUTDOWN_SECONDS
        || shutdownTimeoutSeconds > MAX_SHUTDOWN_SECONDS) {
      throw EvergreenException.invalid(
          "--shutdown-delay "
              + shutdownDelaySeconds
              + " and --shutdown-timeout "
              + shutdownTimeoutSeconds
              + " must both be from 0 to "
              + MAX_SHUTDOWN_SECONDS
              + " seconds");
    }
    TlsFiles tls = tls(tlsCert, envPath(ENV_TLS_CERT), tlsKey, envPath(ENV_TLS_KEY));
    ServerRuntime runtime =
        ServerRuntime.start(
            home.resolve(),
            resolvedHost,
            resolvedPort,
            resolvedGrpcPort,
            pipelines,
            dataFolders,
            tls,
            System.getenv(ENV_ADMIN_TOKEN),
            Duration.ofMillis(pollMillis));
    runtime
        .createdAdminSecret()
        .ifPresent(
            secret -> {
              System.out.println("Created the admin token. It is shown only this once:");
              System.out.println("  " + secret);
            });
    System.out.println(
        "Evergreen serving on "
            + (tls == null ? "http" : "https")
            + "://"
            + resolvedHost
            + ":"
            + runtime.port()
            + " (home "
            + home.resolve().toAbsolutePath()
            + ")");
    if (runtime.grpcPort() >= 0) {
      System.out.println(
          "Open Inference Protocol gRPC"
              + (tls == null ? "" : " over TLS")
              + " on "
              + resolvedHost
              + ":"
              + runtime.grpcPort());
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  runtime.shutdown(
                      Duration.ofSeconds(shutdownDelaySeconds),
                      Duration.ofSeconds(shutdownTimeoutSeconds));
                  stopped.countDown();
                }));
    stopped.await();
    return 0;
  }

  /**
   * Returns the TLS files from the options, each falling back to its environment variable, or null
   * when neither file is given.
   *
   * @throws EvergreenException INVALID_INPUT when only one of the two is given
   */
  static TlsFiles tls(Path cert, Path envCert, Path key, Path envKey) {
    Path resolvedCert = cert != null ? cert : envCert;
    Path resolvedKey = key != null ? key : envKey;
    if (resolvedCert == null && resolvedKey == null) {
      return null;
    }
    if (resolvedCert == null || resolvedKey == null) {
      throw EvergreenException.invalid(
          (resolvedCert == null
                  ? "--tls-key " + resolvedKey + " was given without --tls-cert"
                  : "--tls-cert " + resolvedCert + " was given without --tls-key")
              + "; TLS needs both the certificate chain and its private key (or "
              + ENV_TLS_CERT
              + " and "
              + ENV_TLS_KEY
              + ")");
    }
    return new TlsFiles(resolvedCert, resolvedKey);
  }

  private static Path envPath(String name) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? null : Path.of(value);
  }

  static int intFromEnv(String name, int fallback) {
    String value = System.getenv(name);
    if (value == null || value.isBlank()) {
      return fallback;
    }
    try {
      return Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw EvergreenException.invalid(
          "environment variable " + name + "='" + value + "' is not a port number");
    }
  }

  static String envOr(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? fallback : value;
  }
}
