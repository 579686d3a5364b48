package dev.evergreen.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Open-loop HTTP/1.1 load generator: sends one POST every {@code 1 / rate} seconds over a fixed set
 * of keep-alive connections, whatever the server's latency.
 *
 * <p>Request {@code k} is scheduled at {@code start + k / rate} and goes out on connection {@code k
 * mod connections} as soon as that connection has received its previous response. Its latency runs
 * from the scheduled time to the last byte of the response, so a response that arrives late delays
 * the next request on its connection and that delay is counted as latency too. This is the
 * correction for coordinated omission that a closed-loop tool such as wrk lacks. The send lag,
 * actual send time minus scheduled time, is reported separately. The schedule, loop and report are
 * {@link OpenLoop}'s, shared with {@link GrpcPreciseLoad}.
 *
 * <p>One thread does everything and never sleeps: it polls the clock and the non-blocking sockets
 * in a loop, so it occupies one CPU for the whole run. A generator that sleeps between requests
 * adds its own wake-up delay to every measured latency. On these virtual machines, a thread parked
 * until the scheduled time woke 90 microseconds late at the median and 230 at the 99th percentile.
 * A thread blocked in a socket read adds a second such delay when the response arrives. Busy
 * polling removes both, so the latencies are the server's and the loopback's. Pin the generator to
 * a CPU the server does not use.
 *
 * <p>Requests scheduled during the warm-up are sent but not recorded. Only loopback URLs are
 * accepted; rate, duration and connections are bounded, and a connection that gets no response for
 * 10 seconds fails its request and reconnects.
 *
 * <p>Options: {@code --url}, {@code --body} JSON file, {@code --rate} requests per second, {@code
 * --seconds} measured duration, {@code --warmup-seconds}, {@code --connections}, {@code
 * --token-env} name of the environment variable with the bearer token (default {@code
 * EVERGREEN_TOKEN}, or {@code -} to send no token), {@code --label} name printed on the result
 * line, {@code --server-pid} process id of the server, so that the CPU time other processes took is
 * reported without it, {@code --samples} a CSV file that receives one line per recorded request
 * (scheduled time since the start, send lag and latency, all in nanoseconds, and the connection's
 * index).
 */
public final class InferLoad {
  /** Maximum size of a response's head and body, in bytes, far above any inference response. */
  private static final int MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

  private InferLoad() {}

  public static void main(String[] args) throws Exception {
    Options options = new Options(args);
    URI url = URI.create(options.required("url"));
    byte[] body = Files.readAllBytes(Path.of(options.required("body")));
    OpenLoop.Settings settings = OpenLoop.Settings.parse(options, "infer", System.getenv());
    InetSocketAddress address = loopback(url);
    byte[] request = request(url, address, body, settings.token());
    System.out.printf(
        Locale.ROOT,
        "%s: %d req/s for %d s after %d s of warm-up, %d connections, %d-byte body, %s%n",
        settings.label(),
        settings.rate(),
        settings.seconds(),
        settings.warmUpSeconds(),
        settings.connections(),
        body.length,
        url);
    new OpenLoop(settings)
        .run((index, selector) -> new Connection(index, address, selector, request));
  }

  /** Resolves the URL's host and rejects anything that is not a loopback address. */
  private static InetSocketAddress loopback(URI url) throws IOException {
    if (!"http".equals(url.getScheme()) || url.getHost() == null || url.getPort() < 0) {
      throw new IllegalArgumentException(
          "url must be http://127.0.0.1:PORT/path with an explicit port, got " + url);
    }
    InetAddress host = InetAddress.getByName(url.getHost());
    if (!host.isLoopbackAddress()) {
      throw new IllegalArgumentException(
          "url host "
              + url.getHost()
              + " is not a loopback address; this tool only loads 127.0.0.1");
    }
    return new InetSocketAddress(host, url.getPort());
  }

  private static byte[] request(URI url, InetSocketAddress address, byte[] body, String token) {
    String head =
        "POST "
            + url.getRawPath()
            + " HTTP/1.1\r\n"
            + "Host: "
            + url.getHost()
            + ":"
            + address.getPort()
            + "\r\n"
            + "Content-Type: application/json\r\n"
            + (token == null ? "" : "Authorization: Bearer " + token + "\r\n")
            + "Content-Length: "
            + body.length
            + "\r\n\r\n";
    byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
    byte[] bytes = new byte[headBytes.length + body.length];
    System.arraycopy(headBytes, 0, bytes, 0, headBytes.length);
    System.arraycopy(body, 0, bytes, headBytes.length, body.length);
    return bytes;
  }

  /**
   * One keep-alive HTTP/1.1 connection with non-blocking I/O and an incremental reader of its
   * response.
   */
  private static final class Connection extends OpenLoop.Connection {
    private final InetSocketAddress address;
    private final Selector selector;
    private final byte[] request;
    private SocketChannel channel;

    private ByteBuffer in = ByteBuffer.allocate(64 * 1024);
    private int bodyStart = -1;
    private long bodyLength = -1;
    private boolean chunked;
    private boolean closeAfter;
    private int status;
    private int lastStatus;
    private String lastBody = "";

    Connection(int index, InetSocketAddress address, Selector selector, byte[] request)
        throws IOException {
      super(index);
      this.address = address;
      this.selector = selector;
      this.request = request;
      connect();
    }

    private void connect() throws IOException {
      channel = SocketChannel.open();
      channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
      // A blocking connect, before the schedule starts or after a failure, keeps the loop simple.
      channel.connect(address);
      channel.configureBlocking(false);
      channel.register(selector, SelectionKey.OP_READ, this);
    }

    @Override
    void reconnect() throws IOException {
      close();
      resetResponse();
      in.clear();
      connect();
    }

    /**
     * Writes the whole request. A request is a few kilobytes and the socket's send buffer is empty
     * while no request is in flight, so the loop below runs once in practice.
     */
    @Override
    void write(long k) throws IOException {
      ByteBuffer out = ByteBuffer.wrap(request);
      while (out.hasRemaining()) {
        channel.write(out);
      }
    }

    @Override
    boolean read() throws IOException {
      if (!in.hasRemaining()) {
        if (in.capacity() >= MAX_RESPONSE_BYTES) {
          throw new IOException("response larger than " + MAX_RESPONSE_BYTES + " bytes");
        }
        ByteBuffer grown = ByteBuffer.allocate(in.capacity() * 2);
        in.flip();
        grown.put(in);
        in = grown;
      }
      int read = channel.read(in);
      completedAt = System.nanoTime();
      if (read < 0) {
        throw new IOException("connection closed by the server");
      }
      if (idle()) {
        if (in.position() > 0) {
          throw new IOException("the server sent bytes while no request was in flight");
        }
        return false;
      }
      return parse();
    }

    /** Parses the buffered bytes and returns true when the response is complete. */
    private boolean parse() throws IOException {
      byte[] bytes = in.array();
      int end = in.position();
      if (bodyStart < 0) {
        int headEnd = indexOf(bytes, end, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 0);
        if (headEnd < 0) {
          return false;
        }
        readHead(new String(bytes, 0, headEnd, StandardCharsets.ISO_8859_1));
        bodyStart = headEnd + 4;
      }
      int responseEnd;
      if (chunked) {
        responseEnd = chunkedEnd(bytes, bodyStart, end);
        if (responseEnd < 0) {
          return false;
        }
      } else {
        if (end - bodyStart < bodyLength) {
          return false;
        }
        responseEnd = (int) (bodyStart + bodyLength);
      }
      if (responseEnd != end) {
        throw new IOException("the server sent bytes after the response");
      }
      lastBody =
          new String(bytes, bodyStart, Math.min(end - bodyStart, 400), StandardCharsets.UTF_8);
      lastStatus = status;
      boolean close = closeAfter;
      in.clear();
      resetResponse();
      if (close) {
        reconnect();
      }
      return true;
    }

    private void readHead(String head) throws IOException {
      String[] lines = head.split("\r\n");
      if (!lines[0].startsWith("HTTP/1.1 ") || lines[0].length() < 12) {
        throw new IOException("invalid status line '" + lines[0] + "'");
      }
      status = Integer.parseInt(lines[0].substring(9, 12));
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        if (colon < 0) {
          continue;
        }
        String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
        String value = lines[i].substring(colon + 1).trim();
        switch (name) {
          case "content-length" -> bodyLength = Long.parseLong(value);
          case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
          case "connection" -> closeAfter = value.equalsIgnoreCase("close");
          default -> {}
        }
      }
      if (!chunked && bodyLength < 0) {
        throw new IOException("response without Content-Length or chunked encoding");
      }
    }

    /** Returns the index just past a complete chunked body starting at {@code from}, else -1. */
    private static int chunkedEnd(byte[] bytes, int from, int end) throws IOException {
      byte[] crlf = {'\r', '\n'};
      int at = from;
      while (true) {
        int lineEnd = indexOf(bytes, end, crlf, at);
        if (lineEnd < 0) {
          return -1;
        }
        String sizeText = new String(bytes, at, lineEnd - at, StandardCharsets.US_ASCII);
        long chunk;
        try {
          chunk = Long.parseLong(sizeText.split(";")[0].trim(), 16);
        } catch (NumberFormatException e) {
          throw new IOException("invalid chunk size '" + sizeText + "'");
        }
        at = lineEnd + 2;
        if (chunk == 0) {
          // Trailer fields, if any, then an empty line end the body.
          while (true) {
            int trailerEnd = indexOf(bytes, end, crlf, at);
            if (trailerEnd < 0) {
              return -1;
            }
            boolean empty = trailerEnd == at;
            at = trailerEnd + 2;
            if (empty) {
              return at;
            }
          }
        }
        if (end - at < chunk + 2) {
          return -1;
        }
        at += (int) chunk + 2;
      }
    }

    private static int indexOf(byte[] bytes, int end, byte[] needle, int from) {
      for (int i = from; i + needle.length <= end; i++) {
        int j = 0;
        while (j < needle.length && bytes[i + j] == needle[j]) {
          j++;
        }
        if (j == needle.length) {
          return i;
        }
      }
      return -1;
    }

    private void resetResponse() {
      bodyStart = -1;
      bodyLength = -1;
      chunked = false;
      closeAfter = false;
      status = 0;
    }

    @Override
    boolean succeeded() {
      return lastStatus == 200;
    }

    @Override
    String describe() {
      return lastStatus + " " + lastBody;
    }

    @Override
    void close() {
      try {
        channel.close();
      } catch (IOException e) {
        // Closing a channel that failed already has nothing left to release.
      }
    }
  }
}
