package dev.evergreen.cli;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.PersonalDataTag;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.deployment.DeploymentManager;
import dev.evergreen.core.pipeline.LandingWatcher;
import dev.evergreen.core.pipeline.RegisteredPipeline;
import dev.evergreen.server.EvergreenServer;
import dev.evergreen.server.ProcessMetrics;
import dev.evergreen.server.ServerOptions;
import dev.evergreen.server.TlsFiles;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running server: the Evergreen instance, its HTTP listener, the deployment reconciler and the
 * landing-folder watcher, started and stopped together.
 */
final class ServerRuntime implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ServerRuntime.class);
  static final String ACTOR = "server";

  private final Evergreen evergreen;
  private final EvergreenServer server;
  private final LandingWatcher watcher;
  private final Optional<String> createdAdminSecret;
  private final ServerLock lock;
  private final ProcessMetrics processMetrics;

  private ServerRuntime(
      Evergreen evergreen,
      EvergreenServer server,
      LandingWatcher watcher,
      Optional<String> createdAdminSecret,
      ServerLock lock,
      ProcessMetrics processMetrics) {
    this.lock = lock;
    this.processMetrics = processMetrics;
    this.evergreen = evergreen;
    this.server = server;
    this.watcher = watcher;
    this.createdAdminSecret = createdAdminSecret;
  }

  /**
   * Starts a server on a data directory.
   *
   * @param pipelineFiles pipeline files to serve; the YAML files in {@code home/pipelines} are
   *     added to them
   * @param adminSecret admin token secret from the environment, or null to create one on first
   *     start
   */
  static ServerRuntime start(
      Path home,
      String host,
      int port,
      List<Path> pipelineFiles,
      String adminSecret,
      Duration pollInterval)
      throws IOException {
    return start(
        home, host, port, ServerOptions.GRPC_OFF, pipelineFiles, adminSecret, pollInterval);
  }

  /**
   * Starts a server on a data directory with the Open Inference Protocol gRPC service on {@code
   * grpcPort}: 0 for an ephemeral port, -1 for no gRPC service.
   */
  static ServerRuntime start(
      Path home,
      String host,
      int port,
      int grpcPort,
      List<Path> pipelineFiles,
      String adminSecret,
      Duration pollInterval)
      throws IOException {
    return start(
        home, host, port, grpcPort, pipelineFiles, List.of(), null, adminSecret, pollInterval);
  }

  /**
   * Starts a server as above whose pipeline runs submitted over HTTP may also read data files from
   * {@code dataFolders}, serving TLS with {@code tls} unless it is null.
   */
  static ServerRuntime start(
      Path home,
      String host,
      int port,
      int grpcPort,
      List<Path> pipelineFiles,
      List<Path> dataFolders,
      TlsFiles tls,
      String adminSecret,
      Duration pollInterval)
      throws IOException {
    ServerLock lock = ServerLock.acquire(home);
    PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ProcessMetrics processMetrics = ProcessMetrics.bind(meters);
    Evergreen evergreen;
    try {
      evergreen = Home.open(home, meters);
    } catch (IOException | RuntimeException e) {
      processMetrics.close();
      lock.close();
      throw e;
    }
    try {
      // Pipelines are checked before the admin token is created, so a start that fails on a
      // pipeline never creates an admin secret that is never printed.
      List<RegisteredPipeline> registered = new ArrayList<>();
      for (Path file : allPipelines(home, pipelineFiles)) {
        registered.add(evergreen.pipelines().register(file));
      }
      byte[] key = evergreen.settings().pseudonymKey();
      requirePseudonymKey(registered, key != null && key.length > 0);
      for (RegisteredPipeline pipeline : registered) {
        LOG.info(
            "pipeline '{}' from {} watches {}",
            pipeline.name(),
            pipeline.file(),
            pipeline.landingFolder() == null ? "no landing folder" : pipeline.landingFolder());
      }
      Optional<String> created = evergreen.tokens().bootstrapAdmin(adminSecret);
      int interrupted = evergreen.pipelines().failInterruptedRuns(ACTOR);
      if (interrupted > 0) {
        LOG.warn("{} runs left unfinished by an earlier process were marked failed", interrupted);
      }
      // Deploys, aborts and restores that the reconciler makes are all audited under its name.
      evergreen.deployments().reconcile(DeploymentManager.RECONCILER_ACTOR);
      evergreen.deployments().startReconciler(pollInterval, DeploymentManager.RECONCILER_ACTOR);
      // One event loop per CPU the process may use: scoring runs on the loops, so a second loop
      // on one CPU only adds a thread switch in front of some requests.
      int eventLoops = Math.max(1, Runtime.getRuntime().availableProcessors());
      EvergreenServer server =
          EvergreenServer.start(
              evergreen,
              new ServerOptions(host, port, eventLoops)
                  .withGrpcPort(grpcPort)
                  .withDataFolders(dataFolders)
                  .withTls(tls));
      LandingWatcher watcher = new LandingWatcher(evergreen.pipelines(), evergreen.clock(), ACTOR);
      watcher.start(pollInterval);
      return new ServerRuntime(evergreen, server, watcher, created, lock, processMetrics);
    } catch (IOException | RuntimeException e) {
      evergreen.close();
      processMetrics.close();
      lock.close();
      throw e;
    }
  }

  /**
   * Rejects the start when a pipeline tags a column {@code direct_identifier} and no pseudonym key
   * is set. Every batch with such a column would fail its run, so the server stops before it reads
   * any landing file. {@code evergreen run} records such a run as failed with the same advice.
   *
   * @throws EvergreenException INTERNAL naming each such pipeline, its file and its tagged columns
   */
  static void requirePseudonymKey(List<RegisteredPipeline> pipelines, boolean keySet) {
    if (keySet) {
      return;
    }
    List<String> problems = new ArrayList<>();
    for (RegisteredPipeline pipeline : pipelines) {
      List<String> tagged =
          pipeline.spec().data().personalData().entrySet().stream()
              .filter(entry -> entry.getValue() == PersonalDataTag.DIRECT_IDENTIFIER)
              .map(Map.Entry::getKey)
              .sorted()
              .toList();
      if (tagged.isEmpty()) {
        continue;
      }
      problems.add(
          "pipeline '"
              + pipeline.name()
              + "' from "
              + pipeline.file()
              + ": column"
              + (tagged.size() == 1 ? " '" : "s '")
              + String.join("', '", tagged)
              + "' "
              + (tagged.size() == 1 ? "is" : "are")
              + " tagged direct_identifier and must be pseudonymised");
    }
    if (problems.isEmpty()) {
      return;
    }
    throw new EvergreenException(
        ErrorKind.INTERNAL,
        String.join("; ", problems)
            + ", but no pseudonym key is configured. Set the environment variable "
            + Home.ENV_PSEUDONYM_KEY
            + " to a secret of at least "
            + Home.MIN_KEY_BYTES
            + " random bytes, such as the output of `openssl rand -hex 32`, and start the server"
            + " again.");
  }

  private static List<Path> allPipelines(Path home, List<Path> explicit) throws IOException {
    List<Path> files = new ArrayList<>(explicit);
    Path folder = home.resolve("pipelines");
    if (Files.isDirectory(folder)) {
      try (Stream<Path> listed = Files.list(folder)) {
        listed
            .filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml"))
            .sorted()
            .forEach(files::add);
      }
    }
    return files;
  }

  Evergreen evergreen() {
    return evergreen;
  }

  int port() {
    return server.port();
  }

  /** Returns the gRPC port, -1 when the gRPC service is off. */
  int grpcPort() {
    return server.grpcPort();
  }

  /** Returns the admin secret created at this start, shown once; empty when none was created. */
  Optional<String> createdAdminSecret() {
    return createdAdminSecret;
  }

  @Override
  public void close() {
    watcher.close();
    server.close();
    closeStores();
  }

  /**
   * Stops watching landing folders and starting queued runs, then shuts the server down without
   * failing the requests it accepted (see {@link EvergreenServer#shutdown}), then closes the
   * stores, which interrupts runs still in progress after at most 10 s.
   */
  void shutdown(Duration delay, Duration timeout) {
    watcher.close();
    evergreen.pipelines().stopStartingRuns();
    server.shutdown(delay, timeout);
    closeStores();
  }

  private void closeStores() {
    evergreen.close();
    processMetrics.close();
    try {
      lock.close();
    } catch (IOException e) {
      LOG.warn("could not release the server lock: {}", e.toString());
    }
    LOG.info("server stopped");
  }
}
