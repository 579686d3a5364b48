package dev.evergreen.server;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts the bytes of each gRPC call against the server's request-body budget as they arrive, the
 * gRPC counterpart of {@link RequestBodies#read}. A gRPC request declares no length ahead, so a
 * call reserves its bytes times the budget's expansion as they are delivered, and keeps them until
 * its response ends or its stream closes. A call that does not fit ends with UNAVAILABLE at once.
 *
 * <p>Bytes waiting in a call that is still paused for its token check are not counted: HTTP/2 flow
 * control bounds them by the connection's receive window, 65,535 bytes, because Vert.x returns
 * window only for bytes it delivers.
 *
 * <p>Two more limits apply: a method that needs no token takes an empty request message by the
 * protocol, so its calls may send at most {@link #MAX_UNAUTHENTICATED_BYTES}; and a call whose
 * request has not ended {@code bodyNanos} after its first bytes ends with DEADLINE_EXCEEDED, so
 * that a stalled client cannot hold its reservation for good.
 *
 * <p>All state but the shared budget belongs to one event loop, so it needs no locks; a periodic
 * check, not a timer per call, finds stalled calls.
 *
 * <p>Compressed messages are rejected, because Vert.x would inflate them without a limit. Deflate
 * reaches about 1,000 to 1, so a message within the 8 MiB limit could inflate to gigabytes.
 *
 * <p>It relies on Vert.x's internal {@link HttpServerRequestWrapper}, which the gRPC server accepts
 * in place of the request it wraps; a request of another class passes through uncounted.
 */
final class GrpcBodies {
  private static final Logger LOG = LoggerFactory.getLogger(GrpcBodies.class);

  /** Bytes a call to a method without a token may send: 64 KiB. */
  static final int MAX_UNAUTHENTICATED_BYTES = 64 * 1024;

  private static final String GRPC_ENCODING = "grpc-encoding";
  private static final String IDENTITY = "identity";

  /** HTTP/2 error code that tells the client to stop sending without reporting an error. */
  private static final long NO_ERROR = 0;

  private final RequestBodies budget;
  private final Set<String> openPaths;
  private final long bodyNanos;

  /** Calls of this event loop whose request is still arriving. */
  private final Set<Call> arriving = new HashSet<>();

  /**
   * Counts the calls of one event loop, checking every {@code checkMillis} for stalled messages.
   *
   * @param openPaths request paths, {@code /package.Service/Method}, of the methods without a token
   * @param bodyNanos how long after its first bytes a call's request may still be arriving
   */
  GrpcBodies(
      Vertx vertx, RequestBodies budget, Set<String> openPaths, long bodyNanos, long checkMillis) {
    this.budget = budget;
    this.openPaths = Set.copyOf(openPaths);
    this.bodyNanos = bodyNanos;
    vertx.setPeriodic(checkMillis, id -> endStalled());
  }

  private void endStalled() {
    long now = System.nanoTime();
    List<Call> stalled = new ArrayList<>();
    for (Call call : arriving) {
      if (now - call.firstNanos > bodyNanos) {
        stalled.add(call);
      }
    }
    for (Call call : stalled) {
      call.reject(
          GrpcStatus.DEADLINE_EXCEEDED,
          "the request was still arriving "
              + bodyNanos / 1_000_000_000.0
              + " s after its first bytes; send it faster or in smaller calls");
    }
  }

  /** Returns a request handler that counts each call's bytes, then passes it to {@code grpc}. */
  Handler<HttpServerRequest> track(Handler<HttpServerRequest> grpc) {
    return request -> {
      String encoding = request.getHeader(GRPC_ENCODING);
      if (encoding != null && !encoding.equals(IDENTITY)) {
        LOG.debug("gRPC call {} rejected: grpc-encoding {}", request.path(), encoding);
        request.response().putHeader("grpc-accept-encoding", IDENTITY);
        endCall(
            request.response(),
            GrpcStatus.UNIMPLEMENTED,
            "grpc-encoding '"
                + InferenceRequestDecoder.abbreviate(encoding)
                + "' is not accepted; send messages uncompressed");
        return;
      }
      if (request instanceof HttpServerRequestInternal internal) {
        grpc.handle(new Call(internal, openPaths.contains(request.path())));
      } else {
        grpc.handle(request);
      }
    };
  }

  /**
   * Ends a call with {@code status} unless its response began, and tells the client to stop
   * sending.
   */
  private static void endCall(HttpServerResponse response, GrpcStatus status, String message) {
    if (!response.headWritten()) {
      response
          .setStatusCode(200)
          .putHeader("content-type", "application/grpc")
          .putHeader("grpc-status", status.toString())
          .putHeader("grpc-message", percentEncode(message))
          .end();
    }
    response.reset(NO_ERROR);
  }

  /** One call's view of its request: every chunk passes the budget before the gRPC server. */
  private final class Call extends HttpServerRequestWrapper {
    private final boolean open;
    private long received;
    private long reserved;

    /** When the first bytes arrived, by {@link System#nanoTime}. */
    private long firstNanos;

    /** Set when the call was rejected, so later chunks and the end are dropped. */
    private boolean rejected;

    /** Set when the response ended or the stream closed, so later chunks are dropped. */
    private boolean finished;

    Call(HttpServerRequestInternal delegate, boolean open) {
      super(delegate);
      this.open = open;
      HttpServerResponse response = delegate.response();
      response.endHandler(ended -> finish());
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
            arriving.remove(this);
            if (!rejected) {
              handler.handle(ended);
            }
          });
    }

    /** Counts a chunk and returns whether the gRPC server may have it. */
    private boolean admit(Buffer chunk) {
      int bytes = chunk.length();
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
      if (received == bytes && bytes > 0 && chunk.getByte(0) != 0) {
        // The deframer would fail on the event loop without responding to the call.
        reject(
            GrpcStatus.INTERNAL,
            "the message is marked compressed, but compressed messages are not accepted;"
                + " send it uncompressed");
        return false;
      }
      long more = received * budget.expansion() - reserved;
      if (!budget.reserve(more)) {
        reject(GrpcStatus.UNAVAILABLE, budget.busyMessage("retry later, or send smaller calls"));
        return false;
      }
      reserved += more;
      if (received == bytes) {
        firstNanos = System.nanoTime();
        arriving.add(this);
      }
      return true;
    }

    /** Ends the call with {@code status}, see {@link GrpcBodies#endCall}. */
    private void reject(GrpcStatus status, String message) {
      rejected = true;
      LOG.debug("gRPC call {} rejected with {}: {}", delegate.path(), status, message);
      endCall(delegate.response(), status, message);
      finish();
    }

    private void finish() {
      if (finished) {
        return;
      }
      finished = true;
      arriving.remove(this);
      budget.release(reserved);
      reserved = 0;
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
