package dev.evergreen.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * One HTTP/2 client connection over a non-blocking socket, framed by hand (RFC 9113) for {@link
 * GrpcPreciseLoad}: one stream at a time, each a POST with a fixed set of request headers and a
 * fixed body. Header blocks go through Netty's HPACK encoder and decoder, one pair per connection
 * because HPACK keeps a dynamic table per connection.
 *
 * <p>The connection sends the client preface and its SETTINGS when it opens, acknowledges the
 * server's SETTINGS and PING frames, and stops the run on GOAWAY. It keeps its receive windows open
 * with WINDOW_UPDATE frames: each time half of the 65,535-byte initial window has been received on
 * the connection or on the open stream, it returns those bytes to the sender. It honours the
 * server's windows and maximum frame size when it sends a body; DATA that does not fit waits for
 * the server's WINDOW_UPDATE. PUSH_PROMISE is a protocol error, since the preface disables push.
 */
final class Http2Connection extends OpenLoop.Connection {
  private static final byte[] PREFACE =
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private static final int DATA = 0x0;
  private static final int HEADERS = 0x1;
  private static final int RST_STREAM = 0x3;
  private static final int SETTINGS = 0x4;
  private static final int PUSH_PROMISE = 0x5;
  private static final int PING = 0x6;
  private static final int GOAWAY = 0x7;
  private static final int WINDOW_UPDATE = 0x8;
  private static final int CONTINUATION = 0x9;

  private static final int FLAG_END_STREAM = 0x1;
  private static final int FLAG_ACK = 0x1;
  private static final int FLAG_END_HEADERS = 0x4;
  private static final int FLAG_PADDED = 0x8;
  private static final int FLAG_PRIORITY = 0x20;

  private static final int SETTINGS_HEADER_TABLE_SIZE = 0x1;
  private static final int SETTINGS_ENABLE_PUSH = 0x2;
  private static final int SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
  private static final int SETTINGS_MAX_FRAME_SIZE = 0x5;

  private static final int FRAME_HEADER_BYTES = 9;

  /** The initial flow-control window of RFC 9113, in bytes, which this client keeps for its own. */
  private static final int INITIAL_WINDOW = 65_535;

  /** The largest frame payload this client accepts, the default SETTINGS_MAX_FRAME_SIZE. */
  private static final int MAX_FRAME = 16_384;

  private static final int MAX_STREAM_ID = Integer.MAX_VALUE;

  /** The check of a response's headers, trailers and body, supplied by the caller. */
  interface ResponseCheck {
    /** Returns null when the response is a success, else why it is not. */
    String failure(Http2Headers headers, Http2Headers trailers, byte[] body);

    /** Describes a response in one line. */
    String describe(Http2Headers headers, Http2Headers trailers, byte[] body, String failure);
  }

  private final InetSocketAddress address;
  private final Selector selector;
  private final Http2Headers requestHeaders;
  private final byte[] requestBody;
  private final ResponseCheck check;

  private SocketChannel channel;
  private DefaultHttp2HeadersEncoder encoder;
  private DefaultHttp2HeadersDecoder decoder;

  /** Received bytes not yet parsed into frames, in write mode. */
  private final ByteBuffer in = ByteBuffer.allocate(4 * (FRAME_HEADER_BYTES + MAX_FRAME));

  /** Frames to send, collected while reading and written once per read. */
  private final ByteArrayOutputStream control = new ByteArrayOutputStream();

  private int nextStreamId;
  private int streamId;
  private boolean streamOpen;

  private long peerInitialWindow;
  private int peerMaxFrame;
  private long connectionSendWindow;
  private long streamSendWindow;

  /** Offset in {@link #requestBody} of the first byte not yet sent on the open stream. */
  private int bodySent;

  /** DATA bytes received since the last WINDOW_UPDATE, on the connection and on the stream. */
  private long connectionUnacknowledged;

  private long streamUnacknowledged;

  /** Stream of a header block that still waits for CONTINUATION frames, or 0. */
  private int continuedStream;

  private boolean continuedEndStream;
  private final ByteArrayOutputStream headerBlock = new ByteArrayOutputStream();

  private Http2Headers responseHeaders;
  private Http2Headers responseTrailers;
  private final ByteArrayOutputStream responseBody = new ByteArrayOutputStream();
  private String streamError;

  private Http2Headers lastHeaders;
  private Http2Headers lastTrailers;
  private byte[] lastBody = new byte[0];
  private String lastFailure;

  private long dataBytesReceived;
  private long windowUpdatesSent;
  private long pingsAcknowledged;

  Http2Connection(
      int index,
      InetSocketAddress address,
      Selector selector,
      Http2Headers requestHeaders,
      byte[] requestBody,
      ResponseCheck check)
      throws IOException {
    super(index);
    this.address = address;
    this.selector = selector;
    this.requestHeaders = requestHeaders;
    this.requestBody = requestBody;
    this.check = check;
    connect();
  }

  private void connect() throws IOException {
    encoder = new DefaultHttp2HeadersEncoder();
    decoder = new DefaultHttp2HeadersDecoder(true);
    nextStreamId = 1;
    streamId = 0;
    streamOpen = false;
    peerInitialWindow = INITIAL_WINDOW;
    peerMaxFrame = MAX_FRAME;
    connectionSendWindow = INITIAL_WINDOW;
    connectionUnacknowledged = 0;
    continuedStream = 0;
    in.clear();
    control.reset();

    channel = SocketChannel.open();
    channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
    // A blocking connect and preface, before the schedule starts or after a failure, keep the
    // loop simple. The server's SETTINGS are read and acknowledged by the loop.
    channel.connect(address);
    ByteBuffer preface = ByteBuffer.allocate(PREFACE.length + FRAME_HEADER_BYTES + 6);
    preface.put(PREFACE);
    putFrameHeader(preface, 6, SETTINGS, 0, 0);
    preface.putShort((short) SETTINGS_ENABLE_PUSH).putInt(0);
    preface.flip();
    writeFully(preface);
    channel.configureBlocking(false);
    channel.register(selector, SelectionKey.OP_READ, this);
  }

  @Override
  void reconnect() throws IOException {
    close();
    connect();
  }

  @Override
  void close() {
    try {
      channel.close();
    } catch (IOException e) {
      // Closing a channel that failed already has nothing left to release.
    }
  }

  /** Opens stream {@code k}'s HEADERS and sends as much of the body as the windows allow. */
  @Override
  void write(long k) throws IOException {
    if (nextStreamId > MAX_STREAM_ID - 2 || nextStreamId < 0) {
      throw new IOException("stream identifiers of this connection are used up");
    }
    streamId = nextStreamId;
    nextStreamId += 2;
    streamOpen = true;
    streamSendWindow = peerInitialWindow;
    streamUnacknowledged = 0;
    bodySent = 0;
    responseHeaders = null;
    responseTrailers = null;
    responseBody.reset();
    streamError = null;

    ByteBuf block = Unpooled.buffer(256);
    try {
      encoder.encodeHeaders(streamId, requestHeaders, block);
    } catch (Http2Exception e) {
      throw new IOException("HPACK encoding of the request headers failed: " + e.getMessage(), e);
    }
    byte[] encoded = new byte[block.readableBytes()];
    block.readBytes(encoded);
    block.release();

    ByteArrayOutputStream out = new ByteArrayOutputStream(encoded.length + requestBody.length + 64);
    int offset = 0;
    int type = HEADERS;
    do {
      int length = Math.min(peerMaxFrame, encoded.length - offset);
      boolean last = offset + length == encoded.length;
      frame(out, length, type, last ? FLAG_END_HEADERS : 0, streamId);
      out.write(encoded, offset, length);
      offset += length;
      type = CONTINUATION;
    } while (offset < encoded.length);
    appendData(out);
    writeFully(ByteBuffer.wrap(out.toByteArray()));
  }

  /** Appends the DATA frames of the body that the send windows allow; the last ends the stream. */
  private void appendData(ByteArrayOutputStream out) {
    while (bodySent < requestBody.length) {
      long window = Math.min(connectionSendWindow, streamSendWindow);
      int length = (int) Math.min(Math.min(window, peerMaxFrame), requestBody.length - bodySent);
      if (length <= 0) {
        return;
      }
      boolean last = bodySent + length == requestBody.length;
      frame(out, length, DATA, last ? FLAG_END_STREAM : 0, streamId);
      out.write(requestBody, bodySent, length);
      bodySent += length;
      connectionSendWindow -= length;
      streamSendWindow -= length;
    }
  }

  @Override
  boolean read() throws IOException {
    int read = channel.read(in);
    long now = System.nanoTime();
    if (read < 0) {
      throw new IOException("connection closed by the server");
    }
    boolean complete = parseFrames();
    if (connectionUnacknowledged >= INITIAL_WINDOW / 2) {
      windowUpdate(0, connectionUnacknowledged);
      connectionUnacknowledged = 0;
    }
    if (streamOpen && !complete && streamUnacknowledged >= INITIAL_WINDOW / 2) {
      windowUpdate(streamId, streamUnacknowledged);
      streamUnacknowledged = 0;
    }
    if (control.size() > 0) {
      writeFully(ByteBuffer.wrap(control.toByteArray()));
      control.reset();
    }
    if (complete) {
      completedAt = now;
      finish();
    }
    return complete;
  }

  /** Parses every whole frame in {@link #in} and returns true once the open stream has ended. */
  private boolean parseFrames() throws IOException {
    in.flip();
    boolean complete = false;
    while (in.remaining() >= FRAME_HEADER_BYTES) {
      int at = in.position();
      int length = (in.get(at) & 0xff) << 16 | (in.get(at + 1) & 0xff) << 8 | in.get(at + 2) & 0xff;
      if (length > MAX_FRAME) {
        throw new IOException(
            "frame of " + length + " bytes exceeds the maximum frame size " + MAX_FRAME);
      }
      if (in.remaining() < FRAME_HEADER_BYTES + length) {
        break;
      }
      int type = in.get(at + 3) & 0xff;
      int flags = in.get(at + 4) & 0xff;
      int stream = in.getInt(at + 5) & 0x7fffffff;
      byte[] payload = new byte[length];
      in.position(at + FRAME_HEADER_BYTES);
      in.get(payload);
      if (continuedStream != 0 && (type != CONTINUATION || stream != continuedStream)) {
        throw new IOException("expected CONTINUATION of stream " + continuedStream);
      }
      complete |= frameReceived(type, flags, stream, payload);
    }
    in.compact();
    return complete;
  }

  /** Handles one frame and returns true when it ends the open stream. */
  private boolean frameReceived(int type, int flags, int stream, byte[] payload)
      throws IOException {
    switch (type) {
      case DATA -> {
        return dataReceived(flags, stream, payload);
      }
      case HEADERS -> {
        int start = 0;
        int end = payload.length;
        if ((flags & FLAG_PADDED) != 0) {
          start = 1;
          end -= payload[0] & 0xff;
        }
        if ((flags & FLAG_PRIORITY) != 0) {
          start += 5;
        }
        if (start > end) {
          throw new IOException("HEADERS frame with invalid padding");
        }
        headerBlock.reset();
        headerBlock.write(payload, start, end - start);
        if ((flags & FLAG_END_HEADERS) == 0) {
          continuedStream = stream;
          continuedEndStream = (flags & FLAG_END_STREAM) != 0;
          return false;
        }
        return headersReceived(stream, (flags & FLAG_END_STREAM) != 0);
      }
      case CONTINUATION -> {
        if (continuedStream == 0) {
          throw new IOException("CONTINUATION frame without a HEADERS frame before it");
        }
        headerBlock.write(payload, 0, payload.length);
        if ((flags & FLAG_END_HEADERS) == 0) {
          return false;
        }
        continuedStream = 0;
        return headersReceived(stream, continuedEndStream);
      }
      case RST_STREAM -> {
        if (stream == streamId && streamOpen) {
          long code = payload.length >= 4 ? ByteBuffer.wrap(payload).getInt() & 0xffffffffL : -1;
          streamError = "stream reset by the server with error code " + code;
          return true;
        }
        return false;
      }
      case SETTINGS -> {
        if ((flags & FLAG_ACK) == 0) {
          settingsReceived(payload);
        }
        return false;
      }
      case PING -> {
        if ((flags & FLAG_ACK) == 0) {
          frame(control, payload.length, PING, FLAG_ACK, 0);
          control.write(payload, 0, payload.length);
          pingsAcknowledged++;
        }
        return false;
      }
      case GOAWAY -> throw goAway(payload);
      case WINDOW_UPDATE -> {
        long increment = payload.length >= 4 ? ByteBuffer.wrap(payload).getInt() & 0x7fffffff : 0;
        if (stream == 0) {
          connectionSendWindow += increment;
        } else if (stream == streamId) {
          streamSendWindow += increment;
        }
        if (streamOpen && bodySent < requestBody.length) {
          appendData(control);
        }
        return false;
      }
      case PUSH_PROMISE ->
          throw new IOException("PUSH_PROMISE received although SETTINGS_ENABLE_PUSH is 0");
      default -> {
        // PRIORITY and frame types this client does not know are ignored, as RFC 9113 requires.
        return false;
      }
    }
  }

  private boolean dataReceived(int flags, int stream, byte[] payload) throws IOException {
    // Flow control counts the whole payload, padding included.
    dataBytesReceived += payload.length;
    connectionUnacknowledged += payload.length;
    if (stream != streamId || !streamOpen) {
      return false;
    }
    streamUnacknowledged += payload.length;
    int start = 0;
    int end = payload.length;
    if ((flags & FLAG_PADDED) != 0) {
      if (payload.length == 0 || (payload[0] & 0xff) >= payload.length) {
        throw new IOException("DATA frame with invalid padding");
      }
      start = 1;
      end -= payload[0] & 0xff;
    }
    responseBody.write(payload, start, end - start);
    if ((flags & FLAG_END_STREAM) != 0) {
      if (responseTrailers == null) {
        streamError = "the stream ended without trailers";
      }
      return true;
    }
    return false;
  }

  /** Decodes the header block of {@code stream}, which every block needs to keep HPACK in step. */
  private boolean headersReceived(int stream, boolean endStream) throws IOException {
    byte[] block = headerBlock.toByteArray();
    Http2Headers headers;
    try {
      headers = decoder.decodeHeaders(stream, Unpooled.wrappedBuffer(block));
    } catch (Http2Exception e) {
      throw new IOException("HPACK decoding of a response header block failed: " + e, e);
    }
    if (stream != streamId || !streamOpen) {
      return false;
    }
    if (responseHeaders == null) {
      responseHeaders = headers;
      if (endStream) {
        // A trailers-only response: gRPC sends its status in the one and only header block.
        responseTrailers = headers;
      }
    } else {
      responseTrailers = headers;
      if (!endStream) {
        streamError = "a second header block that does not end the stream";
        return true;
      }
    }
    return endStream;
  }

  private void settingsReceived(byte[] payload) throws IOException {
    if (payload.length % 6 != 0) {
      throw new IOException("SETTINGS frame of " + payload.length + " bytes");
    }
    ByteBuffer settings = ByteBuffer.wrap(payload);
    while (settings.hasRemaining()) {
      int id = settings.getShort() & 0xffff;
      long value = settings.getInt() & 0xffffffffL;
      switch (id) {
        case SETTINGS_HEADER_TABLE_SIZE -> {
          try {
            encoder.configuration().maxHeaderTableSize(value);
          } catch (Http2Exception e) {
            throw new IOException("invalid SETTINGS_HEADER_TABLE_SIZE " + value, e);
          }
        }
        case SETTINGS_INITIAL_WINDOW_SIZE -> {
          streamSendWindow += value - peerInitialWindow;
          peerInitialWindow = value;
        }
        case SETTINGS_MAX_FRAME_SIZE -> peerMaxFrame = (int) Math.min(value, 16_777_215);
        default -> {
          // The other settings do not constrain a client with one stream and small headers.
        }
      }
    }
    frame(control, 0, SETTINGS, FLAG_ACK, 0);
    if (streamOpen && bodySent < requestBody.length) {
      appendData(control);
    }
  }

  private OpenLoop.RunStopped goAway(byte[] payload) {
    ByteBuffer frame = ByteBuffer.wrap(payload);
    int lastStream = payload.length >= 8 ? frame.getInt() & 0x7fffffff : -1;
    long code = payload.length >= 8 ? frame.getInt() & 0xffffffffL : -1;
    String debug =
        payload.length > 8
            ? new String(payload, 8, payload.length - 8, StandardCharsets.UTF_8)
            : "";
    return new OpenLoop.RunStopped(
        "connection "
            + index
            + ": the server sent GOAWAY with error code "
            + code
            + ", last stream "
            + lastStream
            + (debug.isEmpty() ? "" : ", debug data '" + debug + "'"));
  }

  /** Checks the ended stream and, when the server ended it before the body was sent, resets it. */
  private void finish() throws IOException {
    streamOpen = false;
    if (bodySent < requestBody.length && streamError == null) {
      ByteArrayOutputStream reset = new ByteArrayOutputStream(13);
      frame(reset, 4, RST_STREAM, 0, streamId);
      reset.write(new byte[4], 0, 4);
      writeFully(ByteBuffer.wrap(reset.toByteArray()));
    }
    lastHeaders = responseHeaders;
    lastTrailers = responseTrailers;
    lastBody = responseBody.toByteArray();
    lastFailure =
        streamError != null ? streamError : check.failure(lastHeaders, lastTrailers, lastBody);
  }

  @Override
  boolean succeeded() {
    return lastFailure == null;
  }

  @Override
  String describe() {
    return check.describe(lastHeaders, lastTrailers, lastBody, lastFailure);
  }

  long dataBytesReceived() {
    return dataBytesReceived;
  }

  long windowUpdatesSent() {
    return windowUpdatesSent;
  }

  long pingsAcknowledged() {
    return pingsAcknowledged;
  }

  private void windowUpdate(int stream, long increment) {
    frame(control, 4, WINDOW_UPDATE, 0, stream);
    control.write((int) (increment >>> 24) & 0x7f);
    control.write((int) (increment >>> 16) & 0xff);
    control.write((int) (increment >>> 8) & 0xff);
    control.write((int) increment & 0xff);
    windowUpdatesSent++;
  }

  private static void frame(
      ByteArrayOutputStream out, int length, int type, int flags, int stream) {
    out.write(length >>> 16);
    out.write(length >>> 8);
    out.write(length);
    out.write(type);
    out.write(flags);
    out.write(stream >>> 24);
    out.write(stream >>> 16);
    out.write(stream >>> 8);
    out.write(stream);
  }

  private static void putFrameHeader(ByteBuffer out, int length, int type, int flags, int stream) {
    out.put((byte) (length >>> 16)).put((byte) (length >>> 8)).put((byte) length);
    out.put((byte) type).put((byte) flags).putInt(stream);
  }

  /**
   * Writes the whole buffer. Requests and control frames are small and the socket's send buffer is
   * nearly empty with one stream at a time, so the loop runs once in practice.
   */
  private void writeFully(ByteBuffer out) throws IOException {
    while (out.hasRemaining()) {
      channel.write(out);
    }
  }
}
