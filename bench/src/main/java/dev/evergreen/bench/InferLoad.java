package dev.evergreen.bench;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Open-loop HTTP/1.1 load generator: sends one POST every {@code 1 / rate} seconds over a fixed set
 * of keep-alive connections, whatever the server's latency.
 *
 * <p>Request {@code k} is scheduled at {@code start + k / rate} and goes out on connection {@code k
 * mod connections}. Its latency runs from the scheduled time to the last byte of the response, so a
 * response that arrives late delays the next request on its connection and that delay is counted as
 * latency too. This is the correction for coordinated omission that a closed-loop tool such as wrk
 * lacks. The send lag, actual send time minus scheduled time, is reported separately. It has two
 * causes: the previous response on the same connection had not arrived yet (queueing, part of the
 * server's latency), and the generator woke late (Linux timer slack, 50 microseconds by default, or
 * a busy CPU), which inflates the measured latency by that much.
 *
 * <p>Requests scheduled during the warm-up are sent but not recorded. Only loopback URLs are
 * accepted; rate, duration and connections are bounded, and every socket read times out after 10
 * seconds.
 *
 * <p>Options: {@code --url}, {@code --body} JSON file, {@code --rate} requests per second, {@code
 * --seconds} measured duration, {@code --warmup-seconds}, {@code --connections}, {@code
 * --token-env} name of the environment variable with the bearer token (default {@code
 * EVERGREEN_TOKEN}), {@code --label} name printed on the result line, {@code --server-pid} process
 * id of the server, so that the CPU time other processes took is reported without it.
 */
public final class InferLoad {
  private static final int MAX_RATE = 100_000;
  private static final int MAX_SECONDS = 300;
  private static final int MAX_CONNECTIONS = 256;
  private static final int READ_TIMEOUT_MILLIS = 10_000;

  /** Time after the last scheduled request at which workers give up, in nanoseconds. */
  private static final long GRACE_NANOS = 30_000_000_000L;

  private final InetSocketAddress address;
  private final byte[] request;
  private final int rate;
  private final long total;
  private final long warmUpCount;
  private final int connections;
  private final long serverPid;
  private final AtomicReference<String> firstResponse = new AtomicReference<>();

  private InferLoad(
      InetSocketAddress address,
      byte[] request,
      int rate,
      long total,
      long warmUpCount,
      int connections,
      long serverPid) {
    this.address = address;
    this.serverPid = serverPid;
    this.request = request;
    this.rate = rate;
    this.total = total;
    this.warmUpCount = warmUpCount;
    this.connections = connections;
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
    String token = System.getenv(tokenVariable);
    if (token == null || token.isBlank()) {
      throw new IllegalArgumentException(
          "environment variable " + tokenVariable + " is not set; export the bearer token in it");
    }

    InetSocketAddress address = loopback(url);
    byte[] request = request(url, address, body, token);
    long warmUpCount = (long) rate * warmUpSeconds;
    long total = warmUpCount + (long) rate * seconds;
    InferLoad load =
        new InferLoad(address, request, rate, total, warmUpCount, connections, serverPid);
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
            + "Authorization: Bearer "
            + token
            + "\r\n"
            + "Content-Length: "
            + body.length
            + "\r\n\r\n";
    byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
    byte[] bytes = new byte[headBytes.length + body.length];
    System.arraycopy(headBytes, 0, bytes, 0, headBytes.length);
    System.arraycopy(body, 0, bytes, headBytes.length, body.length);
    return bytes;
  }

  /** Samples recorded by one connection's worker. */
  private static final class Samples {
    final long[] latencies;
    final long[] sendLags;
    int count;
    long errors;
    long firstScheduled = Long.MAX_VALUE;
    long lastDone = Long.MIN_VALUE;
    String failure;

    Samples(int capacity) {
      latencies = new long[capacity];
      sendLags = new long[capacity];
    }
  }

  private void run(String label) throws Exception {
    List<Connection> open = new ArrayList<>();
    for (int c = 0; c < connections; c++) {
      open.add(new Connection(address));
    }
    // Starts the schedule once every connection is open, so connecting is not measured.
    long start = System.nanoTime() + 100_000_000L;
    long deadline = start + total * 1_000_000_000L / rate + GRACE_NANOS;
    List<Samples> samples = new ArrayList<>();
    CountDownLatch done = new CountDownLatch(connections);
    for (int c = 0; c < connections; c++) {
      int index = c;
      long mine = (total - c + connections - 1) / connections;
      Samples recorded = new Samples((int) Math.min(Integer.MAX_VALUE - 8, mine));
      samples.add(recorded);
      Thread.ofPlatform()
          .name("load-" + c)
          .start(
              () -> {
                try {
                  work(open.get(index), index, start, deadline, recorded);
                } finally {
                  done.countDown();
                }
              });
    }
    CpuUsage before = serverPid > 0 ? CpuUsage.now(serverPid) : CpuUsage.now();
    done.await();
    CpuUsage after = serverPid > 0 ? CpuUsage.now(serverPid) : CpuUsage.now();
    for (Connection connection : open) {
      connection.close();
    }
    System.out.printf(
        Locale.ROOT,
        "other processes (not this generator%s) used %.2f CPUs on average%n",
        serverPid > 0 ? ", not the server" : "",
        CpuUsage.otherCores(before, after));
    report(label, samples);
  }

  private void work(Connection connection, int index, long start, long deadline, Samples out) {
    for (long k = index; k < total; k += connections) {
      long scheduled = start + k * 1_000_000_000L / rate;
      long now;
      while ((now = System.nanoTime()) < scheduled) {
        LockSupport.parkNanos(scheduled - now);
      }
      if (now > deadline) {
        out.failure = "stopped at the deadline: the server fell more than 30 s behind schedule";
        return;
      }
      int status;
      try {
        connection.send(request);
        status = connection.readResponse(firstResponse);
      } catch (IOException e) {
        out.errors++;
        out.failure = "request failed: " + e;
        try {
          connection.reconnect();
        } catch (IOException again) {
          out.failure = "cannot reconnect: " + again;
          return;
        }
        continue;
      }
      long finished = System.nanoTime();
      if (k < warmUpCount) {
        continue;
      }
      if (status != 200) {
        out.errors++;
      }
      out.latencies[out.count] = finished - scheduled;
      out.sendLags[out.count] = now - scheduled;
      out.count++;
      out.firstScheduled = Math.min(out.firstScheduled, scheduled);
      out.lastDone = Math.max(out.lastDone, finished);
    }
  }

  private void report(String label, List<Samples> samples) {
    int count = 0;
    long errors = 0;
    long first = Long.MAX_VALUE;
    long last = Long.MIN_VALUE;
    for (Samples s : samples) {
      count += s.count;
      errors += s.errors;
      first = Math.min(first, s.firstScheduled);
      last = Math.max(last, s.lastDone);
      if (s.failure != null) {
        System.out.println("worker note: " + s.failure);
      }
    }
    long[] latencies = new long[count];
    long[] lags = new long[count];
    int at = 0;
    for (Samples s : samples) {
      System.arraycopy(s.latencies, 0, latencies, at, s.count);
      System.arraycopy(s.sendLags, 0, lags, at, s.count);
      at += s.count;
    }
    String response = firstResponse.get();
    if (response != null) {
      System.out.println(
          "first response: " + (response.length() > 300 ? response.substring(0, 300) : response));
    }
    long expected = total - warmUpCount;
    double seconds = count == 0 ? 0 : (last - first) / 1e9;
    Percentiles latency = Percentiles.of(latencies);
    Percentiles lag = Percentiles.of(lags);
    System.out.printf(Locale.ROOT, "latency: %s%n", latency.summary(1e6, "ms"));
    System.out.printf(Locale.ROOT, "send lag: %s%n", lag.summary(1e6, "ms"));
    if (count == 0) {
      System.out.printf(Locale.ROOT, "RESULT %s no responses recorded, errors=%d%n", label, errors);
      return;
    }
    System.out.printf(
        Locale.ROOT,
        "RESULT %s target=%d achieved=%.0f req/s completed=%d/%d errors=%d p50=%.3f p90=%.3f"
            + " p99=%.3f p99.9=%.3f max=%.3f ms%n",
        label,
        rate,
        count / seconds,
        count,
        expected,
        errors,
        latency.percentile(50) / 1e6,
        latency.percentile(90) / 1e6,
        latency.percentile(99) / 1e6,
        latency.percentile(99.9) / 1e6,
        latency.max() / 1e6);
  }

  /** One keep-alive HTTP/1.1 connection with blocking I/O. */
  private static final class Connection {
    private final InetSocketAddress address;
    private final byte[] buffer = new byte[16 * 1024];
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    Connection(InetSocketAddress address) throws IOException {
      this.address = address;
      connect();
    }

    private void connect() throws IOException {
      socket = new Socket();
      socket.setTcpNoDelay(true);
      socket.setSoTimeout(READ_TIMEOUT_MILLIS);
      socket.connect(address, READ_TIMEOUT_MILLIS);
      in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
      out = socket.getOutputStream();
    }

    void reconnect() throws IOException {
      close();
      connect();
    }

    void send(byte[] request) throws IOException {
      out.write(request);
      out.flush();
    }

    /**
     * Reads one response and returns its status. The first body read is stored in {@code first} so
     * that the caller can show what the server returned.
     */
    int readResponse(AtomicReference<String> first) throws IOException {
      String statusLine = line();
      if (!statusLine.startsWith("HTTP/1.1 ") || statusLine.length() < 12) {
        throw new IOException("invalid status line '" + statusLine + "'");
      }
      int status = Integer.parseInt(statusLine.substring(9, 12));
      long length = -1;
      boolean chunked = false;
      boolean close = false;
      String header;
      while (!(header = line()).isEmpty()) {
        int colon = header.indexOf(':');
        if (colon < 0) {
          continue;
        }
        String name = header.substring(0, colon).trim().toLowerCase(Locale.ROOT);
        String value = header.substring(colon + 1).trim();
        switch (name) {
          case "content-length" -> length = Long.parseLong(value);
          case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
          case "connection" -> close = value.equalsIgnoreCase("close");
          default -> {}
        }
      }
      boolean keep = first.get() == null;
      ByteArrayOutputStream body = keep ? new ByteArrayOutputStream() : null;
      if (chunked) {
        long size;
        while ((size = Long.parseLong(line().split(";")[0].trim(), 16)) > 0) {
          skip(size, body);
          line();
        }
        while (!line().isEmpty()) {
          // Trailer fields are read and dropped.
        }
      } else if (length >= 0) {
        skip(length, body);
      } else {
        throw new IOException("response without Content-Length or chunked encoding");
      }
      if (keep) {
        first.compareAndSet(null, status + " " + body.toString(StandardCharsets.UTF_8));
      }
      if (close) {
        reconnect();
      }
      return status;
    }

    private void skip(long count, ByteArrayOutputStream copy) throws IOException {
      long left = count;
      while (left > 0) {
        int read = in.read(buffer, 0, (int) Math.min(buffer.length, left));
        if (read < 0) {
          throw new EOFException("connection closed inside a response body");
        }
        if (copy != null) {
          copy.write(buffer, 0, read);
        }
        left -= read;
      }
    }

    private String line() throws IOException {
      StringBuilder text = new StringBuilder(64);
      int b;
      while ((b = in.read()) != '\n') {
        if (b < 0) {
          throw new EOFException("connection closed by the server");
        }
        if (b != '\r') {
          text.append((char) b);
        }
      }
      return text.toString();
    }

    void close() {
      try {
        socket.close();
      } catch (IOException e) {
        // Closing a socket that failed already has nothing left to release.
      }
    }
  }
}
