package dev.evergreen.bench;

import java.io.BufferedWriter;
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
import java.util.ArrayList;
import java.util.List;
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
 * actual send time minus scheduled time, is reported separately.
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
  private static final int MAX_RATE = 100_000;
  private static final int MAX_SECONDS = 300;
  private static final int MAX_CONNECTIONS = 256;
  private static final long RESPONSE_TIMEOUT_NANOS = 10_000_000_000L;

  /** Time after the last scheduled request at which the run gives up, in nanoseconds. */
  private static final long GRACE_NANOS = 30_000_000_000L;

  /** Maximum size of a response's head and body, in bytes, far above any inference response. */
  private static final int MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

  private final InetSocketAddress address;
  private final byte[] request;
  private final int rate;
  private final long total;
  private final long warmUpCount;
  private final int connections;
  private final long serverPid;
  private final Path samplesFile;

  private final long[] latencies;
  private final long[] sendLags;
  private final long[] scheduledOffsets;
  private final int[] connectionOf;
  private int recorded;
  private long errors;
  private String failure;
  private String firstResponse;

  private InferLoad(
      InetSocketAddress address,
      byte[] request,
      int rate,
      long total,
      long warmUpCount,
      int connections,
      long serverPid,
      Path samplesFile) {
    this.address = address;
    this.request = request;
    this.rate = rate;
    this.total = total;
    this.warmUpCount = warmUpCount;
    this.connections = connections;
    this.serverPid = serverPid;
    this.samplesFile = samplesFile;
    int capacity = (int) (total - warmUpCount);
    latencies = new long[capacity];
    sendLags = new long[capacity];
    scheduledOffsets = new long[capacity];
    connectionOf = new int[capacity];
  }

  public static void main(String[] args) throws Exception {
    Options options = new Options(args);
    URI url = URI.create(options.required("url"));
    byte[] body = Files.readAllBytes(Path.of(options.required("body")));
    int rate = bounded("rate", options.integer("rate", 5_000), 1, MAX_RATE);
    int seconds = bounded("seconds", options.integer("seconds", 30), 1, MAX_SECONDS);
    int warmUpSeconds = bounded("warmup-seconds", options.integer("warmup-seconds", 10), 0, 120);
    int connections =
        bounded("connections", options.integer("connections", 16), 1, MAX_CONNECTIONS);
    String tokenVariable = options.text("token-env", "EVERGREEN_TOKEN");
    String label = options.text("label", "infer");
    long serverPid = options.integer("server-pid", 0);
    String samples = options.text("samples", "");
    String token = tokenVariable.equals("-") ? null : System.getenv(tokenVariable);
    if (token == null && !tokenVariable.equals("-") || token != null && token.isBlank()) {
      throw new IllegalArgumentException(
          "environment variable " + tokenVariable + " is not set; export the bearer token in it");
    }

    InetSocketAddress address = loopback(url);
    byte[] request = request(url, address, body, token);
    long warmUpCount = (long) rate * warmUpSeconds;
    long total = warmUpCount + (long) rate * seconds;
    InferLoad load =
        new InferLoad(
            address,
            request,
            rate,
            total,
            warmUpCount,
            connections,
            serverPid,
            samples.isEmpty() ? null : Path.of(samples));
    System.out.printf(
        Locale.ROOT,
        "%s: %d req/s for %d s after %d s of warm-up, %d connections, %d-byte body, %s%n",
        label,
        rate,
        seconds,
        warmUpSeconds,
        connections,
        body.length,
        url);
    load.run(label);
  }

  private static int bounded(String name, int value, int min, int max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          "option --" + name + " must be from " + min + " to " + max + ", got " + value);
    }
    return value;
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

  private void run(String label) throws IOException {
    List<Connection> open = new ArrayList<>();
    try (Selector selector = Selector.open()) {
      for (int c = 0; c < connections; c++) {
        open.add(new Connection(c, address, selector));
      }
      CpuUsage before = serverPid > 0 ? CpuUsage.now(serverPid) : CpuUsage.now();
      long start = System.nanoTime() + 100_000_000L;
      // The wall-clock start lets a reader line the samples up with the server's logs.
      System.out.println("schedule starts at " + java.time.Instant.now().plusMillis(100));
      poll(open, selector, start);
      CpuUsage after = serverPid > 0 ? CpuUsage.now(serverPid) : CpuUsage.now();
      for (Connection connection : open) {
        connection.close();
      }
      System.out.printf(
          Locale.ROOT,
          "other processes (not this generator%s) used %.2f CPUs on average%n",
          serverPid > 0 ? ", not the server" : "",
          CpuUsage.otherCores(before, after));
    }
    report(label);
    if (samplesFile != null) {
      writeSamples();
    }
  }

  /**
   * Runs the generator's loop: queues every request whose time has come on its connection, sends
   * the oldest queued request of each idle connection, and reads the responses that have arrived.
   */
  private void poll(List<Connection> open, Selector selector, long start) throws IOException {
    long deadline = start + total * 1_000_000_000L / rate + GRACE_NANOS;
    long next = 0;
    long finished = 0;
    while (finished < total) {
      long now = System.nanoTime();
      if (now > deadline) {
        failure = "stopped at the deadline: the server fell more than 30 s behind schedule";
        return;
      }
      while (next < total && start + next * 1_000_000_000L / rate <= now) {
        open.get((int) (next % connections)).queue(next);
        next++;
      }
      int inFlight = 0;
      for (Connection connection : open) {
        if (connection.idle() && connection.waiting() > 0) {
          long k = connection.nextRequest();
          long sentAt = System.nanoTime();
          try {
            connection.send(request, k, sentAt);
          } catch (IOException e) {
            finished += failed(connection, e);
          }
        } else if (!connection.idle()
            && System.nanoTime() - connection.sentAt > RESPONSE_TIMEOUT_NANOS) {
          finished += failed(connection, new IOException("no response within 10 s"));
        }
        if (!connection.idle()) {
          inFlight++;
        }
      }
      // Without a request in flight there is nothing to read, and the loop spins on the clock
      // alone, which keeps its system calls from competing with the server's.
      if (inFlight > 0 && selector.selectNow() > 0) {
        for (SelectionKey key : selector.selectedKeys()) {
          Connection connection = (Connection) key.attachment();
          int status;
          try {
            status = connection.read();
          } catch (IOException e) {
            finished += failed(connection, e);
            continue;
          }
          if (status > 0) {
            long done = System.nanoTime();
            finished++;
            record(connection, start, status, done);
          }
        }
        selector.selectedKeys().clear();
      }
      Thread.onSpinWait();
    }
  }

  /** Counts a failed request, reconnects, and returns the number of requests it ended: one. */
  private int failed(Connection connection, IOException e) throws IOException {
    errors++;
    failure = "request failed: " + e;
    connection.reconnect();
    return 1;
  }

  private void record(Connection connection, long start, int status, long done) {
    long k = connection.inFlight;
    long scheduled = start + k * 1_000_000_000L / rate;
    if (firstResponse == null) {
      firstResponse = status + " " + connection.lastBody();
    }
    connection.complete();
    if (k < warmUpCount) {
      return;
    }
    if (status != 200) {
      errors++;
    }
    latencies[recorded] = done - scheduled;
    sendLags[recorded] = connection.sentAt - scheduled;
    scheduledOffsets[recorded] = scheduled - start;
    connectionOf[recorded] = connection.index;
    recorded++;
  }

  private void report(String label) {
    if (failure != null) {
      System.out.println("note: " + failure);
    }
    if (firstResponse != null) {
      System.out.println(
          "first response: "
              + (firstResponse.length() > 300 ? firstResponse.substring(0, 300) : firstResponse));
    }
    long expected = total - warmUpCount;
    if (recorded == 0) {
      System.out.printf(Locale.ROOT, "RESULT %s no responses recorded, errors=%d%n", label, errors);
      return;
    }
    long first = Long.MAX_VALUE;
    long last = Long.MIN_VALUE;
    for (int i = 0; i < recorded; i++) {
      first = Math.min(first, scheduledOffsets[i]);
      last = Math.max(last, scheduledOffsets[i] + latencies[i]);
    }
    double seconds = (last - first) / 1e9;
    Percentiles latency = Percentiles.of(latencies, recorded);
    Percentiles lag = Percentiles.of(sendLags, recorded);
    System.out.printf(Locale.ROOT, "latency: %s%n", latency.summary(1e6, "ms"));
    System.out.printf(Locale.ROOT, "send lag: %s%n", lag.summary(1e6, "ms"));
    System.out.printf(
        Locale.ROOT,
        "RESULT %s target=%d achieved=%.0f req/s completed=%d/%d errors=%d p50=%.3f p90=%.3f"
            + " p99=%.3f p99.9=%.3f max=%.3f ms%n",
        label,
        rate,
        recorded / seconds,
        recorded,
        expected,
        errors,
        latency.percentile(50) / 1e6,
        latency.percentile(90) / 1e6,
        latency.percentile(99) / 1e6,
        latency.percentile(99.9) / 1e6,
        latency.max() / 1e6);
  }

  private void writeSamples() throws IOException {
    try (BufferedWriter out = Files.newBufferedWriter(samplesFile)) {
      out.write("scheduled_ns,send_lag_ns,latency_ns,connection\n");
      for (int i = 0; i < recorded; i++) {
        out.write(
            scheduledOffsets[i] + "," + sendLags[i] + "," + latencies[i] + "," + connectionOf[i]);
        out.write('\n');
      }
    }
    System.out.println("samples: " + samplesFile);
  }

  /**
   * One keep-alive HTTP/1.1 connection with non-blocking I/O: a queue of scheduled requests, at
   * most one in flight, and an incremental reader of its response.
   */
  private static final class Connection {
    final int index;
    private final InetSocketAddress address;
    private final Selector selector;
    private SocketChannel channel;

    /** Request numbers waiting to be sent, oldest first, as a growable ring. */
    private long[] waiting = new long[16];

    private int head;
    private int size;

    /** Number of the request in flight, or -1. */
    long inFlight = -1;

    long sentAt;
    private ByteBuffer in = ByteBuffer.allocate(64 * 1024);
    private int bodyStart = -1;
    private long bodyLength = -1;
    private boolean chunked;
    private boolean closeAfter;
    private int status;
    private String lastBody = "";

    Connection(int index, InetSocketAddress address, Selector selector) throws IOException {
      this.index = index;
      this.address = address;
      this.selector = selector;
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

    void reconnect() throws IOException {
      close();
      inFlight = -1;
      resetResponse();
      in.clear();
      connect();
    }

    boolean idle() {
      return inFlight < 0;
    }

    int waiting() {
      return size;
    }

    void queue(long k) {
      if (size == waiting.length) {
        long[] grown = new long[waiting.length * 2];
        for (int i = 0; i < size; i++) {
          grown[i] = waiting[(head + i) % waiting.length];
        }
        waiting = grown;
        head = 0;
      }
      waiting[(head + size) % waiting.length] = k;
      size++;
    }

    long nextRequest() {
      long k = waiting[head];
      head = (head + 1) % waiting.length;
      size--;
      return k;
    }

    /**
     * Writes the whole request. A request is a few kilobytes and the socket's send buffer is empty
     * while no request is in flight, so the loop below runs once in practice.
     */
    void send(byte[] request, long k, long at) throws IOException {
      inFlight = k;
      sentAt = at;
      ByteBuffer out = ByteBuffer.wrap(request);
      while (out.hasRemaining()) {
        channel.write(out);
      }
    }

    /**
     * Reads what the socket has and returns the response's status once the whole response is in,
     * else 0.
     */
    int read() throws IOException {
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
      if (read < 0) {
        throw new IOException("connection closed by the server");
      }
      if (inFlight < 0) {
        if (in.position() > 0) {
          throw new IOException("the server sent bytes while no request was in flight");
        }
        return 0;
      }
      return parse();
    }

    /** Parses the buffered bytes; returns the status when the response is complete, else 0. */
    private int parse() throws IOException {
      byte[] bytes = in.array();
      int end = in.position();
      if (bodyStart < 0) {
        int headEnd = indexOf(bytes, end, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 0);
        if (headEnd < 0) {
          return 0;
        }
        readHead(new String(bytes, 0, headEnd, StandardCharsets.ISO_8859_1));
        bodyStart = headEnd + 4;
      }
      int responseEnd;
      if (chunked) {
        responseEnd = chunkedEnd(bytes, bodyStart, end);
        if (responseEnd < 0) {
          return 0;
        }
      } else {
        if (end - bodyStart < bodyLength) {
          return 0;
        }
        responseEnd = (int) (bodyStart + bodyLength);
      }
      if (responseEnd != end) {
        throw new IOException("the server sent bytes after the response");
      }
      lastBody =
          new String(bytes, bodyStart, Math.min(end - bodyStart, 400), StandardCharsets.UTF_8);
      int result = status;
      boolean close = closeAfter;
      in.clear();
      resetResponse();
      if (close) {
        long k = inFlight;
        long at = sentAt;
        reconnect();
        inFlight = k;
        sentAt = at;
      }
      return result;
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

    void complete() {
      inFlight = -1;
    }

    String lastBody() {
      return lastBody;
    }

    void close() {
      try {
        channel.close();
      } catch (IOException e) {
        // Closing a channel that failed already has nothing left to release.
      }
    }
  }
}
