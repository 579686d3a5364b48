package dev.evergreen.server;

import dev.evergreen.core.Evergreen;
import dev.evergreen.core.EvergreenSettings;
import dev.evergreen.store.fs.FileArtifactStore;
import dev.evergreen.store.sqlite.SqliteMetadataStore;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Clock;

/** Evergreen instances of the server tests, each over a home folder that a test owns. */
public final class TestHomes {
  private TestHomes() {}

  /**
   * Opens the SQLite database {@code evergreen.db} and the artifact folder {@code artifacts} in
   * {@code dir}, creating them when absent, with one training thread and the system clock.
   */
  public static Evergreen open(Path dir, MeterRegistry meters) {
    return new Evergreen(
        SqliteMetadataStore.open(dir.resolve("evergreen.db")),
        FileArtifactStore.open(dir.resolve("artifacts")),
        meters,
        Clock.systemUTC(),
        EvergreenSettings.defaults().withThreads(1));
  }
}
