package dev.evergreen.core.testing;

import dev.evergreen.core.Evergreen;
import dev.evergreen.core.EvergreenSettings;
import dev.evergreen.core.store.MetadataStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;

/** Evergreen instances of the core tests, over a test's metadata store and folder. */
public final class TestEvergreens {
  private TestEvergreens() {}

  /** Opens an instance over a new in-memory store, with artifacts under {@code work}. */
  public static Evergreen open(Path work) throws IOException {
    return open(new InMemoryMetadataStore(), work, Clock.systemUTC());
  }

  /**
   * Opens an instance over {@code store}, with artifacts in {@code work/artifacts}, one training
   * thread and {@code clock}.
   */
  public static Evergreen open(MetadataStore store, Path work, Clock clock) throws IOException {
    return new Evergreen(
        store,
        new TempDirArtifactStore(work.resolve("artifacts")),
        new SimpleMeterRegistry(),
        clock,
        EvergreenSettings.defaults().withThreads(1));
  }
}
