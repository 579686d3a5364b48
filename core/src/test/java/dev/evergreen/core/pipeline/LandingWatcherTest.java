package dev.evergreen.core.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LandingWatcherTest {
  @TempDir Path work;

  @Test
  void moveKeepsEarlierFilesOfSameName() throws Exception {
    Path landing = Files.createDirectories(work.resolve("landing"));
    Path processed = Files.createDirectories(landing.resolve(LandingWatcher.PROCESSED));
    Files.writeString(processed.resolve("batch.parquet"), "first");
    Files.writeString(processed.resolve("batch-1.parquet"), "second");
    Path third = Files.writeString(landing.resolve("batch.parquet"), "third");

    Path moved = LandingWatcher.moveWithoutReplacing(third, processed);

    assertThat(moved).isEqualTo(processed.resolve("batch-2.parquet"));
    assertThat(third).doesNotExist();
    assertThat(Files.readString(moved)).isEqualTo("third");
    assertThat(Files.readString(processed.resolve("batch.parquet"))).isEqualTo("first");
    assertThat(Files.readString(processed.resolve("batch-1.parquet"))).isEqualTo("second");
  }

  @Test
  void moveKeepsFreeNameUnchanged() throws Exception {
    Path processed = Files.createDirectories(work.resolve(LandingWatcher.PROCESSED));
    Path file = Files.writeString(work.resolve("2001-02.csv"), "rows");

    Path moved = LandingWatcher.moveWithoutReplacing(file, processed);

    assertThat(moved).isEqualTo(processed.resolve("2001-02.csv"));
    assertThat(Files.readString(moved)).isEqualTo("rows");
  }

  @Test
  void moveSuffixesNameWithoutExtension() throws Exception {
    Path processed = Files.createDirectories(work.resolve(LandingWatcher.PROCESSED));
    Files.writeString(processed.resolve("batch"), "first");
    Path file = Files.writeString(work.resolve("batch"), "second");

    Path moved = LandingWatcher.moveWithoutReplacing(file, processed);

    assertThat(moved).isEqualTo(processed.resolve("batch-1"));
    assertThat(Files.readString(processed.resolve("batch"))).isEqualTo("first");
    assertThat(Files.readString(moved)).isEqualTo("second");
  }
}
