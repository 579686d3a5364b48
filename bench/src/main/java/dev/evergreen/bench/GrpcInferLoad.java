package dev.evergreen.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import dev.evergreen.server.grpc.InferTensorContents;
import dev.evergreen.server.grpc.ModelInferRequest;
import dev.evergreen.server.grpc.ModelInferResponse;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Load generator for the Open Inference Protocol gRPC service, with the official grpc-java client.
 *
 * <p>With {@code --rate} above 0 it is open-loop, like {@link InferLoad}: request {@code k} is
 * scheduled at {@code start + k / rate} and goes out on channel {@code k mod connections}, and its
 * latency runs from the scheduled time to the response. Unlike HTTP/1.1, HTTP/2 multiplexes calls
 * on a channel, so a late response does not delay the next request. With {@code --rate 0} it is
 * closed-loop, like wrk: each channel keeps {@code --in-flight} calls outstanding for {@code
 * --seconds} and the result is the maximum throughput.
 *
 * <p>The request is built from a V2 REST JSON body ({@code --body}), so gRPC and HTTP send the same
 * rows: FP64 inputs as {@code fp64_contents}, BYTES inputs as {@code bytes_contents}. Only loopback
 * addresses are accepted.
 *
 * <p>Options: {@code --port}, {@code --model}, {@code --body}, {@code --rate} (0 for closed loop),
 * {@code --seconds}, {@code --warmup-seconds}, {@code --connections} (channels), {@code
 * --in-flight} (outstanding calls per channel in closed loop), {@code --token-env}, {@code
 * --label}, {@code --server-pid}. Prints a {@code RESULT} line in the format of InferLoad.
 */
public final class GrpcInferLoad {
  private static final int MAX_RATE = 100_000;
  private static final int MAX_SECONDS = 300;
  private static final long GRACE_NANOS = 30_000_000_000L;

  private static final MethodDescriptor<ModelInferRequest, ModelInferResponse> MODEL_INFER =
      MethodDescriptor.<ModelInferRequest, ModelInferResponse>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName(
              MethodDescriptor.generateFullMethodName(
                  "inference.GRPCInferenceService", "ModelInfer"))
          .setRequestMarshaller(ProtoUtils.marshaller(ModelInferRequest.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(ModelInferResponse.getDefaultInstance()))
          .build();

  private final List<Channel> channels;
  private final ModelInferRequest request;
  private final AtomicLong errors = new AtomicLong();
  private final AtomicReference<String> firstFailure = new AtomicReference<>();
  private final AtomicReference<String> firstResponse = new AtomicReference<>();

  private GrpcInferLoad(List<Channel> channels, ModelInferRequest request) {
    this.channels = channels;
    this.request = request;
  }

  public static void main(String[] args) throws Exception {
    Options options = new Options(args);
    int port = options.integer("port", 8081);
    String model = options.text("model", "flights-delay");
    Path body = Path.of(options.required("body"));
    int rate = bounded("rate", options.integer("rate", 0), 0, MAX_RATE);
    int seconds = bounded("seconds", options.integer("seconds", 20), 1, MAX_SECONDS);
    int warmUpSeconds = bounded("warmup-seconds", options.integer("warmup-seconds", 5), 0, 120);
    int connections = bounded("connections", options.integer("connections", 16), 1, 256);
    int inFlight = bounded("in-flight", options.integer("in-flight", 1), 1, 64);
    String tokenVariable = options.text("token-env", "EVERGREEN_TOKEN");
    String label = options.text("label", "grpc");
    long serverPid = options.integer("server-pid", 0);
    String token = System.getenv(tokenVariable);
    if (token == null || token.isBlank()) {
      throw new IllegalArgumentException(
          "environment variable " + tokenVariable + " is not set; export the bearer token in it");
    }

    ModelInferRequest request = request(model, Files.readAllBytes(body));
    Metadata headers = new Metadata();
    headers.put(
        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    String host = InetAddress.getLoopbackAddress().getHostAddress();
    List<ManagedChannel> open = new ArrayList<>();
    List<Channel> channels = new ArrayList<>();
    for (int c = 0; c < connections; c++) {
      // The direct executor runs callbacks on the transport thread, so no thread pool adds
      // latency to the measurement.
      ManagedChannel channel =
          Grpc.newChannelBuilderForAddress(host, port, InsecureChannelCredentials.create())
              .directExecutor()
              .build();
      open.add(channel);
      channels.add(
          ClientInterceptors.intercept(
              channel, MetadataUtils.newAttachHeadersInterceptor(headers)));
    }
    GrpcInferLoad load = new GrpcInferLoad(channels, request);
    System.out.printf(
        Locale.ROOT,
        "%s: %s for %d s after %d s of warm-up, %d channels, %d-byte request, %s:%d%n",
        label,
        rate > 0 ? rate + " req/s" : "closed loop, " + inFlight + " calls in flight per channel",
        seconds,
        warmUpSeconds,
        connections,
        request.getSerializedSize(),
        host,
        port);
    try {
      load.connect();
      CpuUsage before = serverPid > 0 ? CpuUsage.now(serverPid) : CpuUsage.now();
      if (rate > 0) {
        load.openLoop(label, rate, seconds, warmUpSeconds);
      } else {
        load.closedLoop(label, seconds, warmUpSeconds, inFlight);
      }
      CpuUsage after = serverPid > 0 ? CpuUsage.now(serverPid) : CpuUsage.now();
      System.out.printf(
          Locale.ROOT,
          "other processes (not this generator%s) used %.2f CPUs on average%n",
          serverPid > 0 ? ", not the server" : "",
          CpuUsage.otherCores(before, after));
    } finally {
      for (ManagedChannel channel : open) {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static int bounded(String name, int value, int min, int max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          "option --" + name + " must be from " + min + " to " + max + ", got " + value);
    }
    return value;
  }

  /** Builds a ModelInfer request from a V2 REST JSON body with FP64 and BYTES inputs. */
  static ModelInferRequest request(String model, byte[] json) throws java.io.IOException {
    JsonNode root = new ObjectMapper().readTree(json);
    ModelInferRequest.Builder builder = ModelInferRequest.newBuilder().setModelName(model);
    for (JsonNode input : root.path("inputs")) {
      String datatype = input.path("datatype").asText();
      ModelInferRequest.InferInputTensor.Builder tensor =
          ModelInferRequest.InferInputTensor.newBuilder()
              .setName(input.path("name").asText())
              .setDatatype(datatype);
      for (JsonNode size : input.path("shape")) {
        tensor.addShape(size.asLong());
      }
      InferTensorContents.Builder contents = InferTensorContents.newBuilder();
      for (JsonNode value : input.path("data")) {
        switch (datatype) {
          case "FP64" -> contents.addFp64Contents(value.asDouble());
          case "BYTES" -> contents.addBytesContents(ByteString.copyFromUtf8(value.asText()));
          default ->
              throw new IllegalArgumentException(
                  "input '"
                      + tensor.getName()
                      + "' has datatype "
                      + datatype
                      + "; use FP64 or BYTES");
        }
      }
      builder.addInputs(tensor.setContents(contents));
    }
    if (builder.getInputsCount() == 0) {
      throw new IllegalArgumentException("the body has no inputs; pass a V2 REST request body");
    }
    return builder.build();
  }

  /** Sends one call on every channel, so that connecting is not measured. */
  private void connect() throws InterruptedException {
    CountDownLatch done = new CountDownLatch(channels.size());
    for (Channel channel : channels) {
      call(channel, (finished, failed) -> done.countDown());
    }
    if (!done.await(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException(
          "the first calls timed out after 30 s; check that the gRPC service listens on the port");
    }
    if (errors.get() > 0) {
      throw new IllegalStateException("the first calls failed: " + firstFailure.get());
    }
  }

  /** Receives the time at which a call ended, in System.nanoTime units, and whether it failed. */
  private interface Completion {
    void done(long finishedNanos, boolean failed);
  }

  private void call(Channel channel, Completion completion) {
    ClientCalls.asyncUnaryCall(
        channel.newCall(MODEL_INFER, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS)),
        request,
        new StreamObserver<>() {
          @Override
          public void onNext(ModelInferResponse response) {
            if (firstResponse.get() == null) {
              firstResponse.compareAndSet(null, describe(response));
            }
          }

          @Override
          public void onError(Throwable error) {
            errors.incrementAndGet();
            firstFailure.compareAndSet(null, Status.fromThrowable(error).toString());
            completion.done(System.nanoTime(), true);
          }

          @Override
          public void onCompleted() {
            completion.done(System.nanoTime(), false);
          }
        });
  }

  private static String describe(ModelInferResponse response) {
    if (response.getOutputsCount() == 0) {
      return "no outputs";
    }
    ModelInferResponse.InferOutputTensor output = response.getOutputs(0);
    return output.getName()
        + " shape "
        + output.getShapeList()
        + ", "
        + output.getContents().getFp64ContentsCount()
        + " FP64 values, first "
        + (output.getContents().getFp64ContentsCount() > 0
            ? output.getContents().getFp64Contents(0)
            : "none");
  }

  private void openLoop(String label, int rate, int seconds, int warmUpSeconds)
      throws InterruptedException {
    long warmUpCount = (long) rate * warmUpSeconds;
    long total = warmUpCount + (long) rate * seconds;
    long[] latencies = new long[(int) (total - warmUpCount)];
    long[] sendLags = new long[latencies.length];
    CountDownLatch done = new CountDownLatch((int) total);
    AtomicLong lastDone = new AtomicLong(Long.MIN_VALUE);
    AtomicLong failures = new AtomicLong();
    long start = System.nanoTime() + 100_000_000L;
    for (long k = 0; k < total; k++) {
      long scheduled = start + k * 1_000_000_000L / rate;
      long now;
      while ((now = System.nanoTime()) < scheduled) {
        LockSupport.parkNanos(scheduled - now);
      }
      int index = (int) (k - warmUpCount);
      if (index >= 0) {
        sendLags[index] = now - scheduled;
      }
      call(
          channels.get((int) (k % channels.size())),
          (finished, failed) -> {
            if (index >= 0) {
              latencies[index] = finished - scheduled;
              lastDone.accumulateAndGet(finished, Math::max);
              if (failed) {
                failures.incrementAndGet();
              }
            }
            done.countDown();
          });
    }
    if (!done.await(GRACE_NANOS, TimeUnit.NANOSECONDS)) {
      System.out.println("worker note: " + done.getCount() + " calls did not complete within 30 s");
    }
    long completed = Math.max(0, latencies.length - done.getCount());
    long first = start + warmUpCount * 1_000_000_000L / rate;
    report(
        label,
        rate,
        completed / ((lastDone.get() - first) / 1e9),
        completed,
        latencies.length,
        failures.get(),
        latencies,
        sendLags);
  }

  private void closedLoop(String label, int seconds, int warmUpSeconds, int inFlight)
      throws InterruptedException {
    long measureFrom = System.nanoTime() + warmUpSeconds * 1_000_000_000L;
    long measureTo = measureFrom + seconds * 1_000_000_000L;
    AtomicLong counted = new AtomicLong();
    AtomicLong failures = new AtomicLong();
    CountDownLatch stopped = new CountDownLatch(channels.size() * inFlight);
    for (Channel channel : channels) {
      for (int i = 0; i < inFlight; i++) {
        new Object() {
          void next() {
            call(
                channel,
                (finished, failed) -> {
                  if (finished >= measureFrom && finished < measureTo) {
                    counted.incrementAndGet();
                    if (failed) {
                      failures.incrementAndGet();
                    }
                  }
                  if (finished < measureTo) {
                    next();
                  } else {
                    stopped.countDown();
                  }
                });
          }
        }.next();
      }
    }
    if (!stopped.await(seconds + warmUpSeconds + 30L, TimeUnit.SECONDS)) {
      System.out.println("worker note: calls still outstanding 30 s after the end");
    }
    String response = firstResponse.get();
    if (response != null) {
      System.out.println("first response: " + response);
    }
    if (firstFailure.get() != null) {
      System.out.println("first failure: " + firstFailure.get());
    }
    System.out.printf(
        Locale.ROOT,
        "RESULT %s target=0 achieved=%.0f req/s completed=%d/%d errors=%d%n",
        label,
        counted.get() / (double) seconds,
        counted.get(),
        counted.get(),
        failures.get());
  }

  private void report(
      String label,
      int rate,
      double achieved,
      long completed,
      long expected,
      long failures,
      long[] latencies,
      long[] sendLags) {
    String response = firstResponse.get();
    if (response != null) {
      System.out.println("first response: " + response);
    }
    if (firstFailure.get() != null) {
      System.out.println("first failure: " + firstFailure.get());
    }
    Percentiles latency = Percentiles.of(latencies);
    System.out.printf(Locale.ROOT, "latency: %s%n", latency.summary(1e6, "ms"));
    System.out.printf(Locale.ROOT, "send lag: %s%n", Percentiles.of(sendLags).summary(1e6, "ms"));
    System.out.printf(
        Locale.ROOT,
        "RESULT %s target=%d achieved=%.0f req/s completed=%d/%d errors=%d p50=%.3f p90=%.3f"
            + " p99=%.3f p99.9=%.3f max=%.3f ms%n",
        label,
        rate,
        achieved,
        completed,
        expected,
        failures,
        latency.percentile(50) / 1e6,
        latency.percentile(90) / 1e6,
        latency.percentile(99) / 1e6,
        latency.percentile(99.9) / 1e6,
        latency.max() / 1e6);
  }
}
