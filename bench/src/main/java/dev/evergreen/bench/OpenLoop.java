package dev.evergreen.bench;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The open-loop schedule, polling loop and report that {@link InferLoad} (HTTP/1.1) and {@link
 * GrpcPreciseLoad} (gRPC over HTTP/2) share. A protocol plugs in as a {@link Connection}.
 *
 * <p>Request {@code k} is scheduled at {@code start + k / rate} and goes out on connection {@code k
 * mod connections} as soon as that connection has received its previous response. Its latency runs
 * from the scheduled time to the read that brought the last byte of its response, so a response
 * that arrives late delays the next request on its connection and that delay is counted as latency
 * too. The send lag, actual send time minus scheduled time, is reported separately.
 *
 * <p>One thread does everything and never sleeps: it polls the clock and the non-blocking sockets
 * in a loop, so it occupies one CPU for the whole run. Requests scheduled during the warm-up are
 * sent but not recorded.
 */
final class OpenLoop {
  static final int MAX_RATE = 100_000;
  static final int MAX_SECONDS = 300;
  static final int MAX_CONNECTIONS = 256;
  static final long RESPONSE_TIMEOUT_NANOS = 10_000_000_000L;

  /** Time after the last scheduled request at which the run gives up, in nanoseconds. */
  private static final long GRACE_NANOS = 30_000_000_000L;

  /**
   * The options both generators take: {@code --rate}, {@code --seconds}, {@code --warmup-seconds},
   * {@code --connections}, {@code --token-env}, {@code --label}, {@code --server-pid} and {@code
   * --samples}.
   *
   * @param token the bearer token, or null when {@code --token-env} is {@code -}
   * @param samples the CSV file for one line per recorded request, or null
   */
  record Settings(
      int rate,
      int seconds,
      int warmUpSeconds,
      int connections,
      String token,
      String label,
      long serverPid,
      Path samples) {

    /** Reads the options, and the token from the variable {@code --token-env} of environment. */
    static Settings parse(Options options, String defaultLabel, Map<String, String> environment) {
      int rate = bounded("rate", options.integer("rate", 5_000), 1, MAX_RATE);
      int seconds = bounded("seconds", options.integer("seconds", 30), 1, MAX_SECONDS);
      int warmUpSeconds = bounded("warmup-seconds", options.integer("warmup-seconds", 10), 0, 120);
      int connections =
          bounded("connections", options.integer("connections", 16), 1, MAX_CONNECTIONS);
      String tokenVariable = options.text("token-env", "EVERGREEN_TOKEN");
      String token = tokenVariable.equals("-") ? null : environment.get(tokenVariable);
      if (token == null && !tokenVariable.equals("-") || token != null && token.isBlank()) {
        throw new IllegalArgumentException(
            "environment variable " + tokenVariable + " is not set; export the bearer token in it");
      }
      String samples = options.text("samples", "");
      return new Settings(
          rate,
          seconds,
          warmUpSeconds,
          connections,
          token,
          options.text("label", defaultLabel),
          options.integer("server-pid", 0),
          samples.isEmpty() ? null : Path.of(samples));
    }

    long warmUpCount() {
      return (long) rate * warmUpSeconds;
    }

    long total() {
      return warmUpCount() + (long) rate * seconds;
    }
  }

  /** Opens connection {@code index} and registers it with {@code selector} for reading. */
  interface Opener {
    Connection open(int index, Selector selector) throws IOException;
  }

  /**
   * Thrown by a connection when the run cannot go on, such as when the server sends HTTP/2 GOAWAY.
   * The loop stops and the report covers the responses recorded so far.
   */
  static final class RunStopped extends IOException {
    RunStopped(String message) {
      super(message);
    }
  }

  /**
   * One connection of a protocol: a queue of scheduled requests, at most one in flight, and a
   * non-blocking reader of its response.
   */
  abstract static class Connection {
    final int index;

    /** Request numbers waiting to be sent, oldest first, as a growable ring. */
    private long[] waiting = new long[16];

    private int head;
    private int size;

    /** Number of the request in flight, or -1. */
    long inFlight = -1;

    /** {@link System#nanoTime} at which the request in flight was sent. */
    long sentAt;

    /** {@link System#nanoTime} right after the read that completed the last response. */
    long completedAt;

    Connection(int index) {
      this.index = index;
    }

    /** Writes request {@code k}. A request is small, so the socket takes it at once. */
    abstract void write(long k) throws IOException;

    /**
     * Reads what the socket has and returns true once the response to the request in flight is
     * complete, after setting {@link #completedAt}.
     */
    abstract boolean read() throws IOException;

    /** Returns whether the last complete response was a success for its protocol. */
    abstract boolean succeeded();

    /** Describes the last complete response in one line, such as its status and first bytes. */
    abstract String describe();

    /** Closes the socket and opens a new connection, dropping the request in flight. */
    abstract void reconnect() throws IOException;

    abstract void close();

    final void send(long k, long at) throws IOException {
      inFlight = k;
      sentAt = at;
      write(k);
    }

    final boolean idle() {
      return inFlight < 0;
    }

    final int waiting() {
      return size;
    }

    final void queue(long k) {
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

    final long nextRequest() {
      long k = waiting[head];
      head = (head + 1) % waiting.length;
      size--;
      return k;
    }

    final void complete() {
      inFlight = -1;
    }
  }

  private final Settings settings;
  private final int rate;
  private final long total;
  private final long warmUpCount;

  private final long[] latencies;
  private final long[] sendLags;
  private final long[] scheduledOffsets;
  private final int[] connectionOf;
  private int recorded;
  private long errors;
  private String failure;
  private String firstResponse;
  private String firstFailedResponse;

  OpenLoop(Settings settings) {
    this.settings = settings;
    this.rate = settings.rate();
    this.total = settings.total();
    this.warmUpCount = settings.warmUpCount();
    int capacity = (int) (total - warmUpCount);
    latencies = new long[capacity];
    sendLags = new long[capacity];
    scheduledOffsets = new long[capacity];
    connectionOf = new int[capacity];
  }

  /**
   * Opens the connections, runs the schedule, and prints the CPU time of other processes, the
   * latency and send-lag percentiles and the {@code RESULT} line.
   */
  void run(Opener opener) throws IOException {
    List<Connection> open = new ArrayList<>();
    try (Selector selector = Selector.open()) {
      try {
        for (int c = 0; c < settings.connections(); c++) {
          open.add(opener.open(c, selector));
        }
        long serverPid = settings.serverPid();
        CpuUsage before = serverPid > 0 ? CpuUsage.now(serverPid) : CpuUsage.now();
        long start = System.nanoTime() + 100_000_000L;
        // The wall-clock start lets a reader line the samples up with the server's logs.
        System.out.println("schedule starts at " + java.time.Instant.now().plusMillis(100));
        poll(open, selector, start);
        CpuUsage after = serverPid > 0 ? CpuUsage.now(serverPid) : CpuUsage.now();
        System.out.printf(
            Locale.ROOT,
            "other processes (not this generator%s) used %.2f CPUs on average%n",
            serverPid > 0 ? ", not the server" : "",
            CpuUsage.otherCores(before, after));
      } finally {
        for (Connection connection : open) {
          connection.close();
        }
      }
    }
    report();
    if (settings.samples() != null) {
      writeSamples(settings.samples());
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
    int connections = open.size();
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
            connection.send(k, sentAt);
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
          boolean complete;
          try {
            complete = connection.read();
          } catch (RunStopped e) {
            failure = e.getMessage();
            return;
          } catch (IOException e) {
            finished += failed(connection, e);
            continue;
          }
          if (complete) {
            finished++;
            record(connection, start);
          }
        }
        selector.selectedKeys().clear();
      }
      Thread.onSpinWait();
    }
  }

  /**
   * Counts a failed request after the warm-up, as {@link #record} counts failed responses,
   * reconnects, and returns the number of requests it ended: one.
   */
  private int failed(Connection connection, IOException e) throws IOException {
    if (connection.inFlight >= warmUpCount) {
      errors++;
    }
    failure = "request failed: " + e;
    connection.reconnect();
    connection.complete();
    return 1;
  }

  private void record(Connection connection, long start) {
    long k = connection.inFlight;
    long scheduled = start + k * 1_000_000_000L / rate;
    boolean succeeded = connection.succeeded();
    if (firstResponse == null) {
      firstResponse = connection.describe();
    }
    if (!succeeded && firstFailedResponse == null) {
      firstFailedResponse = connection.describe();
    }
    connection.complete();
    if (k < warmUpCount) {
      return;
    }
    if (!succeeded) {
      errors++;
    }
    latencies[recorded] = connection.completedAt - scheduled;
    sendLags[recorded] = connection.sentAt - scheduled;
    scheduledOffsets[recorded] = scheduled - start;
    connectionOf[recorded] = connection.index;
    recorded++;
  }

  private void report() {
    String label = settings.label();
    if (failure != null) {
      System.out.println("note: " + failure);
    }
    if (firstResponse != null) {
      System.out.println("first response: " + shortened(firstResponse));
    }
    if (firstFailedResponse != null) {
      System.out.println("first failed response: " + shortened(firstFailedResponse));
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

  private static String shortened(String text) {
    return text.length() > 300 ? text.substring(0, 300) : text;
  }

  private void writeSamples(Path file) throws IOException {
    try (BufferedWriter out = Files.newBufferedWriter(file)) {
      out.write("scheduled_ns,send_lag_ns,latency_ns,connection\n");
      for (int i = 0; i < recorded; i++) {
        out.write(
            scheduledOffsets[i] + "," + sendLags[i] + "," + latencies[i] + "," + connectionOf[i]);
        out.write('\n');
      }
    }
    System.out.println("samples: " + file);
  }

  static int bounded(String name, int value, int min, int max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          "option --" + name + " must be from " + min + " to " + max + ", got " + value);
    }
    return value;
  }
}
