package dev.evergreen.core.testing;

import dev.evergreen.core.store.ArtifactStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Content-addressed {@link ArtifactStore} in a folder, for tests. A key {@code sha256/<hex>} is the
 * file {@code <root>/sha256/<hex>}; a put writes a temporary file in the root and renames it into
 * place, so a key is either absent or complete.
 */
public final class TempDirArtifactStore implements ArtifactStore {
  private static final Pattern KEY = Pattern.compile("sha256/[0-9a-f]{64}");

  private final Path root;

  public TempDirArtifactStore(Path root) throws IOException {
    this.root = Files.createDirectories(root);
    Files.createDirectories(root.resolve("sha256"));
  }

  @Override
  public String put(Path file) throws IOException {
    Path temporary = Files.createTempFile(root, "put-", ".tmp");
    try {
      MessageDigest digest = sha256();
      try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest);
          OutputStream out = Files.newOutputStream(temporary)) {
        in.transferTo(out);
      }
      String key = "sha256/" + HexFormat.of().formatHex(digest.digest());
      Path target = root.resolve(key);
      if (!Files.exists(target)) {
        try {
          Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
      return key;
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  @Override
  public String put(byte[] bytes) throws IOException {
    Path temporary = Files.createTempFile(root, "bytes-", ".tmp");
    try {
      Files.write(temporary, bytes);
      return put(temporary);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  @Override
  public boolean exists(String key) {
    return KEY.matcher(key).matches() && Files.exists(root.resolve(key));
  }

  @Override
  public InputStream open(String key) throws IOException {
    return Files.newInputStream(localPath(key));
  }

  @Override
  public byte[] read(String key) throws IOException {
    return Files.readAllBytes(localPath(key));
  }

  @Override
  public Path localPath(String key) throws IOException {
    if (!KEY.matcher(key).matches()) {
      throw new NoSuchFileException(key, null, "not an artifact key of the form sha256/<hex>");
    }
    Path path = root.resolve(key);
    if (!Files.exists(path)) {
      throw new NoSuchFileException(path.toString());
    }
    return path;
  }

  /** Returns the keys of all stored artifacts, sorted. */
  public List<String> keys() throws IOException {
    try (Stream<Path> files = Files.list(root.resolve("sha256"))) {
      return files.map(p -> "sha256/" + p.getFileName()).sorted().toList();
    }
  }

  /** Returns every file under the root, stored artifacts and leftovers alike. */
  public List<Path> allFiles() throws IOException {
    try (Stream<Path> files = Files.walk(root)) {
      return files.filter(Files::isRegularFile).sorted().toList();
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }
}
