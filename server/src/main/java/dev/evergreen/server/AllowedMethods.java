package dev.evergreen.server;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code Allow} header of a 405 response, which RFC 9110 section 15.5.6 requires: the methods
 * of the router's routes whose path matches the request path.
 *
 * <p>Vert.x Web 5 responds with 405 when a route's path matches but none of the matching routes
 * takes the method, and it does not expose which routes matched. This class repeats the path match
 * for the three kinds of route path in use: exact paths, paths with {@code :name} parameters, and
 * prefixes ending in {@code /*}. A route added with a regular expression has no readable path, so
 * it must carry its expression in the metadata entry {@link #PATH_REGEX}; without it the route is
 * left out.
 */
final class AllowedMethods {
  /** Route metadata key for the regular expression of a route added with one. */
  static final String PATH_REGEX = "evergreen.pathRegex";

  static final String ALLOW = "allow";

  private static final String CONTENT_LENGTH = "content-length";

  private static final Pattern PARAMETER = Pattern.compile(":(\\w+)");

  private AllowedMethods() {}

  /**
   * Adds HEAD to every route of the router that takes GET, because RFC 9110 section 9.3.2 requires
   * HEAD wherever GET is allowed. Call it after the last route is added.
   */
  static void addHeadToGetRoutes(Router router) {
    for (Route route : router.getRoutes()) {
      Set<HttpMethod> methods = route.methods();
      if (methods != null && methods.contains(HttpMethod.GET)) {
        route.method(HttpMethod.HEAD);
      }
    }
  }

  /**
   * Wraps the router's first handler so that a response to HEAD carries the Content-Length that the
   * same GET would send. Vert.x 5.0 writes no body for HEAD, but it also leaves out the
   * Content-Length it adds to a GET response sent with one {@code end(body)}. It wraps an existing
   * handler instead of adding a route, so that other requests cost one method comparison and no
   * extra routing step.
   */
  static Handler<RoutingContext> withHeadContentLength(Handler<RoutingContext> first) {
    return ctx -> {
      if (HttpMethod.HEAD.equals(ctx.request().method())) {
        HttpServerResponse response = ctx.response();
        ctx.addHeadersEndHandler(
            ignored -> {
              // A response written in pieces sends its head before its length is known. GET sends
              // such a response chunked, and Vert.x drops Transfer-Encoding for HEAD, so HEAD
              // gets neither header unless the handler set Content-Length itself.
              if (response.ended() && !response.headers().contains(CONTENT_LENGTH)) {
                response.putHeader(CONTENT_LENGTH, Long.toString(response.bytesWritten()));
              }
            });
      }
      first.handle(ctx);
    };
  }

  /** Returns the handler that sends 405 with the {@code Allow} header. */
  static Handler<RoutingContext> methodNotAllowed(Router router) {
    return ctx -> {
      Set<String> methods = methods(router, ctx.normalizedPath());
      // NOTE: an empty set leaves the header out, which happens only for a regex route without
      // PATH_REGEX metadata.
      if (!methods.isEmpty() && !ctx.response().headWritten()) {
        ctx.response().putHeader(ALLOW, String.join(", ", methods));
      }
      HttpErrors.send(ctx, 405, HttpErrors.statusMessage(ctx, 405));
    };
  }

  /**
   * Returns the names of the methods that routes with a path matching {@code path} take, sorted.
   * Routes without methods match every method, so they never cause a 405 and are skipped.
   */
  static Set<String> methods(Router router, String path) {
    Set<String> methods = new TreeSet<>();
    for (Route route : router.getRoutes()) {
      Set<HttpMethod> routeMethods = route.methods();
      if (routeMethods == null || routeMethods.isEmpty() || !matches(route, path)) {
        continue;
      }
      for (HttpMethod method : routeMethods) {
        methods.add(method.name());
      }
    }
    return methods;
  }

  private static boolean matches(Route route, String path) {
    String routePath = route.getPath();
    if (routePath == null) {
      Object regex = route.metadata().get(PATH_REGEX);
      return regex instanceof String expression && Pattern.matches(expression, path);
    }
    if (!route.isExactPath()) {
      // A prefix route "/a/*" has the path "/a/" and also matches "/a".
      return path.startsWith(routePath)
          || path.equals(routePath.substring(0, routePath.length() - 1));
    }
    String trimmed =
        path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    if (!route.isRegexPath()) {
      return trimmed.equals(routePath);
    }
    return Pattern.matches(parameterRegex(routePath), trimmed);
  }

  /** Returns the regular expression of a path with {@code :name} parameters, each one segment. */
  private static String parameterRegex(String routePath) {
    StringBuilder regex = new StringBuilder();
    Matcher parameter = PARAMETER.matcher(routePath);
    int end = 0;
    while (parameter.find()) {
      regex.append(Pattern.quote(routePath.substring(end, parameter.start())));
      regex.append("[^/]+");
      end = parameter.end();
    }
    return regex.append(Pattern.quote(routePath.substring(end))).toString();
  }
}
