package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import dev.evergreen.server.grpc.GRPCInferenceServiceGrpc;
import dev.evergreen.server.grpc.ModelInferRequest;
import dev.evergreen.server.grpc.ModelInferResponse;
import dev.evergreen.server.grpc.ServerLiveRequest;
import dev.evergreen.server.grpc.ServerLiveResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerOptions;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * gRPC calls count against a request-body budget of 1 MiB here, a call may stay unanswered for 2 s,
 * and connections of the second server close after 1 s without a frame. Calls come from grpc-java
 * and from Vert.x's HTTP/2 client over loopback.
 */
class GrpcBodiesTest {
  private static final long BUDGET = 1024 * 1024;
  private static final long BODY_MILLIS = 2_000;
  private static final long IDLE_NANOS = TimeUnit.SECONDS.toNanos(1);

  private Vertx vertx;
  private RequestBodies bodies;
  private volatile int port;
  private volatile int idlePort;
  private ManagedChannel channel;

  /** Responses to ModelInfer wait for this to complete. */
  private volatile CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    bodies = new RequestBodies(BUDGET, 1);
    // Deployed as verticles, as the server does, so that the stall check and the calls share one
    // event loop.
    vertx
        .deployVerticle(
            new VerticleBase() {
              @Override
              public Future<?> start() {
                return listen(new HttpServerOptions())
                    .onSuccess(server -> port = server.actualPort());
              }
            })
        .toCompletionStage()
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    vertx
        .deployVerticle(
            new VerticleBase() {
              @Override
              public Future<?> start() {
                return listen(EvergreenServer.closeIdleHttp2(new HttpServerOptions(), IDLE_NANOS))
                    .onSuccess(server -> idlePort = server.actualPort());
              }
            })
        .toCompletionStage()
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }

  /** Starts a gRPC server with ModelInfer, which echoes the id, and ServerLive, without a token. */
  private Future<HttpServer> listen(HttpServerOptions options) {
    GrpcServer grpc =
        GrpcServer.server(
            vertx, new GrpcServerOptions().setMaxMessageSize(HttpErrors.MAX_BODY_BYTES));
    ServiceMethod<ModelInferRequest, ModelInferResponse> infer =
        ServiceMethod.server(
            GrpcInferenceService.SERVICE,
            "ModelInfer",
            GrpcMessageEncoder.encoder(),
            GrpcMessageDecoder.decoder(ModelInferRequest.getDefaultInstance()));
    ServiceMethod<ServerLiveRequest, ServerLiveResponse> live =
        ServiceMethod.server(
            GrpcInferenceService.SERVICE,
            "ServerLive",
            GrpcMessageEncoder.encoder(),
            GrpcMessageDecoder.decoder(ServerLiveRequest.getDefaultInstance()));
    grpc.callHandler(
        infer,
        call -> {
          Context context = Vertx.currentContext();
          call.last()
              .onSuccess(
                  request ->
                      gate.whenComplete(
                          (released, failure) ->
                              context.runOnContext(
                                  run ->
                                      call.response()
                                          .end(
                                              ModelInferResponse.newBuilder()
                                                  .setId(request.getId())
                                                  // Echoed so that a response can exceed the
                                                  // client's receive window.
                                                  .addAllRawOutputContents(
                                                      request.getRawInputContentsList())
                                                  .build()))));
        });
    grpc.callHandler(
        live,
        call ->
            call.last()
                .onSuccess(
                    request ->
                        call.response()
                            .end(ServerLiveResponse.newBuilder().setLive(true).build())));
    GrpcBodies counted =
        new GrpcBodies(
            vertx,
            bodies,
            GrpcInferenceService.PATHS_WITHOUT_TOKEN,
            TimeUnit.MILLISECONDS.toNanos(BODY_MILLIS),
            50);
    return vertx
        .createHttpServer(options.setHost("127.0.0.1").setPort(0))
        .requestHandler(counted.track(grpc))
        .listen();
  }

  @AfterEach
  void stop() throws Exception {
    gate.complete(null);
    channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub() {
    return GRPCInferenceServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  /** Returns a ModelInfer request of about {@code bytes} bytes. */
  private static ModelInferRequest request(String id, int bytes) {
    return ModelInferRequest.newBuilder()
        .setModelName("m")
        .setId(id)
        .addRawInputContents(ByteString.copyFrom(new byte[bytes]))
        .build();
  }

  /** Waits up to 5 s for the whole budget to be free again and returns what is free. */
  private long freeBytesAfterCalls() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (bodies.availableBytes() != BUDGET && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    return bodies.availableBytes();
  }

  @Test
  void callWithinBudgetIsServed() throws Exception {
    ModelInferResponse response = stub().modelInfer(request("within", 300_000));

    assertThat(response.getId()).isEqualTo("within");
    assertThat(freeBytesAfterCalls()).isEqualTo(BUDGET);
  }

  @Test
  void callBeyondBudgetIsUnavailable() throws Exception {
    StatusRuntimeException refused =
        catchThrowableOfType(
            StatusRuntimeException.class, () -> stub().modelInfer(request("beyond", 2_000_000)));

    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(refused.getStatus().getDescription())
        .startsWith("the server is reading as many request bytes as its memory allows (1 MiB")
        .endsWith("retry later, or send smaller calls");
    assertThat(stub().modelInfer(request("after", 1_000)).getId()).isEqualTo("after");
    assertThat(freeBytesAfterCalls()).isEqualTo(BUDGET);
  }

  @Test
  void waitingCallKeepsItsBytes() throws Exception {
    gate = new CompletableFuture<>();
    ListenableFuture<ModelInferResponse> held =
        GRPCInferenceServiceGrpc.newFutureStub(channel)
            .withDeadlineAfter(30, TimeUnit.SECONDS)
            .modelInfer(request("held", 600_000));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (bodies.availableBytes() > BUDGET - 600_000 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }

    assertThat(bodies.availableBytes()).isLessThanOrEqualTo(BUDGET - 600_000);
    StatusRuntimeException refused =
        catchThrowableOfType(
            StatusRuntimeException.class, () -> stub().modelInfer(request("second", 600_000)));
    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    gate.complete(null);
    assertThat(held.get(10, TimeUnit.SECONDS).getId()).isEqualTo("held");
    assertThat(freeBytesAfterCalls()).isEqualTo(BUDGET);
  }

  @Test
  void healthCallOver64KiBIsRejected() throws Exception {
    ServerLiveRequest large =
        ServerLiveRequest.newBuilder()
            .setUnknownFields(
                UnknownFieldSet.newBuilder()
                    .addField(
                        1,
                        UnknownFieldSet.Field.newBuilder()
                            .addLengthDelimited(ByteString.copyFrom(new byte[100_000]))
                            .build())
                    .build())
            .build();

    StatusRuntimeException refused =
        catchThrowableOfType(StatusRuntimeException.class, () -> stub().serverLive(large));

    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.getStatus().getDescription())
        .isEqualTo(
            "a call to /inference.GRPCInferenceService/ServerLive declares a message of 100004"
                + " bytes, more than 65536; this method takes an empty request message");
    assertThat(stub().serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
    assertThat(freeBytesAfterCalls()).isEqualTo(BUDGET);
  }

  @Test
  void stalledRequestTimesOut() throws Exception {
    // A prefix that announces 100,000 bytes, then only 1,000 of them.
    Buffer partial = Buffer.buffer().appendByte((byte) 0).appendInt(100_000);
    partial.appendBytes(new byte[1_000]);
    long start = System.nanoTime();

    HttpClientResponse response = send(partial, false);

    long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertThat(response.getHeader("grpc-status")).isEqualTo("4");
    assertThat(response.getHeader("grpc-message"))
        .isEqualTo(
            "the call was not complete 2.0 s after it began; send the whole request at once,"
                + " faster or in smaller calls");
    assertThat(waitedMillis).isGreaterThanOrEqualTo(BODY_MILLIS);
    assertThat(freeBytesAfterCalls()).isEqualTo(BUDGET);
  }

  /**
   * Sends {@code body} to ModelInfer over Vert.x's HTTP/2 client and returns the response, whose
   * headers carry the status of a call that ends before any message.
   *
   * @param end whether the request ends after the body
   */
  private HttpClientResponse send(Buffer body, boolean end) throws Exception {
    HttpClientAgent client = http2Client();
    try {
      HttpClientRequest request = open(client);
      if (end) {
        request.end(body);
      } else {
        request.write(body);
      }
      return request.response().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } finally {
      client.close();
    }
  }

  private HttpClientAgent http2Client() {
    return vertx.createHttpClient(
        new HttpClientOptions()
            .setProtocolVersion(HttpVersion.HTTP_2)
            .setHttp2ClearTextUpgrade(false));
  }

  /** Returns a message prefix: not compressed, with the given length. */
  private static Buffer prefix(int length) {
    return Buffer.buffer().appendByte((byte) 0).appendInt(length);
  }

  /** Opens a chunked ModelInfer request with gRPC headers, not yet sent. */
  private HttpClientRequest open(HttpClientAgent client) throws Exception {
    HttpClientRequest request =
        client
            .request(
                HttpMethod.POST,
                port,
                "127.0.0.1",
                GrpcInferenceService.SERVICE.pathOf("ModelInfer"))
            .toCompletionStage()
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    return request
        .setChunked(true)
        .putHeader("content-type", "application/grpc")
        .putHeader("te", "trailers");
  }

  @Test
  void requestWithoutMessageIsInvalidArgument() throws Exception {
    HttpClientResponse empty = send(Buffer.buffer(), true);
    HttpClientResponse partial = send(prefix(100).appendBytes(new byte[10]), true);
    HttpClientResponse twoMessages =
        send(prefix(2).appendBytes(new byte[2]).appendBuffer(prefix(0)), true);
    HttpClientResponse truncatedPrefix = send(Buffer.buffer(new byte[] {0, 0, 1}), true);

    assertThat(empty.getHeader("grpc-status")).isEqualTo("3");
    assertThat(empty.getHeader("grpc-message"))
        .isEqualTo("the request ended without a message; send one request message");
    assertThat(partial.getHeader("grpc-status")).isEqualTo("3");
    assertThat(partial.getHeader("grpc-message"))
        .isEqualTo("the request ended inside its message after 15 bytes; send the whole message");
    assertThat(twoMessages.getHeader("grpc-status")).isEqualTo("3");
    assertThat(twoMessages.getHeader("grpc-message"))
        .isEqualTo("the request carries more than one message; each call takes exactly one");
    assertThat(truncatedPrefix.getHeader("grpc-status")).isEqualTo("3");
    assertThat(freeBytesAfterCalls()).isEqualTo(BUDGET);
  }

  @Test
  void oversizedPrefixIsResourceExhausted() throws Exception {
    HttpClientResponse response = send(prefix(9 * 1024 * 1024), false);

    assertThat(response.getHeader("grpc-status")).isEqualTo("8");
    assertThat(response.getHeader("grpc-message"))
        .isEqualTo(
            "the message has 9437184 bytes, above the limit of 8388608; send fewer rows per call");
    assertThat(freeBytesAfterCalls()).isEqualTo(BUDGET);
  }

  @Test
  void openStreamsCountAgainstBudget() throws Exception {
    int fitting = (int) (BUDGET / GrpcBodies.STREAM_BYTES);
    HttpClientAgent client =
        vertx.createHttpClient(
            new HttpClientOptions()
                .setProtocolVersion(HttpVersion.HTTP_2)
                .setHttp2ClearTextUpgrade(false)
                .setHttp2MultiplexingLimit(fitting + 10),
            new io.vertx.core.http.PoolOptions().setHttp2MaxSize(1));
    try {
      List<HttpClientRequest> silent = new ArrayList<>();
      for (int stream = 0; stream < fitting; stream++) {
        HttpClientRequest request = open(client);
        request.sendHead().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        silent.add(request);
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (bodies.availableBytes() >= GrpcBodies.STREAM_BYTES && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertThat(bodies.availableBytes()).isLessThan(GrpcBodies.STREAM_BYTES);
      HttpClientRequest extra = open(client);
      extra.end(prefix(0));
      HttpClientResponse refused =
          extra.response().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertThat(refused.getHeader("grpc-status")).isEqualTo("14");

      // The silent streams end with DEADLINE_EXCEEDED once the call time passes.
      HttpClientResponse silentEnd =
          silent
              .get(0)
              .response()
              .toCompletionStage()
              .toCompletableFuture()
              .get(10, TimeUnit.SECONDS);
      assertThat(silentEnd.getHeader("grpc-status")).isEqualTo("4");
      assertThat(freeBytesAfterCalls()).isEqualTo(BUDGET);
    } finally {
      client.close();
    }
  }

  @Test
  void nonProtobufContentTypeIsUnsupportedMediaType() throws Exception {
    for (String type : List.of("application/json", "application/grpc+json", "text/plain")) {
      HttpClientAgent client = http2Client();
      try {
        HttpClientRequest request = open(client);
        request.putHeader("content-type", type);
        request.end("{}");
        HttpClientResponse response =
            request.response().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);

        assertThat(response.statusCode()).as(type).isEqualTo(415);
      } finally {
        client.close();
      }
    }
    assertThat(GrpcBodies.isProtobufGrpc("application/grpc+proto; charset=utf-8")).isTrue();
    assertThat(GrpcBodies.isProtobufGrpc("application/grpc")).isTrue();
  }

  @Test
  void unreadResponseIsReset() throws Exception {
    byte[] message = request("echo", 300_000).toByteArray();
    HttpClientAgent client = http2Client();
    try {
      HttpClientRequest request = open(client);
      // The client reads nothing of the response, which exceeds its 65,535-byte window.
      request.response().onSuccess(HttpClientResponse::pause);
      request.end(prefix(message.length).appendBytes(message));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (bodies.availableBytes() >= BUDGET - 300_000 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertThat(bodies.availableBytes()).isLessThan(BUDGET - 300_000);

      // Kept while the response waits, then given back when the call time passes.
      Thread.sleep(BODY_MILLIS / 2);
      assertThat(bodies.availableBytes()).isLessThan(BUDGET - 300_000);
      assertThat(freeBytesAfterCalls()).isEqualTo(BUDGET);
    } finally {
      client.close();
    }
  }

  @Test
  void responsesOfferOnlyIdentityEncoding() throws Exception {
    HttpClientResponse response = send(prefix(0), true);

    assertThat(response.getHeader("grpc-accept-encoding")).isEqualTo("identity");
  }

  @Test
  void gzipCallIsUnimplemented() throws Exception {
    // 20 MB of zeros, about 20 KB of gzip.
    StatusRuntimeException refused =
        catchThrowableOfType(
            StatusRuntimeException.class,
            () -> stub().withCompression("gzip").modelInfer(request("gzip", 20_000_000)));

    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
    assertThat(refused.getStatus().getDescription())
        .isEqualTo("grpc-encoding 'gzip' is not accepted; send messages uncompressed");
    assertThat(stub().modelInfer(request("plain", 1_000)).getId()).isEqualTo("plain");
    assertThat(freeBytesAfterCalls()).isEqualTo(BUDGET);
  }

  @Test
  void compressedFlagWithoutEncodingIsInternal() throws Exception {
    HttpClientResponse response = send(Buffer.buffer().appendByte((byte) 1).appendInt(3), true);

    assertThat(response.getHeader("grpc-status")).isEqualTo("13");
    assertThat(response.getHeader("grpc-message"))
        .isEqualTo(
            "the message is marked compressed, but compressed messages are not accepted; send it"
                + " uncompressed");
    assertThat(freeBytesAfterCalls()).isEqualTo(BUDGET);
  }

  @Test
  void idleHttp2ConnectionCloses() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", idlePort)) {
      socket.setSoTimeout(10_000);
      // The client preface and an empty SETTINGS frame, then nothing.
      socket
          .getOutputStream()
          .write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});
      long start = System.nanoTime();
      InputStream in = socket.getInputStream();
      while (in.read() != -1) {
        // The server's SETTINGS and acknowledgement come first.
      }
      long openMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

      assertThat(openMillis).isBetween(900L, 5_000L);
    }
  }

  @Test
  void callPastItsGrpcTimeoutIsDeadlineExceeded() throws Exception {
    gate = new CompletableFuture<>();
    byte[] message = request("late", 1_000).toByteArray();
    // Milliseconds, and the microseconds that whole-millisecond parsers read as no deadline.
    for (String timeout : List.of("300m", "300000u", "900u")) {
      HttpClientAgent client = http2Client();
      try {
        HttpClientRequest request = open(client).putHeader("grpc-timeout", timeout);
        long start = System.nanoTime();
        request.end(prefix(message.length).appendBytes(message));
        HttpClientResponse response =
            request.response().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        long waitedMicros = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start);

        assertThat(response.getHeader("grpc-status")).as(timeout).isEqualTo("4");
        assertThat(response.getHeader("grpc-message"))
            .isEqualTo(
                "the call's deadline passed: its grpc-timeout of "
                    + timeout
                    + " elapsed before the response was ready; allow more time or send fewer rows");
        assertThat(waitedMicros)
            .as(timeout)
            .isGreaterThanOrEqualTo(GrpcBodies.timeoutNanos(timeout) / 1_000);
      } finally {
        client.close();
      }
    }
    assertThat(freeBytesAfterCalls()).isEqualTo(BUDGET);
  }

  @Test
  void callWithinItsGrpcTimeoutIsServed() throws Exception {
    byte[] message = request("prompt", 1_000).toByteArray();
    HttpClientAgent client = http2Client();
    try {
      HttpClientRequest request = open(client).putHeader("grpc-timeout", "5S");
      request.end(prefix(message.length).appendBytes(message));
      CompletableFuture<HttpClientResponse> response = new CompletableFuture<>();
      Buffer body =
          request
              .response()
              .compose(
                  head -> {
                    response.complete(head);
                    return head.body();
                  })
              .toCompletionStage()
              .toCompletableFuture()
              .get(10, TimeUnit.SECONDS);

      assertThat(response.get().trailers().get("grpc-status")).isEqualTo("0");
      assertThat(ModelInferResponse.parseFrom(body.getBytes(5, body.length())).getId())
          .isEqualTo("prompt");
    } finally {
      client.close();
    }
    assertThat(freeBytesAfterCalls()).isEqualTo(BUDGET);
  }

  @Test
  void malformedGrpcTimeoutIsInternal() throws Exception {
    for (String timeout : List.of("1.5S", "123456789m", "10", "10x", "S")) {
      HttpClientResponse response = sendWithTimeout(timeout);

      assertThat(response.getHeader("grpc-status")).as(timeout).isEqualTo("13");
      assertThat(response.getHeader("grpc-message"))
          .isEqualTo(
              "grpc-timeout '"
                  + timeout
                  + "' is malformed; send 1 to 8 digits and a unit (H, M, S, m, u or n), as in"
                  + " 500m");
    }
    HttpClientResponse expired = sendWithTimeout("0m");
    assertThat(expired.getHeader("grpc-status")).isEqualTo("4");
    assertThat(freeBytesAfterCalls()).isEqualTo(BUDGET);
  }

  /** Sends an empty ModelInfer message with a {@code grpc-timeout} header. */
  private HttpClientResponse sendWithTimeout(String timeout) throws Exception {
    HttpClientAgent client = http2Client();
    try {
      HttpClientRequest request = open(client).putHeader("grpc-timeout", timeout);
      request.end(prefix(0));
      return request.response().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } finally {
      client.close();
    }
  }

  @Test
  void timeoutNanosReadsEveryUnit() {
    assertThat(GrpcBodies.timeoutNanos("2H")).isEqualTo(TimeUnit.HOURS.toNanos(2));
    assertThat(GrpcBodies.timeoutNanos("3M")).isEqualTo(TimeUnit.MINUTES.toNanos(3));
    assertThat(GrpcBodies.timeoutNanos("99999999S")).isEqualTo(99_999_999_000_000_000L);
    assertThat(GrpcBodies.timeoutNanos("500m")).isEqualTo(500_000_000L);
    assertThat(GrpcBodies.timeoutNanos("29999954u")).isEqualTo(29_999_954_000L);
    assertThat(GrpcBodies.timeoutNanos("7n")).isEqualTo(7);
    assertThat(GrpcBodies.timeoutNanos("7s")).isEqualTo(-1);
    assertThat(GrpcBodies.timeoutNanos("-1S")).isEqualTo(-1);
  }

  @Test
  void percentEncodeEscapesNonAscii() {
    assertThat(GrpcBodies.percentEncode("50% done é\n")).isEqualTo("50%25 done %C3%A9%0A");
  }
}
