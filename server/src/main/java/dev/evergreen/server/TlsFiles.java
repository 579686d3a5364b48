package dev.evergreen.server;

import dev.evergreen.api.EvergreenException;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.HexFormat;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.X509KeyManager;

/**
 * The PEM files that both ports serve TLS with: a certificate chain, the server's certificate
 * first, and its private key (PKCS#8, or PKCS#1 for RSA). The server reads them when it starts and
 * reads them again every {@code checkEvery}, so that a renewed certificate, as cert-manager writes
 * into a Kubernetes secret, takes effect without a restart.
 *
 * @param certificate the certificate chain file
 * @param key the private key file, which must belong to the chain's first certificate
 * @param checkEvery how often to look for new file contents
 */
public record TlsFiles(Path certificate, Path key, Duration checkEvery) {
  /** Default interval between two reads of the files: one minute. */
  public static final Duration DEFAULT_CHECK = Duration.ofMinutes(1);

  public TlsFiles {
    if (certificate == null || key == null) {
      throw EvergreenException.invalid(
          "TLS needs both a certificate file and a key file; pass --tls-cert and --tls-key");
    }
    certificate = certificate.toAbsolutePath().normalize();
    key = key.toAbsolutePath().normalize();
    if (checkEvery == null || checkEvery.isNegative() || checkEvery.isZero()) {
      checkEvery = DEFAULT_CHECK;
    }
  }

  public TlsFiles(Path certificate, Path key) {
    this(certificate, key, DEFAULT_CHECK);
  }

  /**
   * The checked contents of the files.
   *
   * @param fingerprint SHA-256 of the server's certificate, hex, as {@code openssl x509
   *     -fingerprint -sha256} prints it without colons
   */
  record Loaded(byte[] certificate, byte[] key, String fingerprint, X509Certificate leaf) {
    /** Returns whether the files held these same bytes. */
    boolean sameBytes(byte[] otherCertificate, byte[] otherKey) {
      return Arrays.equals(certificate, otherCertificate) && Arrays.equals(key, otherKey);
    }

    /** Returns the Vert.x options that serve these contents. */
    PemKeyCertOptions options() {
      return new PemKeyCertOptions()
          .setCertValue(Buffer.buffer(certificate))
          .setKeyValue(Buffer.buffer(key));
    }
  }

  /** Reads both files' bytes: the certificate chain first, then the key. */
  byte[][] read() {
    return new byte[][] {readFile(certificate, "certificate"), readFile(key, "key")};
  }

  private static byte[] readFile(Path file, String kind) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw EvergreenException.invalid(
          "cannot read the TLS "
              + kind
              + " file "
              + file
              + ": "
              + e
              + "; check the path and that this process may read it");
    }
  }

  /**
   * Reads and checks the files: both parse, and the key signs what the first certificate's public
   * key verifies.
   *
   * @throws EvergreenException INVALID_INPUT naming the file and the problem
   */
  Loaded load(Vertx vertx) {
    byte[][] bytes = read();
    return check(vertx, bytes[0], bytes[1]);
  }

  /** Checks contents read from the files, as {@link #load}. */
  Loaded check(Vertx vertx, byte[] certificateBytes, byte[] keyBytes) {
    X509Certificate leaf = leafCertificate(certificateBytes);
    requireCurrent(leaf);
    String keyText = new String(keyBytes, StandardCharsets.US_ASCII);
    if (keyText.contains("ENCRYPTED")) {
      throw EvergreenException.invalid(
          "the TLS key file "
              + key
              + " is encrypted, and encrypted keys are not supported; write it unencrypted, for"
              + " example with openssl pkey -in "
              + key
              + " -out tls.key, and keep that file readable only by this process");
    }
    KeyManagerFactory factory;
    try {
      factory =
          new PemKeyCertOptions()
              .setCertValue(Buffer.buffer(certificateBytes))
              .setKeyValue(Buffer.buffer(keyBytes))
              .getKeyManagerFactory(vertx);
    } catch (Exception e) {
      throw EvergreenException.invalid(
          "cannot use the TLS key file "
              + key
              + " with "
              + certificate
              + ": "
              + e.getMessage()
              + "; pass the PEM private key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY) of the"
              + " certificate");
    }
    PrivateKey privateKey = privateKey(factory);
    if (privateKey == null) {
      throw EvergreenException.invalid(
          "the TLS key file " + key + " has no private key; pass the PEM private key");
    }
    requireMatch(privateKey, leaf.getPublicKey());
    return new Loaded(certificateBytes.clone(), keyBytes.clone(), fingerprint(leaf), leaf);
  }

  /**
   * Refuses a certificate outside its validity period, which every client would refuse: at start,
   * and on a reload, where the previous certificate then stays.
   */
  private void requireCurrent(X509Certificate leaf) {
    try {
      leaf.checkValidity();
    } catch (CertificateExpiredException | CertificateNotYetValidException e) {
      throw EvergreenException.invalid(
          "the TLS certificate in "
              + certificate
              + " is valid from "
              + leaf.getNotBefore().toInstant()
              + " to "
              + leaf.getNotAfter().toInstant()
              + ", which excludes now ("
              + java.time.Instant.now()
              + "); pass a current certificate, or check this machine's clock");
    }
  }

  private X509Certificate leafCertificate(byte[] bytes) {
    if (!new String(bytes, StandardCharsets.US_ASCII).contains("-----BEGIN CERTIFICATE-----")) {
      throw EvergreenException.invalid(
          "the TLS certificate file "
              + certificate
              + " has no PEM certificate (a line -----BEGIN CERTIFICATE-----); convert a DER file"
              + " with openssl x509 -inform der -in FILE -out tls.crt");
    }
    Collection<? extends Certificate> chain;
    try {
      chain =
          CertificateFactory.getInstance("X.509")
              .generateCertificates(new ByteArrayInputStream(bytes));
    } catch (GeneralSecurityException e) {
      throw EvergreenException.invalid(
          "the TLS certificate file "
              + certificate
              + " is not a PEM certificate chain: "
              + e.getMessage()
              + "; pass the server's certificate, then its intermediates, each as BEGIN"
              + " CERTIFICATE");
    }
    if (chain.isEmpty() || !(chain.iterator().next() instanceof X509Certificate leaf)) {
      throw EvergreenException.invalid(
          "the TLS certificate file "
              + certificate
              + " holds no X.509 certificate; pass the server's certificate as BEGIN CERTIFICATE");
    }
    return leaf;
  }

  private static PrivateKey privateKey(KeyManagerFactory factory) {
    for (KeyManager manager : factory.getKeyManagers()) {
      if (manager instanceof X509KeyManager x509) {
        for (String type : new String[] {"RSA", "EC", "EdDSA", "Ed25519", "RSASSA-PSS"}) {
          String[] aliases = x509.getServerAliases(type, null);
          if (aliases != null) {
            for (String alias : aliases) {
              PrivateKey found = x509.getPrivateKey(alias);
              if (found != null) {
                return found;
              }
            }
          }
        }
      }
    }
    return null;
  }

  /**
   * Signs random bytes with the key and verifies them with the certificate's public key, so that a
   * key of another certificate, as after a renewal that replaced only one file, fails here rather
   * than in every client's handshake.
   */
  private void requireMatch(PrivateKey privateKey, PublicKey publicKey) {
    String algorithm =
        switch (privateKey.getAlgorithm()) {
          case "RSA" -> "SHA256withRSA";
          case "EC" -> "SHA256withECDSA";
          case "EdDSA", "Ed25519" -> "Ed25519";
          default -> null;
        };
    if (algorithm == null) {
      // Other key types are left to the handshake.
      return;
    }
    byte[] probe = new byte[32];
    new SecureRandom().nextBytes(probe);
    boolean matches;
    try {
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(privateKey);
      signer.update(probe);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      verifier.update(probe);
      matches = verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      matches = false;
    }
    if (!matches) {
      throw EvergreenException.invalid(
          "the TLS key file "
              + key
              + " does not belong to the first certificate in "
              + certificate
              + "; pass the key that was issued with that certificate");
    }
  }

  private static String fingerprint(X509Certificate certificate) {
    try {
      return HexFormat.of()
          .withUpperCase()
          .formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }
}
