package dev.evergreen.cli;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.EvergreenSettings;
import dev.evergreen.store.fs.FileArtifactStore;
import dev.evergreen.store.sqlite.SqliteMetadataStore;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;

/**
 * An Evergreen data directory: metadata in {@code metadata.db} (SQLite), artifacts under {@code
 * artifacts/}. This is the one place that picks the store implementations.
 */
final class Home {
  static final String METADATA_FILE = "metadata.db";
  static final String ENV_HOME = "EVERGREEN_HOME";
  static final String ENV_PSEUDONYM_KEY = "EVERGREEN_PSEUDONYM_KEY";

  /** Shortest pseudonym key accepted, in bytes of its UTF-8 text. */
  static final int MIN_KEY_BYTES = 32;

  static final String DEFAULT_HOME = ".evergreen";

  private Home() {}

  /** Returns the home folder: the flag if given, else {@code $EVERGREEN_HOME}, else the default. */
  static Path resolve(Path flag) {
    if (flag != null) {
      return flag;
    }
    String env = System.getenv(ENV_HOME);
    return Path.of(env == null || env.isBlank() ? DEFAULT_HOME : env);
  }

  /**
   * Opens an existing data directory, for commands that read it or change data that must already
   * exist. Unlike {@link #open}, it creates nothing, so a mistyped {@code --home} fails instead of
   * reading a new, empty directory.
   *
   * @throws EvergreenException NOT_FOUND when {@code home} has no {@value #METADATA_FILE}
   */
  static Evergreen openExisting(Path home, MeterRegistry meters) throws IOException {
    requireExisting(home);
    return open(home, meters);
  }

  /**
   * Throws NOT_FOUND, naming the directory and the next step, unless it contains a metadata file.
   */
  static void requireExisting(Path home) {
    if (Files.isRegularFile(home.resolve(METADATA_FILE))) {
      return;
    }
    String problem =
        Files.isDirectory(home) ? " has no metadata database " + METADATA_FILE : " does not exist";
    throw EvergreenException.notFound(
        "data directory "
            + home.toAbsolutePath()
            + problem
            + "; pass --home (or set "
            + ENV_HOME
            + ") with an existing data directory, or create one with `evergreen run` or"
            + " `evergreen server`");
  }

  /** Opens a data directory, creating it and its metadata database when they do not exist. */
  static Evergreen open(Path home, MeterRegistry meters) throws IOException {
    Files.createDirectories(home);
    SqliteMetadataStore store = SqliteMetadataStore.open(home.resolve(METADATA_FILE));
    FileArtifactStore artifacts = FileArtifactStore.open(home.resolve("artifacts"));
    EvergreenSettings settings = EvergreenSettings.defaults();
    String key = System.getenv(ENV_PSEUDONYM_KEY);
    if (key != null && !key.isEmpty()) {
      byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
      // 32 bytes match the output size of SHA-256, the key length RFC 2104 recommends for HMAC.
      if (bytes.length < MIN_KEY_BYTES) {
        throw EvergreenException.invalid(
            ENV_PSEUDONYM_KEY
                + " is "
                + bytes.length
                + " bytes long, but a pseudonym key needs at least "
                + MIN_KEY_BYTES
                + " random bytes; generate one with `openssl rand -hex 32`");
      }
      settings = settings.withPseudonymKey(bytes);
    }
    return new Evergreen(store, artifacts, meters, Clock.systemUTC(), settings);
  }
}
