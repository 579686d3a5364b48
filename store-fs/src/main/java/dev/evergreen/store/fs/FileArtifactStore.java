package dev.evergreen.store.fs;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.store.ArtifactStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Locale;
import java.util.UUID;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ArtifactStore} in a local folder. Content with SHA-256 {@code h} is stored at {@code
 * root/sha256/<first two hex digits of h>/h} under the key {@code sha256/h}.
 *
 * <p>A put streams into {@code root/tmp/}, syncs the file to disk, and renames it to its final path
 * with an atomic move, so a key is visible only with its complete content. After a crash only files
 * in {@code root/tmp/} can be left behind; {@link #open} deletes those older than {@link
 * #STALE_TEMP_AGE}. Several processes may use the same root at once.
 */
public final class FileArtifactStore implements ArtifactStore {
  private static final Logger log = LoggerFactory.getLogger(FileArtifactStore.class);

  /**
   * Age after which a temporary file counts as left over by a crashed put. A put in progress keeps
   * its file's modification time current, so only a put that wrote nothing for this long loses it.
   */
  public static final Duration STALE_TEMP_AGE = Duration.ofHours(1);

  private static final String KEY_PREFIX = "sha256/";
  private static final Pattern KEY = Pattern.compile("sha256/[0-9a-f]{64}");
  private static final int BUFFER_BYTES = 64 * 1024;

  // NOTE: Java cannot open a directory as a FileChannel on Windows, so there the rename of a new
  // key is not synced and may be lost in a power failure right after put returns.
  private static final boolean SYNC_DIRECTORIES =
      !System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");

  private final Path root;
  private final Path objects;
  private final Path temp;

  private FileArtifactStore(Path root) {
    this.root = root;
    this.objects = root.resolve("sha256");
    this.temp = root.resolve("tmp");
  }

  /**
   * Opens the store at {@code root}, creating its folders when missing, and deletes temporary files
   * older than {@link #STALE_TEMP_AGE}.
   */
  public static FileArtifactStore open(Path root) {
    FileArtifactStore store = new FileArtifactStore(root.toAbsolutePath().normalize());
    try {
      Files.createDirectories(store.objects);
      Files.createDirectories(store.temp);
      store.deleteStaleTempFiles(Instant.now().minus(STALE_TEMP_AGE));
    } catch (IOException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "cannot open artifact store " + store.root + ": " + e + "; check that it is writable",
          e);
    }
    return store;
  }

  public Path root() {
    return root;
  }

  @Override
  public String put(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return put(in);
    }
  }

  @Override
  public String put(byte[] bytes) throws IOException {
    // Hashing bytes in memory first means content that is already stored is not written again.
    String hex = HexFormat.of().formatHex(sha256().digest(bytes));
    if (Files.isRegularFile(pathOf(hex))) {
      return KEY_PREFIX + hex;
    }
    return put(new ByteArrayInputStream(bytes));
  }

  private String put(InputStream in) throws IOException {
    Path tempFile = temp.resolve(UUID.randomUUID() + ".tmp");
    boolean moved = false;
    try {
      String hex = copyAndHash(in, tempFile);
      String key = KEY_PREFIX + hex;
      Path target = pathOf(hex);
      if (Files.exists(target)) {
        return key;
      }
      Path folder = target.getParent();
      if (!Files.isDirectory(folder)) {
        Files.createDirectories(folder);
        syncDirectory(objects);
      }
      try {
        // On POSIX systems rename replaces an existing target atomically. Two puts of the same
        // content can race here, and then the second replaces identical bytes.
        Files.move(tempFile, target, StandardCopyOption.ATOMIC_MOVE);
        moved = true;
      } catch (FileAlreadyExistsException e) {
        return key;
      }
      syncDirectory(folder);
      log.debug("stored artifact {} in {}", key, root);
      return key;
    } finally {
      if (!moved) {
        Files.deleteIfExists(tempFile);
      }
    }
  }

  /**
   * Copies a stream into a new file, syncs it to disk, and returns the hex SHA-256 of the bytes.
   */
  private static String copyAndHash(InputStream in, Path file) throws IOException {
    MessageDigest digest = sha256();
    byte[] buffer = new byte[BUFFER_BYTES];
    try (FileChannel channel =
        FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      int read;
      while ((read = in.read(buffer)) != -1) {
        digest.update(buffer, 0, read);
        ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, read);
        while (chunk.hasRemaining()) {
          channel.write(chunk);
        }
      }
      channel.force(true);
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  @Override
  public boolean exists(String key) {
    return Files.isRegularFile(pathOf(hexOf(key)));
  }

  @Override
  public InputStream open(String key) throws IOException {
    Path path = pathOf(hexOf(key));
    try {
      return Files.newInputStream(path);
    } catch (NoSuchFileException e) {
      throw notFound(key);
    }
  }

  @Override
  public byte[] read(String key) throws IOException {
    Path path = pathOf(hexOf(key));
    try {
      return Files.readAllBytes(path);
    } catch (NoSuchFileException e) {
      throw notFound(key);
    }
  }

  @Override
  public Path localPath(String key) throws IOException {
    Path path = pathOf(hexOf(key));
    if (!Files.isRegularFile(path)) {
      throw notFound(key);
    }
    return path;
  }

  /** Returns the 64 hex digits of a valid key; rejects anything else with INVALID_INPUT. */
  private static String hexOf(String key) {
    if (key == null || !KEY.matcher(key).matches()) {
      throw new EvergreenException(
          ErrorKind.INVALID_INPUT,
          "invalid artifact key '"
              + key
              + "': expected 'sha256/' followed by 64 lowercase hex digits, as returned by put");
    }
    return key.substring(KEY_PREFIX.length());
  }

  private Path pathOf(String hex) {
    return objects.resolve(hex.substring(0, 2)).resolve(hex);
  }

  private NoSuchFileException notFound(String key) {
    return new NoSuchFileException(key, null, "artifact not found in store " + root);
  }

  private void deleteStaleTempFiles(Instant cutoff) throws IOException {
    try (DirectoryStream<Path> files = Files.newDirectoryStream(temp)) {
      for (Path file : files) {
        try {
          if (Files.getLastModifiedTime(file).toInstant().isBefore(cutoff)) {
            Files.deleteIfExists(file);
            log.info("deleted temporary file {} left by an interrupted put", file);
          }
        } catch (NoSuchFileException e) {
          // Another process finished or removed it meanwhile.
        }
      }
    }
  }

  private static void syncDirectory(Path directory) throws IOException {
    if (!SYNC_DIRECTORIES) {
      return;
    }
    try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
      channel.force(true);
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
