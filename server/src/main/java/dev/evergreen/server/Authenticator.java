package dev.evergreen.server;

import dev.evergreen.api.security.Role;
import dev.evergreen.api.security.Token;
import dev.evergreen.core.security.TokenService;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import java.util.Locale;
import java.util.Optional;
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

  private final Vertx vertx;
  private final TokenService tokens;
  private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();

  private record Cached(Token token, long expiresAtNanos) {}

  Authenticator(Vertx vertx, TokenService tokens) {
    this.vertx = vertx;
    this.tokens = tokens;
  }

  /** Returns a route handler that lets requests whose token has at least {@code required} pass. */
  Handler<RoutingContext> require(Role required, String endpoint) {
    return ctx -> authenticate(ctx, required, endpoint);
  }

  /** Removes a deleted token from the cache. */
  void forget(String tokenId) {
    cache.values().removeIf(cached -> cached.token().id().equals(tokenId));
  }

  static Token token(RoutingContext ctx) {
    return ctx.get(TOKEN_KEY);
  }

  private void authenticate(RoutingContext ctx, Role required, String endpoint) {
    String header = ctx.request().getHeader("Authorization");
    if (header == null || header.isBlank()) {
      unauthenticated(ctx, "missing bearer token: send 'Authorization: Bearer <token>'", null);
      return;
    }
    if (header.length() <= BEARER.length()
        || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      unauthenticated(
          ctx,
          "the Authorization header does not use the Bearer scheme: send 'Authorization: Bearer"
              + " <token>'",
          "invalid_request");
      return;
    }
    String secret = header.substring(BEARER.length()).trim();
    Cached cached = cache.get(secret);
    if (cached != null && cached.expiresAtNanos() - System.nanoTime() > 0) {
      authorize(ctx, cached.token(), required, endpoint);
      return;
    }
    // The store lookup blocks, so it runs on a worker thread; the route continues on the event
    // loop.
    vertx
        .executeBlocking(() -> tokens.authenticate(secret), false)
        .onComplete(
            result -> {
              if (result.failed()) {
                ctx.fail(result.cause());
                return;
              }
              Optional<Token> token = result.result();
              if (token.isEmpty()) {
                cache.remove(secret);
                LOG.debug("Rejected an unknown bearer token for {}", ctx.request().path());
                unauthenticated(
                    ctx,
                    "the bearer token is not valid: it matches no token, or its token was deleted;"
                        + " ask an admin for a token",
                    "invalid_token");
                return;
              }
              if (cache.size() >= MAX_CACHED) {
                cache.clear();
              }
              cache.put(secret, new Cached(token.get(), System.nanoTime() + CACHE_NANOS));
              authorize(ctx, token.get(), required, endpoint);
            });
  }

  private static void authorize(RoutingContext ctx, Token token, Role required, String endpoint) {
    if (!token.role().includes(required)) {
      HttpErrors.send(
          ctx,
          403,
          "token '"
              + token.name()
              + "' has role "
              + name(token.role())
              + ", but "
              + endpoint
              + " requires role "
              + name(required)
              + (required == Role.ADMIN ? "" : " or higher"));
      return;
    }
    ctx.put(TOKEN_KEY, token);
    ctx.next();
  }

  private static void unauthenticated(RoutingContext ctx, String message, String error) {
    ctx.response()
        .putHeader("WWW-Authenticate", error == null ? "Bearer" : "Bearer error=\"" + error + "\"");
    HttpErrors.send(ctx, 401, message);
  }

  static String name(Role role) {
    return role.name().toLowerCase(Locale.ROOT);
  }
}
