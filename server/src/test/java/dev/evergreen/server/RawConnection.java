package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One HTTP/1.1 keep-alive connection to a server on loopback, written and read byte by byte, for
 * tests that need what an HTTP client hides: partial requests, unread bodies, HEAD responses.
 */
final class RawConnection implements AutoCloseable {
  private final Socket socket;
  private final OutputStream out;
  private final InputStream in;

  /** A response as read from the socket: status, headers with lower-case names, and body. */
  record Response(int status, Map<String, String> headers, String body) {
    String header(String name) {
      return headers.get(name);
    }
  }

  private RawConnection(Socket socket) throws IOException {
    this.socket = socket;
    this.out = socket.getOutputStream();
    this.in = socket.getInputStream();
  }

  /** Connects to 127.0.0.1 with reads that time out after 10 s. */
  static RawConnection open(int port) throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout(10_000);
    return new RawConnection(socket);
  }

  /**
   * Sends a request without a body and reads its response. For HEAD it reads only the status line
   * and headers, so any body bytes stay in the stream and break the next status line.
   */
  Response exchange(String method, String path, String secret, boolean head) throws IOException {
    StringBuilder request = new StringBuilder();
    request.append(method).append(' ').append(path).append(" HTTP/1.1\r\n");
    request.append("Host: 127.0.0.1\r\n");
    if (secret != null) {
      request.append("Authorization: Bearer ").append(secret).append("\r\n");
    }
    if (!method.equals("GET") && !method.equals("HEAD")) {
      request.append("Content-Length: 0\r\n");
    }
    request.append("\r\n");
    write(request.toString());
    return read(method + " " + path, head);
  }

  /** Sends a PUT with a body and reads its response. */
  Response upload(String path, String secret, byte[] body) throws IOException {
    write(
        "PUT "
            + path
            + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
            + secret
            + "\r\nContent-Length: "
            + body.length
            + "\r\n\r\n");
    write(body);
    return read("PUT " + path, false);
  }

  /** Writes text as US-ASCII, such as a request head. */
  void write(String text) throws IOException {
    write(text.getBytes(StandardCharsets.US_ASCII));
  }

  void write(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  /**
   * Reads one response.
   *
   * @param what names the request in assertion messages
   * @param head whether it is the response to a HEAD request, whose body is not read
   */
  Response read(String what, boolean head) throws IOException {
    String statusLine = readLine();
    assertThat(statusLine).as("status line of %s", what).startsWith("HTTP/1.1 ");
    int status = Integer.parseInt(statusLine.substring(9, 12));
    Map<String, String> headers = new LinkedHashMap<>();
    for (String line = readLine(); !line.isEmpty(); line = readLine()) {
      int colon = line.indexOf(':');
      headers.put(
          line.substring(0, colon).strip().toLowerCase(Locale.ROOT),
          line.substring(colon + 1).strip());
    }
    if (head) {
      return new Response(status, headers, "");
    }
    assertThat(headers).as("headers of %s", what).containsKey("content-length");
    byte[] body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
    return new Response(status, headers, new String(body, StandardCharsets.UTF_8));
  }

  /**
   * Returns whether the server closes the connection within {@code millis}: a read that ends the
   * stream or resets the connection. Bytes the server sends first are skipped.
   */
  boolean closedWithin(long millis) throws IOException {
    int timeout = socket.getSoTimeout();
    long deadline = System.nanoTime() + millis * 1_000_000;
    try {
      while (System.nanoTime() < deadline) {
        socket.setSoTimeout((int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
        try {
          if (in.read() < 0) {
            return true;
          }
        } catch (SocketTimeoutException e) {
          return false;
        } catch (IOException e) {
          return true;
        }
      }
      return false;
    } finally {
      if (!socket.isClosed()) {
        socket.setSoTimeout(timeout);
      }
    }
  }

  /** Reads one line ending in CRLF, without the CRLF. */
  private String readLine() throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int previous = -1;
    while (true) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed after: " + line);
      }
      if (previous == '\r' && b == '\n') {
        byte[] bytes = line.toByteArray();
        return new String(bytes, 0, bytes.length - 1, StandardCharsets.ISO_8859_1);
      }
      line.write(b);
      previous = b;
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
