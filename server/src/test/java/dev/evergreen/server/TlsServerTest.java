package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.Evergreen;
import dev.evergreen.server.grpc.GRPCInferenceServiceGrpc;
import dev.evergreen.server.grpc.ServerLiveRequest;
import dev.evergreen.server.grpc.health.HealthCheckRequest;
import dev.evergreen.server.grpc.health.HealthCheckResponse.ServingStatus;
import dev.evergreen.server.grpc.health.HealthGrpc;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server on 127.0.0.1 serving TLS from PEM files that keytool's self-signed certificates fill,
 * called by the JDK's HTTP client and grpc-java, each trusting only those certificates.
 */
class TlsServerTest {
  @TempDir Path dir;

  private Evergreen evergreen;
  private EvergreenServer server;
  private TestCertificates first;
  private Path certificate;
  private Path key;

  @BeforeEach
  void open() throws Exception {
    evergreen = TestHomes.open(dir, new SimpleMeterRegistry());
    first = TestCertificates.create(dir, "first", "EC");
    certificate = dir.resolve("tls.crt");
    key = dir.resolve("tls.key");
    Files.copy(first.certificate(), certificate);
    Files.copy(first.key(), key);
  }

  @AfterEach
  void close() {
    if (server != null) {
      server.close();
    }
    evergreen.close();
  }

  /** Starts the server on both ports with the files, read again every 100 ms. */
  private void start() {
    server =
        EvergreenServer.start(
            evergreen,
            new ServerOptions("127.0.0.1", 0, 1)
                .withGrpcPort(0)
                .withTls(new TlsFiles(certificate, key, Duration.ofMillis(100))));
  }

  /**
   * Returns the SHA-256 fingerprint of the certificate that a new HTTPS connection to the REST port
   * receives, after checking that {@code /v2/health/live} returns 200.
   */
  private String servedFingerprint(TestCertificates... trusted) throws Exception {
    try (HttpClient client =
        HttpClient.newBuilder()
            .sslContext(TestCertificates.trusting(trusted))
            .connectTimeout(Duration.ofSeconds(5))
            .build()) {
      HttpResponse<String> response =
          client.send(
              HttpRequest.newBuilder(
                      URI.create("https://127.0.0.1:" + server.port() + "/v2/health/live"))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      Certificate peer = response.sslSession().orElseThrow().getPeerCertificates()[0];
      return HexFormat.of()
          .withUpperCase()
          .formatHex(MessageDigest.getInstance("SHA-256").digest(peer.getEncoded()));
    }
  }

  private ManagedChannel grpcChannel(TestCertificates trusted) throws IOException {
    return Grpc.newChannelBuilderForAddress(
            "127.0.0.1",
            server.grpcPort(),
            TlsChannelCredentials.newBuilder().trustManager(trusted.certificate().toFile()).build())
        .build();
  }

  @Test
  void restAndGrpcServeTls() throws Exception {
    start();

    assertThat(servedFingerprint(first)).isEqualTo(first.fingerprint());
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(10_000);
      socket
          .getOutputStream()
          .write(
              "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
      byte[] answer = socket.getInputStream().readAllBytes();
      // A TLS alert or nothing, never an HTTP response in plaintext.
      assertThat(new String(answer, StandardCharsets.ISO_8859_1)).doesNotContain("HTTP/1.1");
    }
    ManagedChannel channel = grpcChannel(first);
    try {
      assertThat(
              GRPCInferenceServiceGrpc.newBlockingStub(channel)
                  .withDeadlineAfter(30, TimeUnit.SECONDS)
                  .serverLive(ServerLiveRequest.getDefaultInstance())
                  .getLive())
          .isTrue();
      assertThat(
              HealthGrpc.newBlockingStub(channel)
                  .withDeadlineAfter(30, TimeUnit.SECONDS)
                  .check(HealthCheckRequest.getDefaultInstance())
                  .getStatus())
          .isEqualTo(ServingStatus.SERVING);
    } finally {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void renewedCertificateIsServedWithoutRestart() throws Exception {
    start();
    TestCertificates renewed = TestCertificates.create(dir, "renewed", "RSA");

    // As a renewal writes them: the key first, so the files disagree for a moment.
    Files.copy(renewed.key(), key, StandardCopyOption.REPLACE_EXISTING);
    Thread.sleep(300);
    assertThat(servedFingerprint(first, renewed)).isEqualTo(first.fingerprint());
    Files.copy(renewed.certificate(), certificate, StandardCopyOption.REPLACE_EXISTING);

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    String served = servedFingerprint(first, renewed);
    while (!served.equals(renewed.fingerprint()) && System.nanoTime() < deadline) {
      Thread.sleep(50);
      served = servedFingerprint(first, renewed);
    }
    assertThat(served).isEqualTo(renewed.fingerprint());
    ManagedChannel channel = grpcChannel(renewed);
    try {
      assertThat(
              GRPCInferenceServiceGrpc.newBlockingStub(channel)
                  .withDeadlineAfter(30, TimeUnit.SECONDS)
                  .serverLive(ServerLiveRequest.getDefaultInstance())
                  .getLive())
          .isTrue();
    } finally {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void keyOfAnotherCertificateIsRefusedAtStart() throws Exception {
    TestCertificates other = TestCertificates.create(dir, "other", "EC");
    Files.copy(other.key(), key, StandardCopyOption.REPLACE_EXISTING);

    assertThatThrownBy(this::start)
        .isInstanceOf(EvergreenException.class)
        .hasMessage(
            "the TLS key file "
                + key
                + " does not belong to the first certificate in "
                + certificate
                + "; pass the key that was issued with that certificate");
  }

  @Test
  void expiredCertificateIsRefused() throws Exception {
    TestCertificates expired = TestCertificates.create(dir, "expired", "EC", "2020/01/01 00:00:00");
    start();

    Files.copy(expired.key(), key, StandardCopyOption.REPLACE_EXISTING);
    Files.copy(expired.certificate(), certificate, StandardCopyOption.REPLACE_EXISTING);
    Thread.sleep(500);

    assertThat(servedFingerprint(first, expired)).isEqualTo(first.fingerprint());
    server.close();
    server = null;
    assertThatThrownBy(this::start)
        .isInstanceOf(EvergreenException.class)
        // keytool reads the start date in the local time zone.
        .hasMessageStartingWith(
            "the TLS certificate in " + certificate + " is valid from 2020-01-01T")
        .hasMessageEndingWith("; pass a current certificate, or check this machine's clock");
  }

  @Test
  void unreadableFilesAreNamed() throws Exception {
    Files.delete(key);
    assertThatThrownBy(this::start)
        .isInstanceOf(EvergreenException.class)
        .hasMessageStartingWith("cannot read the TLS key file " + key + ": ")
        .hasMessageEndingWith("; check the path and that this process may read it");

    Files.copy(first.key(), key);
    Files.writeString(certificate, "not a certificate\n");
    assertThatThrownBy(this::start)
        .isInstanceOf(EvergreenException.class)
        .hasMessage(
            "the TLS certificate file "
                + certificate
                + " has no PEM certificate (a line -----BEGIN CERTIFICATE-----); convert a DER file"
                + " with openssl x509 -inform der -in FILE -out tls.crt");
    Files.copy(first.certificate(), certificate, StandardCopyOption.REPLACE_EXISTING);
    Files.writeString(key, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    assertThatThrownBy(this::start)
        .isInstanceOf(EvergreenException.class)
        .hasMessageStartingWith("cannot use the TLS key file " + key + " with " + certificate);
  }
}
