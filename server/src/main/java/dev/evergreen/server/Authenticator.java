package dev.evergreen.server;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.security.Role;
import dev.evergreen.api.security.Token;
import dev.evergreen.core.security.TokenService;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks {@code Authorization: Bearer <secret>} against the stored tokens and the role a route
 * requires. Valid tokens are cached for {@link #CACHE_NANOS}, so inference does not query the store
 * per request; a token deleted through this server is dropped from the cache at once, and one
 * deleted by another process stops working when its cache entry expires. Secrets are never logged.
 */
final class Authenticator {
  private static final Logger LOG = LoggerFactory.getLogger(Authenticator.class);

  /** Time a valid token stays cached: 5 seconds. */
  static final long CACHE_NANOS = 5_000_000_000L;

  /** Maximum number of cached tokens; the cache is emptied when it reaches this size. */
  private static final int MAX_CACHED = 10_000;

  /** Key under which an authenticated route finds the {@link Token} in the routing context. */
  static final String TOKEN_KEY = "evergreen.token";

  private static final String BEARER = "bearer ";

  private static final String AUTHORIZATION = "Authorization";

  private final Vertx vertx;
  private final TokenService tokens;
  private final RequestBodies bodies;
  private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();

  private record Cached(Token token, long expiresAtNanos) {}

  /**
   * @param bodies reads a request's body once its token passed, so that bodies of callers without a
   *     valid token are never buffered
   */
  Authenticator(Vertx vertx, TokenService tokens, RequestBodies bodies) {
    this.vertx = vertx;
    this.tokens = tokens;
    this.bodies = bodies;
  }

  /**
   * Returns a route handler that reads the body of requests whose token has at least {@code
   * required} and passes them on.
   */
  Handler<RoutingContext> require(Role required, String endpoint) {
    return ctx -> authenticate(ctx, required, endpoint, true);
  }

  /**
   * Returns a route handler that passes on requests whose token has at least {@code required}
   * without reading their body, for a route that streams the body itself.
   */
  Handler<RoutingContext> requireBeforeStream(Role required, String endpoint) {
    return ctx -> authenticate(ctx, required, endpoint, false);
  }

  /** Returns a route handler for routes without a token: it reads the body and passes on. */
  Handler<RoutingContext> withoutToken() {
    return bodies::read;
  }

  /** Removes a deleted token from the cache. */
  void forget(String tokenId) {
    cache.values().removeIf(cached -> cached.token().id().equals(tokenId));
  }

  static Token token(RoutingContext ctx) {
    return ctx.get(TOKEN_KEY);
  }

  private void authenticate(RoutingContext ctx, Role required, String endpoint, boolean readBody) {
    List<String> headers = ctx.request().headers().getAll(AUTHORIZATION);
    if (headers.size() > 1) {
      // Two credentials are ambiguous, and proxies may forward either one (RFC 9110, 5.3).
      HttpErrors.send(
          ctx,
          400,
          "the request has "
              + headers.size()
              + " Authorization headers; send one: 'Authorization: Bearer <token>'");
      return;
    }
    verify(headers.isEmpty() ? null : headers.get(0), required, endpoint, ctx.request().path())
        .onComplete(
            result -> {
              if (result.succeeded()) {
                ctx.put(TOKEN_KEY, result.result());
                if (readBody) {
                  bodies.read(ctx);
                } else {
                  ctx.next();
                }
              } else if (result.cause() instanceof Rejection rejection) {
                reject(ctx, rejection);
              } else {
                ctx.fail(result.cause());
              }
            });
  }

  /**
   * A token check that failed: no token, an unknown token (UNAUTHENTICATED), or a role below the
   * required one (FORBIDDEN).
   *
   * @param bearerError the {@code error} attribute of the {@code WWW-Authenticate} challenge, null
   *     for none
   */
  static final class Rejection extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final ErrorKind kind;
    final String bearerError;

    Rejection(ErrorKind kind, String message, String bearerError) {
      super(message, null, false, false);
      this.kind = kind;
      this.bearerError = bearerError;
    }
  }

  /**
   * Checks an {@code Authorization} header value and returns its token, or fails with a {@link
   * Rejection}. The future completes at once when the token is cached, else on the event loop after
   * a store lookup on a worker thread.
   *
   * @param endpoint what the caller requested, for the message of a role that is too low
   * @param target what the caller requested, for the debug log of an unknown token
   */
  Future<Token> verify(String header, Role required, String endpoint, String target) {
    if (header == null || header.isBlank()) {
      return Future.failedFuture(
          new Rejection(
              ErrorKind.UNAUTHENTICATED,
              "missing bearer token: send 'Authorization: Bearer <token>'",
              null));
    }
    if (header.strip().equalsIgnoreCase(BEARER.strip())
        || (header.regionMatches(true, 0, BEARER, 0, BEARER.length())
            && header.substring(BEARER.length()).isBlank())) {
      return Future.failedFuture(
          new Rejection(
              ErrorKind.UNAUTHENTICATED,
              "the Authorization header has no token after 'Bearer': send 'Authorization:"
                  + " Bearer <token>'",
              "invalid_request"));
    }
    if (header.length() <= BEARER.length()
        || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      return Future.failedFuture(
          new Rejection(
              ErrorKind.UNAUTHENTICATED,
              "the Authorization header does not use the Bearer scheme: send 'Authorization:"
                  + " Bearer <token>'",
              "invalid_request"));
    }
    String secret = header.substring(BEARER.length()).trim();
    Cached cached = cache.get(secret);
    if (cached != null && cached.expiresAtNanos() - System.nanoTime() > 0) {
      return authorize(cached.token(), required, endpoint);
    }
    // The store lookup blocks, so it runs on a worker thread; the caller continues on the event
    // loop.
    return vertx
        .executeBlocking(() -> tokens.authenticate(secret), false)
        .compose(
            token -> {
              if (token.isEmpty()) {
                cache.remove(secret);
                LOG.debug("Rejected an unknown bearer token for {}", target);
                return Future.failedFuture(
                    new Rejection(
                        ErrorKind.UNAUTHENTICATED,
                        "the bearer token is not valid: it matches no token, or its token was"
                            + " deleted; ask an admin for a token",
                        "invalid_token"));
              }
              if (cache.size() >= MAX_CACHED) {
                cache.clear();
              }
              cache.put(secret, new Cached(token.get(), System.nanoTime() + CACHE_NANOS));
              return authorize(token.get(), required, endpoint);
            });
  }

  private static Future<Token> authorize(Token token, Role required, String endpoint) {
    if (!token.role().includes(required)) {
      return Future.failedFuture(
          new Rejection(
              ErrorKind.FORBIDDEN,
              "token '"
                  + token.name()
                  + "' has role "
                  + name(token.role())
                  + ", but "
                  + endpoint
                  + " requires role "
                  + name(required)
                  + (required == Role.ADMIN ? "" : " or higher"),
              null));
    }
    return Future.succeededFuture(token);
  }

  private static void reject(RoutingContext ctx, Rejection rejection) {
    if (rejection.kind == ErrorKind.FORBIDDEN) {
      HttpErrors.send(ctx, 403, rejection.getMessage());
      return;
    }
    String challenge =
        rejection.bearerError == null ? "Bearer" : "Bearer error=\"" + rejection.bearerError + "\"";
    ctx.response().putHeader("WWW-Authenticate", challenge);
    HttpErrors.send(ctx, 401, rejection.getMessage());
  }

  static String name(Role role) {
    return role.name().toLowerCase(Locale.ROOT);
  }
}
