package dev.evergreen.server;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.security.Role;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.deployment.DeploymentManager;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.ServerSSLOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Evergreen HTTP server: Open Inference Protocol (KServe V2) REST under {@code /v2}, the REST
 * API under {@code /api/v1} and Prometheus metrics at {@code /metrics}, on Vert.x with one HTTP
 * server instance per event loop sharing one port. When {@link ServerOptions#grpcPort()} is not -1,
 * the Open Inference Protocol gRPC service ({@link GrpcInferenceService}) listens on its own port,
 * with one instance per event loop as well. With {@link ServerOptions#tls()} both ports serve TLS
 * only, and a renewed certificate is served without a restart.
 *
 * <p>Every endpoint except {@code GET /v2/health/live}, {@code GET /v2/health/ready}, {@code GET
 * /ping} and {@code GET /health} requires a bearer token: viewer for reads and inference, operator
 * for runs, deploys and rollbacks, admin for tokens. Starting the server restores the stored
 * batching settings and starts the deployment reconciler, which deploys each model's {@code
 * champion} version and then restores the stored canaries and shadows.
 */
public final class EvergreenServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EvergreenServer.class);

  /** How often the reconciler checks the store for alias moves made by other processes. */
  static final Duration RECONCILE_INTERVAL = Duration.ofSeconds(1);

  private static final String PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
  private static final long START_TIMEOUT_SECONDS = 30;

  /**
   * How long an HTTP/1.x connection may hold no request in progress: 75 s, as nginx's default
   * {@code keepalive_timeout}, which also bounds a client that never finishes its headers.
   */
  static final long IDLE_CONNECTION_NANOS = 75_000_000_000L;

  /**
   * How long after its headers a request's body may still be arriving: 60 s, at least 140 KB/s for
   * a body of the maximum size. A stalled body would hold its share of the body budget.
   */
  static final long BODY_NANOS = 60_000_000_000L;

  /** Period of the idle-connection check: 5 s. */
  private static final long IDLE_CHECK_MILLIS = 5_000;

  private final Vertx vertx;
  private final ServerOptions options;
  private final int port;
  private final int grpcPort;
  private final Runnable removeListener;
  private final Readiness readiness;
  private final Queue<Listening> listening;

  private EvergreenServer(
      Vertx vertx,
      ServerOptions options,
      int port,
      int grpcPort,
      Runnable removeListener,
      Readiness readiness,
      Queue<Listening> listening) {
    this.vertx = vertx;
    this.options = options;
    this.port = port;
    this.grpcPort = grpcPort;
    this.removeListener = removeListener;
    this.readiness = readiness;
    this.listening = listening;
  }

  /**
   * Starts the server and returns once it listens.
   *
   * @throws EvergreenException UNAVAILABLE when the address cannot be bound
   */
  public static EvergreenServer start(Evergreen evergreen, ServerOptions options) {
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(options.eventLoops()));
    Runnable removeListener = () -> {};
    try {
      RequestBodies bodies = new RequestBodies();
      OpenConnections connections = new OpenConnections(bodies, OpenConnections.defaultMax());
      Authenticator authenticator = new Authenticator(vertx, evergreen.tokens(), bodies);
      InferenceMetrics metrics =
          new InferenceMetrics(
              evergreen.meters(),
              PredictionSampler.of(evergreen, options.predictionSample(), vertx));
      evergreen.deployments().addServingListener(metrics);
      removeListener = () -> evergreen.deployments().removeServingListener(metrics);
      // A negative port requests a random port from Vert.x, shared by all instances with the same
      // negative value; a positive port is shared by every instance that binds it. HTTP uses -1
      // and gRPC -2, so the two get different random ports.
      int listenPort = options.port() == 0 ? -1 : options.port();
      TlsFiles.Loaded tls = options.tls() == null ? null : options.tls().load(vertx);
      Queue<Listening> listening = new ConcurrentLinkedQueue<>();
      Readiness readiness = new Readiness(evergreen);
      int port =
          deploy(
              vertx,
              "HTTP",
              bound ->
                  new ServerVerticle(
                      loop ->
                          router(
                              loop,
                              evergreen,
                              authenticator,
                              metrics,
                              readiness,
                              options.dataFolders()),
                      options.host(),
                      listenPort,
                      bound,
                      connections,
                      true,
                      tls,
                      listening,
                      readiness),
              options.host(),
              listenPort,
              options.eventLoops());
      int grpcPort = ServerOptions.GRPC_OFF;
      if (options.grpcPort() != ServerOptions.GRPC_OFF) {
        int grpcListenPort = options.grpcPort() == 0 ? -2 : options.grpcPort();
        grpcPort =
            deploy(
                vertx,
                "gRPC",
                bound ->
                    new ServerVerticle(
                        loop ->
                            grpcServer(loop, evergreen, authenticator, bodies, metrics, readiness),
                        options.host(),
                        grpcListenPort,
                        bound,
                        connections,
                        false,
                        tls,
                        listening,
                        readiness),
                options.host(),
                grpcListenPort,
                options.eventLoops());
      }
      EvergreenServer server =
          new EvergreenServer(vertx, options, port, grpcPort, removeListener, readiness, listening);
      LOG.info(
          "Evergreen server listening on {}://{}:{} with {} event loops",
          tls == null ? "http" : "https",
          options.host(),
          port,
          options.eventLoops());
      if (tls != null) {
        LOG.info(
            "Serving TLS with certificate {} (SHA-256 {}), valid until {}",
            options.tls().certificate(),
            tls.fingerprint(),
            tls.leaf().getNotAfter().toInstant());
        watchTls(vertx, options.tls(), tls, listening);
      }
      if (grpcPort != ServerOptions.GRPC_OFF) {
        LOG.info(
            "Open Inference Protocol gRPC service listening on {}:{}", options.host(), grpcPort);
      }
      TrafficApi.restoreBatching(evergreen, DeploymentManager.RECONCILER_ACTOR);
      startReconciler(evergreen);
      return server;
    } catch (RuntimeException e) {
      removeListener.run();
      vertx.close();
      throw e;
    }
  }

  private static void startReconciler(Evergreen evergreen) {
    try {
      evergreen
          .deployments()
          .startReconciler(RECONCILE_INTERVAL, DeploymentManager.RECONCILER_ACTOR);
    } catch (IllegalStateException e) {
      // A second server on the same instance shares the reconciler that is already running.
      LOG.info("The deployment reconciler is already running");
    }
  }

  /**
   * Deploys one server verticle per event loop and returns the port they bound.
   *
   * @param verticles creates one verticle that stores its bound port in the given holder
   */
  private static int deploy(
      Vertx vertx,
      String protocol,
      Function<AtomicInteger, VerticleBase> verticles,
      String host,
      int port,
      int instances) {
    AtomicInteger boundPort = new AtomicInteger();
    Future<String> deployment =
        vertx.deployVerticle(
            () -> verticles.apply(boundPort), new DeploymentOptions().setInstances(instances));
    try {
      deployment
          .toCompletionStage()
          .toCompletableFuture()
          .get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new EvergreenException(
          ErrorKind.UNAVAILABLE,
          "cannot listen for "
              + protocol
              + " on "
              + host
              + ":"
              + Math.max(port, 0)
              + ": "
              + e.getCause().getMessage()
              + "; choose another port or stop the process that uses it",
          e.getCause());
    } catch (TimeoutException e) {
      throw new EvergreenException(
          ErrorKind.UNAVAILABLE,
          "the " + protocol + " server did not start within " + START_TIMEOUT_SECONDS + " s",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new EvergreenException(ErrorKind.UNAVAILABLE, "interrupted while starting", e);
    }
    return boundPort.get();
  }

  /** Returns the port the server listens on, the bound one when an ephemeral port was requested. */
  public int port() {
    return port;
  }

  /**
   * Returns the port of the Open Inference Protocol gRPC service, the bound one when an ephemeral
   * port was requested, or -1 when the service is off.
   */
  public int grpcPort() {
    return grpcPort;
  }

  public String host() {
    return options.host();
  }

  /**
   * Shuts the server down without failing the requests it has accepted, as a rolling update needs.
   * For {@code delay} it reports not ready while still serving, and each REST response closes its
   * connection, so that load balancers and clients move to other servers. Then it stops accepting
   * connections and waits up to {@code timeout} for the requests in progress: REST connections
   * close after their current response, and gRPC connections receive GOAWAY and close once their
   * calls end. What is still open then is closed, as by {@link #close}.
   */
  public void shutdown(Duration delay, Duration timeout) {
    readiness.drain();
    if (delay.isPositive()) {
      LOG.info("Draining for {} s: reporting not ready while still serving", delay.toSeconds());
      try {
        Thread.sleep(delay);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    LOG.info(
        "Stopping: accepting no connections, waiting up to {} s for requests in progress",
        timeout.toSeconds());
    long started = System.nanoTime();
    try {
      Future.all(
              listening.stream()
                  .map(bound -> bound.server().shutdown(timeout.toMillis(), TimeUnit.MILLISECONDS))
                  .toList())
          .toCompletionStage()
          .toCompletableFuture()
          .get(timeout.toMillis() + 5_000, TimeUnit.MILLISECONDS);
      long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      if (tookMillis >= timeout.toMillis()) {
        // Vert.x closes what is still open at the timeout and then reports success.
        LOG.warn("Requests still in progress after {} s were cut off", timeout.toSeconds());
      } else {
        LOG.info("Requests in progress ended within {} ms", tookMillis);
      }
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn("Requests still in progress after {} s are cut off", timeout.toSeconds(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    close();
  }

  /**
   * Stops accepting requests and closes the event loops at once, cutting off requests in progress;
   * the {@link Evergreen} stays open. {@link #shutdown} lets them finish first.
   */
  @Override
  public void close() {
    removeListener.run();
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      LOG.info("Evergreen server on {}:{} stopped", options.host(), port);
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn("Evergreen server on {}:{} did not stop cleanly", options.host(), port, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * One HTTP server instance on one event loop, with the request handler that {@code handlers}
   * creates for that loop's Vert.x: the router, or the gRPC server.
   */
  private static final class ServerVerticle extends VerticleBase {
    private final Function<Vertx, Handler<HttpServerRequest>> handlers;
    private final String host;
    private final int port;
    private final AtomicInteger boundPort;
    private final OpenConnections connections;
    private final boolean restPort;
    private final TlsFiles.Loaded tls;
    private final Queue<Listening> listening;
    private final Readiness readiness;

    /**
     * @param restPort whether this is the HTTP/1.1 port of the REST API, whose idle connections
     *     {@link IdleConnections} closes, rather than the HTTP/2 port of gRPC
     * @param tls the certificate and key to serve TLS with, null for plaintext
     * @param listening where the server is added once it listens, for TLS reloads and shutdown
     * @param readiness whether the server drains, when REST responses close their connection
     */
    ServerVerticle(
        Function<Vertx, Handler<HttpServerRequest>> handlers,
        String host,
        int port,
        AtomicInteger boundPort,
        OpenConnections connections,
        boolean restPort,
        TlsFiles.Loaded tls,
        Queue<Listening> listening,
        Readiness readiness) {
      this.handlers = handlers;
      this.host = host;
      this.port = port;
      this.boundPort = boundPort;
      this.connections = connections;
      this.restPort = restPort;
      this.tls = tls;
      this.listening = listening;
      this.readiness = readiness;
    }

    @Override
    public Future<?> start() {
      HttpServerOptions serverOptions =
          new HttpServerOptions().setHost(host).setPort(port).setTcpNoDelay(true);
      if (restPort) {
        // The REST port speaks HTTP/1.1 only; gRPC has its own HTTP/2 port.
        serverOptions.setHttp2ClearTextEnabled(false);
      } else {
        closeIdleHttp2(serverOptions, IDLE_CONNECTION_NANOS);
      }
      if (tls != null) {
        serverOptions.setSsl(true).setKeyCertOptions(tls.options());
        // gRPC clients choose HTTP/2 through ALPN in the handshake; REST stays on HTTP/1.1.
        serverOptions.setUseAlpn(!restPort);
      }
      HttpServer server = vertx.createHttpServer(serverOptions);
      Handler<HttpServerRequest> requests = handlers.apply(vertx);
      IdleConnections idle = null;
      if (restPort) {
        idle = new IdleConnections(vertx, IDLE_CONNECTION_NANOS, BODY_NANOS, IDLE_CHECK_MILLIS);
        requests = closeWhileDraining(idle.track(requests), readiness);
      }
      server.connectionHandler(connections.admit(idle));
      return server
          .requestHandler(requests)
          .listen()
          .onSuccess(
              bound -> {
                boundPort.set(server.actualPort());
                listening.add(new Listening(server, serverOptions));
              });
    }
  }

  /**
   * Makes each response close its HTTP/1.1 connection while the server drains, so that clients
   * holding a connection open make their next request on a new one, which a load balancer sends to
   * another server.
   */
  private static Handler<HttpServerRequest> closeWhileDraining(
      Handler<HttpServerRequest> requests, Readiness readiness) {
    return request -> {
      if (readiness.draining()) {
        request.response().putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
      }
      requests.handle(request);
    };
  }

  /** A listening server instance, with the options it was created with. */
  private record Listening(HttpServer server, HttpServerOptions options) {
    /** Serves {@code next} on new connections; open connections keep their certificate. */
    Future<Boolean> update(TlsFiles.Loaded next) {
      ServerSSLOptions ssl = new ServerSSLOptions(options.getSslOptions());
      ssl.setKeyCertOptions(next.options());
      return server.updateSSLOptions(ssl, true);
    }
  }

  /**
   * Reads the TLS files every {@link TlsFiles#checkEvery()} and serves their new contents once they
   * pass the checks of {@link TlsFiles#load}. Contents that fail them are logged once and not
   * served; the server keeps the last good certificate until the files are fixed.
   */
  private static void watchTls(
      Vertx vertx, TlsFiles files, TlsFiles.Loaded first, Queue<Listening> servers) {
    AtomicReference<TlsFiles.Loaded> current = new AtomicReference<>(first);
    AtomicReference<String> lastProblem = new AtomicReference<>();
    vertx.setPeriodic(
        files.checkEvery().toMillis(),
        id ->
            vertx
                .executeBlocking(
                    () -> {
                      byte[][] bytes = files.read();
                      if (current.get().sameBytes(bytes[0], bytes[1])) {
                        // The files are back to what is served: a later problem is new again.
                        lastProblem.set(null);
                        return null;
                      }
                      return files.check(vertx, bytes[0], bytes[1]);
                    },
                    false)
                .onSuccess(
                    next -> {
                      if (next == null) {
                        return;
                      }
                      Future.all(servers.stream().map(server -> server.update(next)).toList())
                          .onSuccess(
                              updated -> {
                                TlsFiles.Loaded previous = current.getAndSet(next);
                                lastProblem.set(null);
                                LOG.info(
                                    "Serving TLS with the new certificate in {} (SHA-256 {}),"
                                        + " valid until {}, in place of SHA-256 {}",
                                    files.certificate(),
                                    next.fingerprint(),
                                    next.leaf().getNotAfter().toInstant(),
                                    previous.fingerprint());
                              })
                          .onFailure(
                              failure ->
                                  LOG.warn(
                                      "Could not serve the new TLS certificate in {}",
                                      files.certificate(),
                                      failure));
                    })
                .onFailure(
                    failure -> {
                      String problem = failure.getMessage();
                      if (!problem.equals(lastProblem.getAndSet(problem))) {
                        LOG.warn(
                            "The TLS files changed but cannot be served, so the certificate with"
                                + " SHA-256 {} stays: {}",
                            current.get().fingerprint(),
                            problem);
                      }
                    }));
  }

  /**
   * Makes a server close its connections after {@code idleNanos} without a frame in either
   * direction, rounded down to whole seconds. HTTP/2 connections serve calls side by side, so
   * {@link IdleConnections} does not apply to them; a call in progress that sends nothing for as
   * long is closed with its connection.
   */
  static HttpServerOptions closeIdleHttp2(HttpServerOptions options, long idleNanos) {
    return options
        .setIdleTimeout((int) TimeUnit.NANOSECONDS.toSeconds(idleNanos))
        .setIdleTimeoutUnit(TimeUnit.SECONDS);
  }

  /**
   * Creates the gRPC server of one event loop, with the Open Inference Protocol and gRPC health
   * services behind the request-body budget.
   */
  private static Handler<HttpServerRequest> grpcServer(
      Vertx vertx,
      Evergreen evergreen,
      Authenticator authenticator,
      RequestBodies bodies,
      InferenceMetrics metrics,
      Readiness readiness) {
    GrpcServer grpc =
        GrpcServer.server(
            vertx, new GrpcServerOptions().setMaxMessageSize(HttpErrors.MAX_BODY_BYTES));
    new GrpcInferenceService(vertx, evergreen, authenticator, metrics, readiness).register(grpc);
    new GrpcHealthService(vertx, readiness).register(grpc);
    Set<String> withoutToken = new HashSet<>(GrpcInferenceService.PATHS_WITHOUT_TOKEN);
    withoutToken.addAll(GrpcHealthService.PATHS);
    return new GrpcBodies(vertx, bodies, withoutToken, BODY_NANOS, IDLE_CHECK_MILLIS).track(grpc);
  }

  static Router router(
      Vertx vertx,
      Evergreen evergreen,
      Authenticator authenticator,
      InferenceMetrics metrics,
      Readiness readiness,
      List<Path> dataFolders) {
    InferenceApi inference = new InferenceApi(vertx, evergreen, metrics, readiness);
    RestApi rest = new RestApi(vertx, evergreen, authenticator, dataFolders);
    Router router = Router.router(vertx);
    // Bodies are read after the token check of each route, see RequestBodies.
    router.route().handler(AllowedMethods.withHeadContentLength(RequestBodies::pause));

    Routes routes = new Routes(router, authenticator);
    router.get("/v2/health/live").handler(authenticator.withoutToken()).handler(inference::live);
    router.get("/v2/health/ready").handler(authenticator.withoutToken()).handler(inference::ready);
    routes.add(HttpMethod.GET, "/v2", Role.VIEWER, inference::serverMetadata);
    routes.add(HttpMethod.GET, "/v2/models/:name", Role.VIEWER, inference::modelMetadata);
    routes.add(
        HttpMethod.GET,
        "/v2/models/:name/versions/:version",
        Role.VIEWER,
        inference::modelMetadata);
    routes.add(HttpMethod.GET, "/v2/models/:name/ready", Role.VIEWER, inference::modelReady);
    routes.add(
        HttpMethod.GET,
        "/v2/models/:name/versions/:version/ready",
        Role.VIEWER,
        inference::modelReady);
    Handler<RoutingContext> infer = JsonContentType.required(inference::infer);
    routes.add(HttpMethod.POST, "/v2/models/:name/infer", Role.VIEWER, infer);
    routes.add(HttpMethod.POST, "/v2/models/:name/versions/:version/infer", Role.VIEWER, infer);

    routes.add(HttpMethod.GET, "/api/v1/models", Role.VIEWER, rest::listModels);
    routes.add(HttpMethod.GET, "/api/v1/models/:name", Role.VIEWER, rest::showModel);
    routes.add(
        HttpMethod.GET, "/api/v1/models/:name/versions/:version", Role.VIEWER, rest::showVersion);
    routes.add(
        HttpMethod.GET, "/api/v1/models/:name/aliases/history", Role.VIEWER, rest::aliasHistory);
    routes.add(
        HttpMethod.POST, "/api/v1/models/:name/versions", Role.OPERATOR, rest::registerVersion);
    routes.add(HttpMethod.POST, "/api/v1/models/:name/deploy", Role.OPERATOR, rest::deploy);
    routes.add(HttpMethod.POST, "/api/v1/models/:name/rollback", Role.OPERATOR, rest::rollback);
    routes.add(HttpMethod.GET, "/api/v1/models/:name/lineage", Role.VIEWER, rest::modelLineage);
    TrafficApi traffic = new TrafficApi(vertx, evergreen);
    routes.add(HttpMethod.GET, "/api/v1/models/:name/serving", Role.VIEWER, traffic::serving);
    routes.add(HttpMethod.POST, "/api/v1/models/:name/canary", Role.OPERATOR, traffic::startCanary);
    routes.add(
        HttpMethod.POST,
        "/api/v1/models/:name/canary/promote",
        Role.OPERATOR,
        traffic::promoteCanary);
    routes.add(
        HttpMethod.POST, "/api/v1/models/:name/canary/abort", Role.OPERATOR, traffic::abortCanary);
    routes.add(
        HttpMethod.POST,
        "/api/v1/models/:name/canary/percent",
        Role.OPERATOR,
        traffic::setCanaryPercent);
    routes.add(HttpMethod.POST, "/api/v1/models/:name/shadow", Role.OPERATOR, traffic::startShadow);
    routes.add(
        HttpMethod.DELETE, "/api/v1/models/:name/shadow", Role.OPERATOR, traffic::stopShadow);
    routes.add(
        HttpMethod.PUT, "/api/v1/models/:name/batching", Role.OPERATOR, traffic::putBatching);
    routes.add(
        HttpMethod.DELETE, "/api/v1/models/:name/batching", Role.OPERATOR, traffic::deleteBatching);
    routes.add(
        HttpMethod.GET,
        "/api/v1/models/:name/versions/:version/lineage",
        Role.VIEWER,
        rest::versionLineage);
    routes.add(HttpMethod.GET, "/api/v1/pipelines", Role.VIEWER, rest::listPipelines);
    routes.add(HttpMethod.POST, "/api/v1/pipelines/:name/runs", Role.OPERATOR, rest::submitRun);
    routes.add(HttpMethod.GET, "/api/v1/runs", Role.VIEWER, rest::listRuns);
    routes.add(HttpMethod.GET, "/api/v1/runs/:id", Role.VIEWER, rest::showRun);
    routes.add(HttpMethod.GET, "/api/v1/runs/:id/pipeline", Role.VIEWER, rest::runPipeline);
    routes.add(HttpMethod.GET, "/api/v1/audit", Role.VIEWER, rest::listAudit);
    routes.add(HttpMethod.GET, "/api/v1/audit/verify", Role.VIEWER, rest::verifyAudit);
    routes.add(HttpMethod.POST, "/api/v1/tokens", Role.ADMIN, rest::createToken);
    routes.add(HttpMethod.GET, "/api/v1/tokens", Role.ADMIN, rest::listTokens);
    routes.add(HttpMethod.DELETE, "/api/v1/tokens/:id", Role.ADMIN, rest::deleteToken);

    routes.add(HttpMethod.GET, "/metrics", Role.VIEWER, ctx -> metrics(ctx, vertx, evergreen));
    MlflowApi.register(router, vertx, evergreen, authenticator);
    MlflowArtifacts.register(router, vertx, evergreen, authenticator);
    TabularInference tabular = new TabularInference(vertx, evergreen, metrics);
    KServeV1Api.register(router, tabular, authenticator);
    MlflowScoringApi.register(router, vertx, tabular, authenticator, readiness);
    SkewApi.register(router, vertx, evergreen, authenticator, metrics.sampler());
    AllowedMethods.addHeadToGetRoutes(router);

    router.route().failureHandler(HttpErrors::handleFailure);
    router.errorHandler(404, ctx -> HttpErrors.send(ctx, 404, HttpErrors.statusMessage(ctx, 404)));
    router.errorHandler(405, AllowedMethods.methodNotAllowed(router));
    router.errorHandler(413, ctx -> HttpErrors.send(ctx, 413, HttpErrors.statusMessage(ctx, 413)));
    router.errorHandler(500, HttpErrors::handleFailure);
    return router;
  }

  /** Registers routes behind the bearer-token check of their role. */
  private record Routes(Router router, Authenticator authenticator) {
    void add(HttpMethod method, String path, Role role, Handler<RoutingContext> handler) {
      String endpoint = method.name() + " " + path.replaceAll(":(\\w+)", "{$1}");
      router.route(method, path).handler(authenticator.require(role, endpoint)).handler(handler);
    }
  }

  /**
   * Sends the Prometheus text exposition. Scraping formats every meter, which takes milliseconds
   * with many meters, so it runs on a worker thread to keep inference latency low.
   */
  private static void metrics(RoutingContext ctx, Vertx vertx, Evergreen evergreen) {
    MeterRegistry meters = evergreen.meters();
    if (!(meters instanceof PrometheusMeterRegistry prometheus)) {
      HttpErrors.send(
          ctx,
          503,
          "metrics are not exported: the server was built with a "
              + meters.getClass().getSimpleName()
              + " instead of a PrometheusMeterRegistry");
      return;
    }
    vertx
        .executeBlocking(() -> prometheus.scrape(PROMETHEUS_CONTENT_TYPE), false)
        .onComplete(
            result -> {
              if (result.failed()) {
                ctx.fail(result.cause());
                return;
              }
              ctx.response()
                  .setStatusCode(200)
                  .putHeader(HttpErrors.CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)
                  .end(Buffer.buffer(result.result()));
            });
  }
}
