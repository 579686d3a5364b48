package dev.evergreen.cli;

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
  static final String ENV_HOME = "EVERGREEN_HOME";
  static final String ENV_PSEUDONYM_KEY = "EVERGREEN_PSEUDONYM_KEY";
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

  static Evergreen open(Path home, MeterRegistry meters) throws IOException {
    Files.createDirectories(home);
    SqliteMetadataStore store = SqliteMetadataStore.open(home.resolve("metadata.db"));
    FileArtifactStore artifacts = FileArtifactStore.open(home.resolve("artifacts"));
    EvergreenSettings settings = EvergreenSettings.defaults();
    String key = System.getenv(ENV_PSEUDONYM_KEY);
    if (key != null && !key.isEmpty()) {
      settings = settings.withPseudonymKey(key.getBytes(StandardCharsets.UTF_8));
    }
    return new Evergreen(store, artifacts, meters, Clock.systemUTC(), settings);
  }
}
