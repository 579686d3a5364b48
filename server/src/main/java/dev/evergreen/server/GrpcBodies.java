package dev.evergreen.server;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.internal.http.HttpServerRequestInternal;
import io.vertx.core.internal.http.HttpServerRequestWrapper;
import io.vertx.grpc.common.GrpcStatus;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks each gRPC call's framing and counts its memory against the server's request-body budget,
 * the gRPC counterpart of {@link RequestBodies#read}. Every call is unary, so its request is one
 * message: a 5-byte prefix (a compression flag and a 4-byte length) and that many bytes.
 *
 * <p>A call reserves {@link #STREAM_BYTES} when its stream opens, for what Vert.x keeps per stream,
 * and eight times the declared message length once the prefix arrives. It keeps both until its
 * response ends or its stream closes. A call that does not fit ends at once with UNAVAILABLE, so
 * neither many open streams nor many large messages can exhaust the heap.
 *
 * <p>The wrapper responds itself, before the gRPC server receives them, to a message above the size
 * limit (RESOURCE_EXHAUSTED), a message marked compressed (INTERNAL), bytes after the one message
 * (INVALID_ARGUMENT), a request that ends without a whole message (INVALID_ARGUMENT), and a call to
 * a method without a token that sends more than {@link #MAX_UNAUTHENTICATED_BYTES}. A call not
 * answered {@code callNanos} after its stream opened ends with DEADLINE_EXCEEDED, so that a stalled
 * or silent client cannot keep its reservation.
 *
 * <p>A call whose {@code grpc-timeout} header is shorter ends with DEADLINE_EXCEEDED when that
 * timeout passes, measured from when its headers arrived, as the gRPC protocol requires of servers.
 * A malformed header ends it with INTERNAL, as grpc-go's server does. Its bytes are given back when
 * its stream closes, though its scoring may still hold the rows until the batching queue's delay
 * and the model's compute time have passed.
 *
 * <p>Pausing a gRPC call for its token check stops only the delivery of its message, not the
 * reading of its bytes, so every call's bytes are counted here whether or not its token is valid.
 *
 * <p>Compressed messages are rejected, because Vert.x would inflate them without a limit. Deflate
 * reaches about 1,000 to 1, so a message within the 8 MiB limit could inflate to gigabytes.
 *
 * <p>All state but the shared budget belongs to one event loop, so it needs no locks; a periodic
 * check, not a timer per call, finds stalled calls. It relies on Vert.x's internal {@link
 * HttpServerRequestWrapper}, which the gRPC server accepts in place of the request it wraps.
 */
final class GrpcBodies {
  private static final Logger LOG = LoggerFactory.getLogger(GrpcBodies.class);

  /** Bytes a call to a method without a token may send: 64 KiB. */
  static final int MAX_UNAUTHENTICATED_BYTES = 64 * 1024;

  /**
   * Heap that an open stream takes before any message, as counted against the budget. Measured at
   * 6.5 to 7.6 KB per stream (Vert.x's stream, queues and the gRPC request and response), so this
   * counts about twice that.
   */
  static final long STREAM_BYTES = 16 * 1024;

  /** Bytes of a message's prefix: a compression flag and a 4-byte length. */
  private static final int PREFIX_BYTES = 5;

  private static final String GRPC_ENCODING = "grpc-encoding";
  private static final String GRPC_ACCEPT_ENCODING = "grpc-accept-encoding";
  private static final String GRPC_TIMEOUT = "grpc-timeout";
  private static final String IDENTITY = "identity";

  /** HTTP/2 error code that requests the client to stop sending, without reporting an error. */
  private static final long NO_ERROR = 0;

  /** HTTP/2 error code for a stream that the server gives up. */
  private static final long CANCEL = 8;

  private final Vertx vertx;
  private final RequestBodies budget;
  private final Set<String> openPaths;
  private final long callNanos;

  /** Calls of this event loop whose stream has not closed. */
  private final Set<Call> openCalls = new HashSet<>();

  /**
   * Counts the calls of one event loop, checking every {@code checkMillis} for stalled calls.
   *
   * @param openPaths request paths, {@code /package.Service/Method}, of the methods without a token
   * @param callNanos how long after its stream opened a call may stay open
   */
  GrpcBodies(
      Vertx vertx, RequestBodies budget, Set<String> openPaths, long callNanos, long checkMillis) {
    this.vertx = vertx;
    this.budget = budget;
    this.openPaths = Set.copyOf(openPaths);
    this.callNanos = callNanos;
    vertx.setPeriodic(checkMillis, id -> endStalled());
  }

  private void endStalled() {
    long now = System.nanoTime();
    List<Call> stalled = new ArrayList<>();
    for (Call call : openCalls) {
      if (now - call.openedNanos > callNanos) {
        stalled.add(call);
      }
    }
    for (Call call : stalled) {
      if (call.answered) {
        // The client does not read its response, which keeps the stream and its memory.
        LOG.debug("gRPC call {} reset: its response was not read", call.path());
        call.delegate().response().reset(CANCEL);
        call.finish();
      } else {
        call.reject(
            GrpcStatus.DEADLINE_EXCEEDED,
            "the call was not complete "
                + callNanos / 1_000_000_000.0
                + " s after it began; send the whole request at once, faster or in smaller calls");
      }
    }
  }

  /** Returns a request handler that checks and counts each call, then passes it to {@code grpc}. */
  Handler<HttpServerRequest> track(Handler<HttpServerRequest> grpc) {
    return request -> {
      String contentType = request.getHeader(HttpHeaders.CONTENT_TYPE);
      if (!isProtobufGrpc(contentType)) {
        LOG.debug("gRPC port request {} rejected: content-type {}", request.path(), contentType);
        HttpServerResponse response = request.response();
        response
            .setStatusCode(415)
            .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
            .end(
                "this port serves gRPC with protobuf messages (content-type application/grpc or"
                    + " application/grpc+proto); send REST requests to the HTTP port");
        // The client may still hold its side of the stream open, and the stream its memory.
        response.reset(NO_ERROR);
        return;
      }
      String encoding = request.getHeader(GRPC_ENCODING);
      if (encoding != null && !encoding.equals(IDENTITY)) {
        LOG.debug("gRPC call {} rejected: grpc-encoding {}", request.path(), encoding);
        request.response().putHeader(GRPC_ACCEPT_ENCODING, IDENTITY);
        endCall(
            request.response(),
            GrpcStatus.UNIMPLEMENTED,
            "grpc-encoding '"
                + InferenceRequestDecoder.abbreviate(encoding)
                + "' is not accepted; send messages uncompressed");
        return;
      }
      String timeout = request.getHeader(GRPC_TIMEOUT);
      long timeoutNanos = timeout == null ? -1 : timeoutNanos(timeout);
      if (timeout != null && timeoutNanos < 0) {
        LOG.debug("gRPC call {} rejected: grpc-timeout {}", request.path(), timeout);
        endCall(
            request.response(),
            GrpcStatus.INTERNAL,
            "grpc-timeout '"
                + InferenceRequestDecoder.abbreviate(timeout)
                + "' is malformed; send 1 to 8 digits and a unit (H, M, S, m, u or n), as in 500m");
        return;
      }
      if (timeoutNanos == 0) {
        endCall(request.response(), GrpcStatus.DEADLINE_EXCEEDED, deadlineMessage(timeout));
        return;
      }
      if (!budget.reserve(STREAM_BYTES)) {
        LOG.debug("gRPC call {} rejected: the request-body budget is spent", request.path());
        endCall(
            request.response(),
            GrpcStatus.UNAVAILABLE,
            budget.busyMessage("retry later, or send smaller calls"));
        return;
      }
      if (request instanceof HttpServerRequestInternal internal) {
        Call call = new Call(internal, openPaths.contains(request.path()));
        if (timeoutNanos > 0 && timeoutNanos < callNanos) {
          call.expireAfter(timeoutNanos, timeout);
        }
        grpc.handle(call);
      } else {
        budget.release(STREAM_BYTES);
        grpc.handle(request);
      }
    };
  }

  /**
   * Returns a {@code grpc-timeout} value in nanoseconds, or -1 when it is malformed. The value is 1
   * to 8 ASCII digits and a unit: H (hours), M (minutes), S (seconds), m (milliseconds), u
   * (microseconds) or n (nanoseconds).
   */
  static long timeoutNanos(String timeout) {
    int digits = timeout.length() - 1;
    if (digits < 1 || digits > 8) {
      return -1;
    }
    long value = 0;
    for (int i = 0; i < digits; i++) {
      char c = timeout.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return switch (timeout.charAt(digits)) {
      case 'H' -> TimeUnit.HOURS.toNanos(value);
      case 'M' -> TimeUnit.MINUTES.toNanos(value);
      case 'S' -> TimeUnit.SECONDS.toNanos(value);
      case 'm' -> TimeUnit.MILLISECONDS.toNanos(value);
      case 'u' -> TimeUnit.MICROSECONDS.toNanos(value);
      case 'n' -> value;
      default -> -1;
    };
  }

  private static String deadlineMessage(String timeout) {
    return "the call's deadline passed: its grpc-timeout of "
        + timeout
        + " elapsed before the response was ready; allow more time or send fewer rows";
  }

  /**
   * Returns whether a content type names gRPC with protobuf messages. Vert.x also decodes JSON
   * messages ({@code application/grpc+json}) on the event loop, where a message of empty objects
   * takes far more than eight times its size.
   */
  static boolean isProtobufGrpc(String contentType) {
    if (contentType == null) {
      return false;
    }
    if (contentType.equals("application/grpc") || contentType.equals("application/grpc+proto")) {
      return true;
    }
    String type = contentType.split(";", 2)[0].strip().toLowerCase(java.util.Locale.ROOT);
    return type.equals("application/grpc") || type.equals("application/grpc+proto");
  }

  /**
   * Ends a call with {@code status} unless its response began, and resets its stream so the client
   * stops sending.
   */
  private static void endCall(HttpServerResponse response, GrpcStatus status, String message) {
    if (!response.headWritten()) {
      response
          .setStatusCode(200)
          .putHeader(HttpHeaders.CONTENT_TYPE, "application/grpc")
          .putHeader("grpc-status", status.toString())
          .putHeader("grpc-message", percentEncode(message))
          .end();
    }
    response.reset(NO_ERROR);
  }

  /** One call's view of its request: every chunk passes the checks before the gRPC server. */
  private final class Call extends HttpServerRequestWrapper {
    private final boolean open;
    private final long openedNanos = System.nanoTime();
    private final byte[] prefix = new byte[PREFIX_BYTES];
    private long received;

    /** Bytes of the prefix and the message it declares, -1 until the whole prefix arrived. */
    private long messageBytes = -1;

    /** Bytes of the budget this call holds. */
    private long reserved = STREAM_BYTES;

    /** Set when the call was rejected, so later chunks and the end are dropped. */
    private boolean rejected;

    /** Set when the response ended. */
    private boolean answered;

    /** Set when the stream closed or was reset, so later chunks are dropped. */
    private boolean finished;

    /** The timer of the call's {@code grpc-timeout}, -1 when it has none. */
    private long deadlineTimer = -1;

    Call(HttpServerRequestInternal delegate, boolean open) {
      super(delegate);
      this.open = open;
      openCalls.add(this);
      HttpServerResponse response = delegate.response();
      // Vert.x's gRPC responses offer gzip, which this server refuses.
      response.headersEndHandler(headers -> response.headers().set(GRPC_ACCEPT_ENCODING, IDENTITY));
      response.endHandler(ended -> answered());
      response.closeHandler(closed -> finish());
    }

    @Override
    public HttpServerRequest handler(Handler<Buffer> handler) {
      if (handler == null) {
        return delegate.handler(null);
      }
      return delegate.handler(
          chunk -> {
            if (rejected || finished) {
              return;
            }
            if (admit(chunk)) {
              handler.handle(chunk);
            }
          });
    }

    @Override
    public HttpServerRequest endHandler(Handler<Void> handler) {
      if (handler == null) {
        return delegate.endHandler(null);
      }
      return delegate.endHandler(
          ended -> {
            if (rejected || finished) {
              return;
            }
            if (messageBytes < 0 || received < messageBytes) {
              // Vert.x would fail the call's message and send no response.
              reject(
                  GrpcStatus.INVALID_ARGUMENT,
                  received == 0
                      ? "the request ended without a message; send one request message"
                      : "the request ended inside its message after "
                          + received
                          + " bytes; send the whole message");
              return;
            }
            handler.handle(ended);
          });
    }

    /**
     * Ends the call with DEADLINE_EXCEEDED {@code nanos} from now unless its response ended first.
     */
    void expireAfter(long nanos, String timeout) {
      // Vert.x timers count whole milliseconds, at least one.
      long millis = Math.max(1, (nanos + 999_999) / 1_000_000);
      deadlineTimer =
          vertx.setTimer(
              millis,
              id -> {
                deadlineTimer = -1;
                if (!rejected && !finished && !answered) {
                  reject(GrpcStatus.DEADLINE_EXCEEDED, deadlineMessage(timeout));
                }
              });
    }

    /** Checks and counts a chunk and returns whether the gRPC server may have it. */
    private boolean admit(Buffer chunk) {
      int bytes = chunk.length();
      long before = received;
      received += bytes;
      if (open && received > MAX_UNAUTHENTICATED_BYTES) {
        reject(
            GrpcStatus.RESOURCE_EXHAUSTED,
            "a call to "
                + delegate.path()
                + " sent more than "
                + MAX_UNAUTHENTICATED_BYTES
                + " bytes; this method takes an empty request message");
        return false;
      }
      if (messageBytes < 0) {
        for (long at = before; at < PREFIX_BYTES && at < received; at++) {
          prefix[(int) at] = chunk.getByte((int) (at - before));
        }
        if (received >= PREFIX_BYTES && !readPrefix()) {
          return false;
        }
      }
      if (messageBytes >= 0 && received > messageBytes) {
        reject(
            GrpcStatus.INVALID_ARGUMENT,
            "the request carries more than one message; each call takes exactly one");
        return false;
      }
      return true;
    }

    /** Reads the complete prefix, reserves the declared message, and returns whether it fits. */
    private boolean readPrefix() {
      if (prefix[0] != 0) {
        reject(
            GrpcStatus.INTERNAL,
            "the message is marked compressed, but compressed messages are not accepted;"
                + " send it uncompressed");
        return false;
      }
      long length =
          ((prefix[1] & 0xffL) << 24)
              | ((prefix[2] & 0xffL) << 16)
              | ((prefix[3] & 0xffL) << 8)
              | (prefix[4] & 0xffL);
      if (open && PREFIX_BYTES + length > MAX_UNAUTHENTICATED_BYTES) {
        reject(
            GrpcStatus.RESOURCE_EXHAUSTED,
            "a call to "
                + delegate.path()
                + " declares a message of "
                + length
                + " bytes, more than "
                + MAX_UNAUTHENTICATED_BYTES
                + "; this method takes an empty request message");
        return false;
      }
      if (length > HttpErrors.MAX_BODY_BYTES) {
        reject(
            GrpcStatus.RESOURCE_EXHAUSTED,
            "the message has "
                + length
                + " bytes, above the limit of "
                + HttpErrors.MAX_BODY_BYTES
                + "; send fewer rows per call");
        return false;
      }
      long more = (PREFIX_BYTES + length) * budget.expansion();
      if (!budget.reserve(more)) {
        reject(GrpcStatus.UNAVAILABLE, budget.busyMessage("retry later, or send smaller calls"));
        return false;
      }
      reserved += more;
      messageBytes = PREFIX_BYTES + length;
      return true;
    }

    /** Ends the call with {@code status}, see {@link GrpcBodies#endCall}. */
    private void reject(GrpcStatus status, String message) {
      rejected = true;
      LOG.debug("gRPC call {} rejected with {}: {}", delegate.path(), status, message);
      endCall(delegate.response(), status, message);
      finish();
    }

    /**
     * Notes that the response ended. Its bytes stay reserved until the stream closes, because a
     * client that does not read the response keeps the stream, and its request, in memory.
     */
    private void answered() {
      answered = true;
      if (!finished && !rejected && !delegate.isEnded()) {
        // The response ended before the client ended its request, as when its token was refused.
        // The stream would stay open, and keep its memory, until the client ends it.
        delegate.response().reset(NO_ERROR);
      }
    }

    /** Gives back the call's bytes once its stream closed or was reset. */
    private void finish() {
      if (finished) {
        return;
      }
      finished = true;
      openCalls.remove(this);
      if (deadlineTimer >= 0) {
        vertx.cancelTimer(deadlineTimer);
        deadlineTimer = -1;
      }
      budget.release(reserved);
      reserved = 0;
    }

    private HttpServerRequestInternal delegate() {
      return delegate;
    }
  }

  /**
   * Encodes a status message for the {@code grpc-message} header: UTF-8, with every byte outside
   * printable ASCII and every {@code %} written as {@code %XX}, as the gRPC HTTP/2 protocol
   * requires.
   */
  static String percentEncode(String message) {
    StringBuilder encoded = new StringBuilder(message.length());
    for (byte b : message.getBytes(StandardCharsets.UTF_8)) {
      int value = b & 0xff;
      if (value >= 0x20 && value <= 0x7e && value != '%') {
        encoded.append((char) value);
      } else {
        encoded.append('%').append(Character.toUpperCase(Character.forDigit(value >> 4, 16)));
        encoded.append(Character.toUpperCase(Character.forDigit(value & 0xf, 16)));
      }
    }
    return encoded.toString();
  }
}
