package dev.evergreen.core;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the data files committed under {@code data/} at the repository root. */
public final class TestData {
  private TestData() {}

  /** Returns the repository root, found by walking up from the working directory. */
  public static Path repositoryRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null) {
      if (Files.isDirectory(dir.resolve("data/flights")) && Files.exists(dir.resolve("pom.xml"))) {
        return dir;
      }
      dir = dir.getParent();
    }
    throw new IllegalStateException(
        "cannot find the repository root (a folder with pom.xml and data/flights) above "
            + Path.of("").toAbsolutePath());
  }

  /** Returns the 3-million-row flight file. */
  public static Path flights() {
    return repositoryRoot().resolve("data/flights/flights-3m.parquet");
  }
}
