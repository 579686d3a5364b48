package dev.evergreen.bench;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.evergreen.server.grpc.ModelInferRequest;
import dev.evergreen.server.grpc.ModelInferResponse;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Open-loop load generator for the Open Inference Protocol gRPC service that measures like {@link
 * InferLoad}: the same schedule, options, warm-up and report, over HTTP/2 connections that it
 * frames itself ({@link Http2Connection}) instead of the grpc-java client.
 *
 * <p>{@link GrpcInferLoad} parks a thread until each send time and runs grpc-java's event loops on
 * the generator's CPU, and those wake-ups show up in every latency it reports. This generator has
 * one thread that never sleeps and non-blocking sockets, so what it reports is the server's and the
 * loopback's latency. Each connection carries one call at a time, as an HTTP/1.1 connection of
 * {@link InferLoad} carries one request: call {@code k} goes out on connection {@code k mod
 * connections} once that connection's previous call has ended.
 *
 * <p>Each call is a unary {@code inference.GRPCInferenceService/ModelInfer} with the request that
 * {@link GrpcInferLoad#request} builds from a V2 REST JSON body, in one length-prefixed gRPC
 * message. It sends no {@code grpc-timeout}; a call without a response for 10 s fails and its
 * connection reconnects. A call succeeds only with HTTP status 200, {@code grpc-status} 0 and a
 * ModelInferResponse that parses and carries, for the requested model, a first output with as many
 * rows as the request and one value per element of its shape.
 *
 * <p>Options: {@code --port} gRPC port on 127.0.0.1 (default 8081), {@code --model} (default {@code
 * flights-delay}), {@code --body} V2 REST JSON file, and {@link InferLoad}'s {@code --rate}, {@code
 * --seconds}, {@code --warmup-seconds}, {@code --connections}, {@code --token-env}, {@code
 * --label}, {@code --server-pid} and {@code --samples}, with the same defaults. Besides InferLoad's
 * lines it prints one line of HTTP/2 counts: DATA bytes received, WINDOW_UPDATE frames sent and
 * PINGs acknowledged.
 */
public final class GrpcPreciseLoad {
  static final String PATH = "/inference.GRPCInferenceService/ModelInfer";

  /** The gRPC message prefix: a compression flag byte and a 4-byte big-endian length. */
  private static final int MESSAGE_PREFIX_BYTES = 5;

  private GrpcPreciseLoad() {}

  public static void main(String[] args) throws Exception {
    try {
      run(args, System.getenv());
    } catch (java.net.ConnectException e) {
      System.err.println(
          "error: no gRPC server accepts connections on 127.0.0.1 at the --port given ("
              + e.getMessage()
              + "); start the server first");
      System.exit(1);
    }
  }

  /** Runs the generator with {@code environment} in place of the process's environment. */
  static void run(String[] args, Map<String, String> environment) throws Exception {
    Options options = new Options(args);
    int port = OpenLoop.bounded("port", options.integer("port", 8081), 1, 65_535);
    String model = options.text("model", "flights-delay");
    Path body = Path.of(options.required("body"));
    OpenLoop.Settings settings = OpenLoop.Settings.parse(options, "grpc", environment);

    ModelInferRequest request = GrpcInferLoad.request(model, Files.readAllBytes(body));
    byte[] message = message(request.toByteArray());
    InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    Http2Headers headers = requestHeaders(address, settings.token());
    Http2Connection.ResponseCheck check = new InferCheck(model, rows(request));
    System.out.printf(
        Locale.ROOT,
        "%s: %d req/s for %d s after %d s of warm-up, %d connections, %d-byte request, %s:%d%n",
        settings.label(),
        settings.rate(),
        settings.seconds(),
        settings.warmUpSeconds(),
        settings.connections(),
        request.getSerializedSize(),
        address.getAddress().getHostAddress(),
        port);
    List<Http2Connection> connections = new ArrayList<>();
    new OpenLoop(settings)
        .run(
            (index, selector) -> {
              Http2Connection connection =
                  new Http2Connection(index, address, selector, headers, message, check);
              connections.add(connection);
              return connection;
            });
    long dataBytes = 0;
    long windowUpdates = 0;
    long pings = 0;
    for (Http2Connection connection : connections) {
      dataBytes += connection.dataBytesReceived();
      windowUpdates += connection.windowUpdatesSent();
      pings += connection.pingsAcknowledged();
    }
    System.out.printf(
        Locale.ROOT,
        "http2: %d DATA bytes received on %d connections, %d WINDOW_UPDATE frames sent,"
            + " %d PINGs acknowledged%n",
        dataBytes,
        connections.size(),
        windowUpdates,
        pings);
  }

  /** Frames a protobuf message as one uncompressed gRPC message. */
  static byte[] message(byte[] protobuf) {
    byte[] framed = new byte[MESSAGE_PREFIX_BYTES + protobuf.length];
    framed[1] = (byte) (protobuf.length >>> 24);
    framed[2] = (byte) (protobuf.length >>> 16);
    framed[3] = (byte) (protobuf.length >>> 8);
    framed[4] = (byte) protobuf.length;
    System.arraycopy(protobuf, 0, framed, MESSAGE_PREFIX_BYTES, protobuf.length);
    return framed;
  }

  private static Http2Headers requestHeaders(InetSocketAddress address, String token) {
    Http2Headers headers =
        new DefaultHttp2Headers()
            .method("POST")
            .scheme("http")
            .path(PATH)
            .authority(address.getAddress().getHostAddress() + ":" + address.getPort());
    headers.add("content-type", "application/grpc");
    headers.add("te", "trailers");
    if (token != null) {
      headers.add("authorization", "Bearer " + token);
    }
    return headers;
  }

  /** Returns the rows of a request: the first dimension of its first input. */
  private static long rows(ModelInferRequest request) {
    ModelInferRequest.InferInputTensor first = request.getInputs(0);
    if (first.getShapeCount() == 0) {
      throw new IllegalArgumentException("input '" + first.getName() + "' has no shape");
    }
    return first.getShape(0);
  }

  /** Accepts a ModelInfer response with status 200, grpc-status 0 and the expected output. */
  record InferCheck(String model, long rows) implements Http2Connection.ResponseCheck {
    @Override
    public String failure(Http2Headers headers, Http2Headers trailers, byte[] body) {
      if (headers == null || !"200".contentEquals(String.valueOf(headers.status()))) {
        return "HTTP status " + (headers == null ? "missing" : headers.status());
      }
      CharSequence status = trailers == null ? null : trailers.get("grpc-status");
      if (status == null) {
        return "no grpc-status in the trailers";
      }
      if (!"0".contentEquals(status)) {
        return "grpc-status " + status;
      }
      ModelInferResponse response;
      try {
        response = response(body);
      } catch (IOException e) {
        return e.getMessage();
      }
      return outputFailure(response);
    }

    private String outputFailure(ModelInferResponse response) {
      if (!response.getModelName().equals(model)) {
        return "response for model '" + response.getModelName() + "', not '" + model + "'";
      }
      if (response.getOutputsCount() == 0) {
        return "response without outputs";
      }
      ModelInferResponse.InferOutputTensor output = response.getOutputs(0);
      if (output.getShapeCount() == 0 || output.getShape(0) != rows) {
        return "output shape " + output.getShapeList() + " does not start with " + rows + " rows";
      }
      long elements = 1;
      for (long size : output.getShapeList()) {
        elements *= size;
      }
      long values =
          response.getRawOutputContentsCount() > 0
              ? response.getRawOutputContents(0).size() / Double.BYTES
              : output.getContents().getFp64ContentsCount();
      if (values != elements) {
        return values + " values for output shape " + output.getShapeList();
      }
      return null;
    }

    @Override
    public String describe(
        Http2Headers headers, Http2Headers trailers, byte[] body, String failure) {
      StringBuilder text = new StringBuilder();
      text.append(headers == null ? "no headers" : "HTTP " + headers.status());
      if (trailers != null) {
        text.append(", grpc-status ").append(trailers.get("grpc-status"));
        CharSequence message = trailers.get("grpc-message");
        if (message != null) {
          text.append(" '").append(percentDecoded(message.toString())).append('\'');
        }
      }
      if (body.length > 0) {
        try {
          ModelInferResponse response = response(body);
          text.append(", model ").append(response.getModelName());
          if (response.getOutputsCount() > 0) {
            ModelInferResponse.InferOutputTensor output = response.getOutputs(0);
            text.append(", output ").append(output.getName());
            text.append(" shape ").append(output.getShapeList());
            if (output.getContents().getFp64ContentsCount() > 0) {
              text.append(", first ").append(output.getContents().getFp64Contents(0));
            }
          }
        } catch (IOException e) {
          text.append(", ").append(body.length).append("-byte body");
        }
      }
      if (failure != null) {
        text.append(": ").append(failure);
      }
      return text.toString();
    }

    /** Parses the one gRPC message of a unary response body. */
    private static ModelInferResponse response(byte[] body) throws IOException {
      if (body.length < MESSAGE_PREFIX_BYTES) {
        throw new IOException(
            "response body of " + body.length + " bytes contains no gRPC message");
      }
      if (body[0] != 0) {
        throw new IOException("compressed response message, although none was accepted");
      }
      long length =
          (body[1] & 0xffL) << 24 | (body[2] & 0xff) << 16 | (body[3] & 0xff) << 8 | body[4] & 0xff;
      if (length != body.length - MESSAGE_PREFIX_BYTES) {
        throw new IOException(
            "gRPC message prefix gives "
                + length
                + " bytes, but the body has "
                + (body.length - MESSAGE_PREFIX_BYTES));
      }
      try {
        return ModelInferResponse.parseFrom(
            ByteBuffer.wrap(body, MESSAGE_PREFIX_BYTES, (int) length));
      } catch (InvalidProtocolBufferException e) {
        throw new IOException("response message is not a ModelInferResponse: " + e.getMessage());
      }
    }
  }

  /**
   * Decodes a {@code grpc-message} trailer, which gRPC percent-encodes as UTF-8 bytes. A {@code +}
   * stays a plus sign, unlike in URL form encoding.
   */
  static String percentDecoded(String message) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(message.length());
    int i = 0;
    while (i < message.length()) {
      if (message.charAt(i) == '%' && i + 2 < message.length()) {
        int high = Character.digit(message.charAt(i + 1), 16);
        int low = Character.digit(message.charAt(i + 2), 16);
        if (high >= 0 && low >= 0) {
          bytes.write(high * 16 + low);
          i += 3;
          continue;
        }
      }
      int codePoint = message.codePointAt(i);
      bytes.writeBytes(Character.toString(codePoint).getBytes(StandardCharsets.UTF_8));
      i += Character.charCount(codePoint);
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
