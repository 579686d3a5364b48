package dev.evergreen.store.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileArtifactStoreTest {
  @TempDir Path root;

  @Test
  void putSameContentTwiceStoresOnce() throws IOException {
    FileArtifactStore store = FileArtifactStore.open(root);
    byte[] content = "hello artifacts".getBytes(StandardCharsets.UTF_8);

    String first = store.put(content);
    String second = store.put(content);

    assertThat(second).isEqualTo(first);
    assertThat(first).isEqualTo("sha256/" + sha256Hex(content));
    assertThat(storedFiles()).hasSize(1);
    assertThat(tempFiles()).isEmpty();
  }

  @Test
  void putFileAndBytesGiveSameKey() throws IOException {
    FileArtifactStore store = FileArtifactStore.open(root.resolve("store"));
    byte[] content = randomBytes(10_000, 7);
    Path file = root.resolve("input.bin");
    Files.write(file, content);

    String fromFile = store.put(file);
    String fromBytes = store.put(content);

    assertThat(fromFile).isEqualTo(fromBytes);
  }

  @Test
  void putPlacesFileUnderHashPrefix() throws IOException {
    FileArtifactStore store = FileArtifactStore.open(root);
    byte[] content = randomBytes(100, 3);
    String hex = sha256Hex(content);

    String key = store.put(content);

    Path expected = root.resolve("sha256").resolve(hex.substring(0, 2)).resolve(hex);
    assertThat(store.localPath(key)).isEqualTo(expected);
    assertThat(Files.readAllBytes(expected)).isEqualTo(content);
  }

  @Test
  void readBackEqualsWrittenContent() throws IOException {
    FileArtifactStore store = FileArtifactStore.open(root);
    byte[] large = randomBytes(1024 * 1024, 42);
    byte[] empty = new byte[0];

    String largeKey = store.put(large);
    String emptyKey = store.put(empty);

    assertThat(store.read(largeKey)).isEqualTo(large);
    try (InputStream in = store.open(largeKey)) {
      assertThat(in.readAllBytes()).isEqualTo(large);
    }
    assertThat(Files.readAllBytes(store.localPath(largeKey))).isEqualTo(large);
    assertThat(store.read(emptyKey)).isEmpty();
    assertThat(emptyKey).isEqualTo("sha256/" + sha256Hex(empty));
    assertThat(store.exists(largeKey)).isTrue();
    assertThat(store.exists(emptyKey)).isTrue();
  }

  @Test
  void concurrentPutsOfSameContentStoreOneFile() throws Exception {
    FileArtifactStore store = FileArtifactStore.open(root);
    byte[] content = randomBytes(256 * 1024, 11);
    int threads = 8;
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService executor = Executors.newFixedThreadPool(threads);
    try {
      List<Future<String>> keys = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        // Odd threads open their own store on the same root, as another process would.
        FileArtifactStore own = i % 2 == 0 ? store : FileArtifactStore.open(root);
        Callable<String> put =
            () -> {
              start.await();
              String last = null;
              for (int round = 0; round < 20; round++) {
                last = own.put(content);
              }
              return last;
            };
        keys.add(executor.submit(put));
      }
      start.countDown();
      for (Future<String> key : keys) {
        assertThat(key.get()).isEqualTo("sha256/" + sha256Hex(content));
      }
    } finally {
      executor.shutdownNow();
    }

    assertThat(storedFiles()).hasSize(1);
    assertThat(tempFiles()).isEmpty();
    assertThat(store.read("sha256/" + sha256Hex(content))).isEqualTo(content);
  }

  @Test
  void leftoverTempFileIsNeverAKey() throws IOException {
    FileArtifactStore.open(root);
    byte[] partial = "half of a model file".getBytes(StandardCharsets.UTF_8);
    Path leftover = root.resolve("tmp").resolve("crashed-put.tmp");
    Files.write(leftover, partial);
    String key = "sha256/" + sha256Hex(partial);

    FileArtifactStore reopened = FileArtifactStore.open(root);

    assertThat(Files.exists(leftover)).as("recent temp file is kept").isTrue();
    assertThat(reopened.exists(key)).isFalse();
    assertThatThrownBy(() -> reopened.read(key)).isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void openDeletesOnlyStaleTempFiles() throws IOException {
    FileArtifactStore.open(root);
    Path stale = root.resolve("tmp").resolve("stale.tmp");
    Path fresh = root.resolve("tmp").resolve("fresh.tmp");
    Files.writeString(stale, "old");
    Files.writeString(fresh, "new");
    Instant twoHoursAgo = Instant.now().minus(Duration.ofHours(2));
    Files.setLastModifiedTime(stale, FileTime.from(twoHoursAgo));

    FileArtifactStore.open(root);

    assertThat(Files.exists(stale)).isFalse();
    assertThat(Files.exists(fresh)).isTrue();
  }

  @Test
  void invalidKeysAreRejected() throws IOException {
    FileArtifactStore store = FileArtifactStore.open(root);
    String hex = sha256Hex(new byte[0]);
    List<String> invalid =
        List.of(
            "../x",
            "sha256/../../etc",
            "sha256/../../etc/passwd",
            "sha256/" + hex.toUpperCase(),
            "sha256/" + hex.substring(0, 63),
            "sha256/" + hex + "0",
            "sha256/" + hex + "/",
            "sha256/" + hex.substring(0, 62) + "zz",
            "md5/" + hex,
            "/sha256/" + hex,
            "SHA256/" + hex,
            hex,
            "");

    for (String key : invalid) {
      assertThatThrownBy(() -> store.exists(key))
          .as("exists(%s)", key)
          .isInstanceOfSatisfying(
              EvergreenException.class,
              e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT))
          .hasMessageContaining("'" + key + "'");
      assertThatThrownBy(() -> store.read(key))
          .as("read(%s)", key)
          .isInstanceOf(EvergreenException.class);
      assertThatThrownBy(() -> store.open(key))
          .as("open(%s)", key)
          .isInstanceOf(EvergreenException.class);
      assertThatThrownBy(() -> store.localPath(key))
          .as("localPath(%s)", key)
          .isInstanceOf(EvergreenException.class);
    }
    assertThatThrownBy(() -> store.read(null)).isInstanceOf(EvergreenException.class);
  }

  @Test
  void missingKeyThrowsNoSuchFileNamingKey() throws IOException {
    FileArtifactStore store = FileArtifactStore.open(root);
    String key = "sha256/" + sha256Hex("never stored".getBytes(StandardCharsets.UTF_8));

    assertThat(store.exists(key)).isFalse();
    assertThatThrownBy(() -> store.open(key))
        .isInstanceOf(NoSuchFileException.class)
        .hasMessageContaining(key);
    assertThatThrownBy(() -> store.read(key))
        .isInstanceOf(NoSuchFileException.class)
        .hasMessageContaining(key);
    assertThatThrownBy(() -> store.localPath(key))
        .isInstanceOf(NoSuchFileException.class)
        .hasMessageContaining(key);
  }

  @Test
  void putOfMissingFileStoresNothing() throws IOException {
    FileArtifactStore store = FileArtifactStore.open(root);

    assertThatThrownBy(() -> store.put(root.resolve("absent.bin")))
        .isInstanceOf(NoSuchFileException.class);
    assertThat(storedFiles()).isEmpty();
    assertThat(tempFiles()).isEmpty();
  }

  private List<Path> storedFiles() throws IOException {
    try (Stream<Path> files = Files.walk(root.resolve("sha256"))) {
      return files.filter(Files::isRegularFile).toList();
    }
  }

  private List<Path> tempFiles() throws IOException {
    try (Stream<Path> files = Files.list(root.resolve("tmp"))) {
      return files.toList();
    }
  }

  private static byte[] randomBytes(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  private static String sha256Hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
