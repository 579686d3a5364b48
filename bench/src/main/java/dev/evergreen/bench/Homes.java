package dev.evergreen.bench;

import dev.evergreen.core.Evergreen;
import dev.evergreen.core.EvergreenSettings;
import dev.evergreen.store.fs.FileArtifactStore;
import dev.evergreen.store.sqlite.SqliteMetadataStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.stream.Stream;

/** Evergreen instances on benchmark homes: a SQLite database and an artifact folder. */
final class Homes {
  private Homes() {}

  /** Opens an instance on {@code home} with 2 threads, as the benchmarks measure it. */
  static Evergreen open(Path home) {
    return new Evergreen(
        SqliteMetadataStore.open(home.resolve("evergreen.db")),
        FileArtifactStore.open(home.resolve("artifacts")),
        new SimpleMeterRegistry(),
        Clock.systemUTC(),
        EvergreenSettings.defaults().withThreads(2));
  }

  /** Deletes a folder and everything in it; a missing folder is fine. */
  static void delete(Path folder) {
    if (!Files.exists(folder)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(folder)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete benchmark folder " + folder, e);
    }
  }
}
