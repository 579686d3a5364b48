package dev.evergreen.server;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Self-signed certificates for 127.0.0.1 and localhost, made by the JDK's keytool and written as
 * the PEM files a server is given: the certificate, and the private key as PKCS#8.
 *
 * @param certificate the PEM certificate file
 * @param key the PEM private key file
 * @param x509 the certificate, for trust stores and fingerprints
 */
record TestCertificates(Path certificate, Path key, X509Certificate x509) {
  private static final char[] PASSWORD = "test-only".toCharArray();

  /**
   * Creates a certificate with a new key of {@code algorithm} (EC or RSA) under {@code dir}, in
   * files named after {@code name}.
   */
  static TestCertificates create(Path dir, String name, String algorithm)
      throws IOException, InterruptedException, GeneralSecurityException {
    return create(dir, name, algorithm, null);
  }

  /**
   * Creates a certificate as above, valid for two days from {@code startDate} in keytool's format
   * ({@code 2020/01/01 00:00:00}), or from now when it is null.
   */
  static TestCertificates create(Path dir, String name, String algorithm, String startDate)
      throws IOException, InterruptedException, GeneralSecurityException {
    Path store = dir.resolve(name + ".p12");
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    List<String> command = new ArrayList<>();
    if (startDate != null) {
      command.addAll(List.of("-startdate", startDate));
    }
    command.addAll(
        0,
        List.of(
            keytool.toString(),
            "-genkeypair",
            "-alias",
            "server",
            "-keyalg",
            algorithm,
            "-keysize",
            algorithm.equals("RSA") ? "2048" : "256",
            "-dname",
            "CN=" + name,
            "-ext",
            "SAN=ip:127.0.0.1,dns:localhost",
            "-validity",
            "2",
            "-storetype",
            "PKCS12",
            "-keystore",
            store.toString(),
            "-storepass",
            new String(PASSWORD)));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IOException("keytool failed: " + output);
    }
    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(store)) {
      keys.load(in, PASSWORD);
    }
    X509Certificate x509 = (X509Certificate) keys.getCertificate("server");
    Path certificate = dir.resolve(name + ".crt");
    Path key = dir.resolve(name + ".key");
    Files.writeString(certificate, pem("CERTIFICATE", x509.getEncoded()));
    Files.writeString(key, pem("PRIVATE KEY", keys.getKey("server", PASSWORD).getEncoded()));
    return new TestCertificates(certificate, key, x509);
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }

  /** Returns the certificate's SHA-256 fingerprint as the server logs it. */
  String fingerprint() throws GeneralSecurityException {
    return HexFormat.of()
        .withUpperCase()
        .formatHex(MessageDigest.getInstance("SHA-256").digest(x509.getEncoded()));
  }

  /** Returns a TLS context that trusts exactly the given certificates. */
  static SSLContext trusting(TestCertificates... certificates)
      throws IOException, GeneralSecurityException {
    KeyStore trusted = KeyStore.getInstance("PKCS12");
    trusted.load(null, null);
    for (int i = 0; i < certificates.length; i++) {
      trusted.setCertificateEntry("trusted-" + i, certificates[i].x509());
    }
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trusted);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, factory.getTrustManagers(), null);
    return context;
  }
}
