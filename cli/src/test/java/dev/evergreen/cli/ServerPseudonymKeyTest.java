package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.Evergreen;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server whose pipeline tags a direct identifier does not start without a pseudonym key, so no
 * landing file is read and failed for want of it.
 */
class ServerPseudonymKeyTest {
  private static final String SECRET = "evg_pseudonym_key_test_admin_secret";

  @TempDir Path work;

  @Test
  void missingKeyStopsServerStart() throws Exception {
    assertThat(System.getenv(Home.ENV_PSEUDONYM_KEY)).as("test needs the key unset").isNull();
    Path home = work.resolve("home");
    Path plain = FlightBatches.pipeline(work.resolve("plain"), 10);
    Path pii = piiPipeline(plain);
    Path landing = Files.createDirectories(pii.resolveSibling("landing"));
    Path batch =
        Files.copy(
            FlightBatches.month(work.resolve("batches"), 1, 1_000, null),
            landing.resolve("2001-01.parquet"));

    assertThatThrownBy(
            () ->
                ServerRuntime.start(
                    home, "127.0.0.1", 0, List.of(plain, pii), SECRET, Duration.ofMillis(50)))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("pipeline 'flights-pii' from " + pii.toAbsolutePath())
        .hasMessageContaining("column 'passenger' is tagged direct_identifier")
        .hasMessageContaining("Set the environment variable " + Home.ENV_PSEUDONYM_KEY)
        .hasMessageContaining("start the server again")
        .hasMessageNotContaining("flights-delay");

    assertThat(batch).exists();
    try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
      assertThat(evergreen.store().listRuns(null, 10)).isEmpty();
      assertThat(evergreen.tokens().list()).as("no admin token created").isEmpty();
    }
    // The failed start released the home, and a pipeline without direct identifiers starts.
    try (ServerRuntime server =
        ServerRuntime.start(home, "127.0.0.1", 0, List.of(plain), SECRET, Duration.ofMillis(50))) {
      assertThat(server.port()).isPositive();
    }
  }

  /** Writes a copy of a pipeline named flights-pii that tags a column direct_identifier. */
  private Path piiPipeline(Path plain) throws Exception {
    Path folder = Files.createDirectories(work.resolve("pii"));
    String text =
        Files.readString(plain)
            .replace("name: flights-delay", "name: flights-pii")
            .replace("data:\n", "data:\n  personalData:\n    passenger: direct_identifier\n");
    return Files.writeString(folder.resolve("pipeline.yaml"), text);
  }
}
