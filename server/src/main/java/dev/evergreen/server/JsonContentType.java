package dev.evergreen.server;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Content-Type rule of the JSON inference endpoints, V2 {@code infer} and KServe V1 {@code
 * :predict}. The body is read as JSON when the request has no Content-Type, as KServe's Python
 * client sends it, when the type is {@code application/json} or has the {@code +json} suffix (RFC
 * 6839), and when it is {@code application/x-www-form-urlencoded}, the type curl sends for {@code
 * -d} without {@code -H}. Parameters are allowed, but a charset must be UTF-8, the only encoding
 * RFC 8259 allows for JSON between systems. A blank Content-Type counts as none, but one of
 * parameters only, such as {@code ; charset=utf-8}, gets 415 like any other type these endpoints do
 * not read. A request with several Content-Type headers gets 400.
 */
final class JsonContentType {
  /**
   * Charset names read as UTF-8: its name, the alias Java also accepts, and US-ASCII, because a
   * valid US-ASCII body is the same text in UTF-8.
   */
  private static final Set<String> UTF8_NAMES = Set.of("utf-8", "utf8", "us-ascii", "ascii");

  private static final Logger LOG = LoggerFactory.getLogger(JsonContentType.class);

  private static final String JSON = "application/json";
  private static final String CURL_DEFAULT = "application/x-www-form-urlencoded";
  private static final String SEND_JSON =
      "send the body as JSON with Content-Type application/json";

  /** Header of the V2 binary tensor data extension, which this server does not implement. */
  private static final String BINARY_HEADER = "inference-header-content-length";

  private JsonContentType() {}

  /**
   * Wraps an endpoint handler so that it runs only for a JSON Content-Type and otherwise responds
   * 415. Checking inside the endpoint's own handler costs no extra routing step.
   */
  static Handler<RoutingContext> required(Handler<RoutingContext> endpoint) {
    return ctx -> {
      if (rejectedRepeated(ctx)) {
        return;
      }
      String rejection = rejection(ctx.request().getHeader(HttpErrors.CONTENT_TYPE));
      if (rejection == null) {
        endpoint.handle(ctx);
        return;
      }
      if (ctx.request().getHeader(BINARY_HEADER) != null) {
        rejection += " (this server does not implement the binary tensor data extension)";
      }
      reject(ctx, rejection);
    };
  }

  /**
   * Sends 400 naming every value when the request has more than one Content-Type header, because
   * HTTP lets a sender repeat only a header whose value is a list (RFC 7230, section 3.2.2).
   *
   * @return whether the request was rejected
   */
  static boolean rejectedRepeated(RoutingContext ctx) {
    List<String> values = ctx.request().headers().getAll(HttpErrors.CONTENT_TYPE);
    if (values.size() < 2) {
      return false;
    }
    StringBuilder quoted = new StringBuilder();
    for (int i = 0; i < values.size(); i++) {
      if (i > 0) {
        quoted.append(i == values.size() - 1 ? " and " : ", ");
      }
      quoted.append('\'').append(InferenceRequestDecoder.abbreviate(values.get(i))).append('\'');
    }
    String message =
        "request has "
            + values.size()
            + " Content-Type headers, "
            + quoted
            + "; send exactly one Content-Type header";
    LOG.debug("{} {} rejected: {}", ctx.request().method(), ctx.request().path(), message);
    HttpErrors.send(ctx, 400, message);
    return true;
  }

  /**
   * Returns the 415 message for a Content-Type header that has parameters but no media type, such
   * as {@code ; charset=utf-8}.
   *
   * @param remedy what to send instead
   */
  static String noMediaType(String header, String remedy) {
    return "Content-Type '"
        + InferenceRequestDecoder.abbreviate(header.strip())
        + "' is not supported, because it has no media type; "
        + remedy;
  }

  /** Sends 415 with the message and logs it at debug level, as other rejected requests are. */
  static void reject(RoutingContext ctx, String message) {
    LOG.debug("{} {} rejected: {}", ctx.request().method(), ctx.request().path(), message);
    HttpErrors.send(ctx, 415, message);
  }

  /** Returns the 415 message for a Content-Type header, or null when the body is read as JSON. */
  static String rejection(String header) {
    if (header == null || JSON.equalsIgnoreCase(header)) {
      return null;
    }
    String type = mediaType(header);
    if (header.isBlank()) {
      return null;
    }
    if (type.isEmpty()) {
      return noMediaType(header, SEND_JSON);
    }
    if (!type.equals(JSON) && !type.endsWith("+json") && !type.equals(CURL_DEFAULT)) {
      return "Content-Type '"
          + InferenceRequestDecoder.abbreviate(type)
          + "' is not supported; "
          + SEND_JSON;
    }
    return charsetRejection(header);
  }

  /** Returns the 415 message for a charset not read as UTF-8, or null when there is none. */
  static String charsetRejection(String header) {
    String charset = charset(header);
    if (charset == null || UTF8_NAMES.contains(charset)) {
      return null;
    }
    return "charset '"
        + InferenceRequestDecoder.abbreviate(charset)
        + "' is not supported; send the body as UTF-8";
  }

  /** Returns the lower-case media type of a Content-Type header without its parameters. */
  static String mediaType(String header) {
    if (header == null) {
      return "";
    }
    int semicolon = header.indexOf(';');
    String type = semicolon < 0 ? header : header.substring(0, semicolon);
    return type.strip().toLowerCase(Locale.ROOT);
  }

  /** Returns the lower-case charset parameter of a Content-Type header, or null without one. */
  static String charset(String header) {
    for (String parameter : header.split(";")) {
      int equals = parameter.indexOf('=');
      if (equals > 0 && parameter.substring(0, equals).strip().equalsIgnoreCase("charset")) {
        String value = parameter.substring(equals + 1).strip();
        return value.replace("\"", "").toLowerCase(Locale.ROOT);
      }
    }
    return null;
  }
}
