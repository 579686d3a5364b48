package dev.evergreen.server;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads request bodies only after the caller's token passed, and only while the bodies being read
 * or served fit a server-wide budget of bytes. Without it, clients without a token could make the
 * server buffer {@link HttpErrors#MAX_BODY_BYTES} per connection until the heap ran out, and many
 * large requests from valid callers could do the same.
 *
 * <p>Every route starts with {@link #pause}, which stops reading a request's body. The route's
 * token check then calls {@link #read}, or a route without a token calls it directly. A request
 * that cannot be read within the budget gets 503 with {@code Retry-After}. When the server responds
 * before a body was read, the body is dropped after the response, or the connection is closed when
 * the body is large, so that the unread bytes are never kept or parsed as the next request.
 */
final class RequestBodies {
  private static final Logger LOG = LoggerFactory.getLogger(RequestBodies.class);

  /**
   * Bytes of an unread body that are read and dropped after an early response: twice the maximum
   * body, so that a client sending a body just over the limit still reads its 413 instead of a
   * reset connection.
   */
  static final long MAX_DROPPED_BYTES = 2 * HttpErrors.MAX_BODY_BYTES;

  /** Key of the routing context that marks a request whose unread body will be dropped. */
  private static final String DROP_KEY = "evergreen.dropUnreadBody";

  /** Share of the maximum heap that requests being read, decoded and served may use: half. */
  private static final long HEAP_DIVISOR = 2;

  /**
   * Memory a request takes per byte of its body while it is decoded and served: the body, its parse
   * tree or strings, the decoded columns and the response. An estimate: eight concurrent V2
   * requests of 7.66 MiB each ran a 512 MiB heap out of memory, and with this factor they did not.
   */
  static final int BODY_EXPANSION = 8;

  private final BodyHandler bodyHandler =
      BodyHandler.create(false).setBodyLimit(HttpErrors.MAX_BODY_BYTES);

  private final long budgetBytes;
  private final int expansion;
  private final AtomicLong availableBytes;

  /**
   * A budget of half the maximum heap, and at least one body of the maximum size, each body
   * counting {@link #BODY_EXPANSION} times its size.
   */
  RequestBodies() {
    this(
        Math.max(
            Runtime.getRuntime().maxMemory() / HEAP_DIVISOR,
            BODY_EXPANSION * HttpErrors.MAX_BODY_BYTES),
        BODY_EXPANSION);
  }

  /**
   * @param budgetBytes memory that requests being read and served may take together
   * @param expansion memory a request takes per byte of its body
   */
  RequestBodies(long budgetBytes, int expansion) {
    this.budgetBytes = budgetBytes;
    this.expansion = expansion;
    this.availableBytes = new AtomicLong(budgetBytes);
  }

  /** Returns the bytes of the budget that no request has reserved. */
  long availableBytes() {
    return availableBytes.get();
  }

  /** First handler of every route: stops reading the body until {@link #read} runs. */
  static void pause(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    if (readsBody(request)) {
      request.pause();
    }
    ctx.next();
  }

  /**
   * Reads the body within the budget and continues the route. A request reserves its declared
   * {@code Content-Length}, or the maximum body size for a chunked body, times the expansion, until
   * its response ends or its connection closes. The body of a GET or HEAD request is dropped
   * instead.
   */
  void read(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    if (isBodiless(request)) {
      // No GET or HEAD handler reads a body, so one sent anyway is dropped, never buffered.
      if (readsBody(request)) {
        dropUnreadBody(ctx);
      }
      ctx.next();
      return;
    }
    String encoding = request.getHeader(HttpHeaders.CONTENT_ENCODING);
    if (encoding != null && !encoding.isBlank() && !encoding.strip().equalsIgnoreCase("identity")) {
      LOG.debug("{} {} rejected: Content-Encoding {}", request.method(), request.path(), encoding);
      HttpErrors.send(
          ctx,
          415,
          "Content-Encoding '"
              + InferenceRequestDecoder.abbreviate(encoding)
              + "' is not accepted; send the body uncompressed");
      return;
    }
    long size = reservation(request) * expansion;
    if (size > 0 && !reserve(size)) {
      LOG.debug(
          "{} {} rejected: {} bytes do not fit the {} available of the request-body budget",
          request.method(),
          request.path(),
          size,
          availableBytes.get());
      HttpErrors.send(
          ctx, 503, busyMessage("retry after the time in Retry-After, or send smaller requests"));
      return;
    }
    if (size > 0) {
      ctx.addEndHandler(ended -> release(size));
    }
    bodyHandler.handle(ctx);
  }

  /**
   * Reads and drops the rest of an HTTP/1.x request body after an early response, so that the
   * connection can serve its next request; a body longer than {@link #MAX_DROPPED_BYTES} closes the
   * connection instead. HTTP/2 needs nothing, because each request has its own stream. Calling it
   * more than once for a request has the effect of one call.
   */
  static void dropUnreadBody(RoutingContext ctx) {
    if (ctx.get(DROP_KEY) != null) {
      return;
    }
    ctx.put(DROP_KEY, Boolean.TRUE);
    ctx.addEndHandler(
        ended -> {
          HttpServerRequest request = ctx.request();
          if (request.isEnded() || request.version() == HttpVersion.HTTP_2) {
            return;
          }
          long[] dropped = {0};
          request.handler(
              chunk -> {
                dropped[0] += chunk.length();
                if (dropped[0] > MAX_DROPPED_BYTES) {
                  request.connection().close();
                }
              });
          request.resume();
        });
  }

  /**
   * Returns the message of a request refused because the budget is spent.
   *
   * @param next what the caller can do
   */
  String busyMessage(String next) {
    return "the server is reading as many request bytes as its memory allows ("
        + budgetBytes / expansion / (1024 * 1024)
        + " MiB of bodies); "
        + next;
  }

  /** Returns the memory a request takes per byte of its body. */
  int expansion() {
    return expansion;
  }

  /** Gives back bytes that {@link #reserve} took. */
  void release(long size) {
    availableBytes.addAndGet(size);
  }

  /** Takes {@code size} bytes from the budget, or returns false and takes nothing. */
  boolean reserve(long size) {
    while (true) {
      long available = availableBytes.get();
      if (available < size) {
        return false;
      }
      if (availableBytes.compareAndSet(available, available - size)) {
        return true;
      }
    }
  }

  /**
   * Returns the bytes a request's body may take: its {@code Content-Length}, the maximum for a
   * chunked body, and 0 for a request without a body or with a length above the maximum, which the
   * body handler refuses with 413 before reading.
   */
  private static long reservation(HttpServerRequest request) {
    String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (length != null) {
      try {
        long bytes = Long.parseLong(length.trim());
        return bytes > HttpErrors.MAX_BODY_BYTES ? 0 : Math.max(bytes, 0);
      } catch (NumberFormatException e) {
        // The HTTP codec already refuses a malformed length; reserve the maximum regardless.
        return HttpErrors.MAX_BODY_BYTES;
      }
    }
    return isChunked(request) ? HttpErrors.MAX_BODY_BYTES : 0;
  }

  /**
   * Returns whether the body handler reads a body for this request: one with a {@code
   * Content-Length}, even 0, or one without a declared length. Such a request must stay paused
   * until then, or it may end before the handler runs, which the handler refuses.
   */
  private static boolean readsBody(HttpServerRequest request) {
    return request.headers().contains(HttpHeaders.CONTENT_LENGTH) || isChunked(request);
  }

  /**
   * Returns whether the body has no declared length: HTTP/1.1 chunks, or HTTP/2, whose streams need
   * no {@code Content-Length}. The body handler reads both kinds the same way.
   */
  private static boolean isChunked(HttpServerRequest request) {
    return request.version() == HttpVersion.HTTP_2
        || request.headers().contains(HttpHeaders.TRANSFER_ENCODING);
  }

  /** Returns whether the method's requests carry no body that a handler reads: GET and HEAD. */
  private static boolean isBodiless(HttpServerRequest request) {
    return request.method() == HttpMethod.GET || request.method() == HttpMethod.HEAD;
  }
}
