package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.core.Evergreen;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code traffic abort} and {@code shadow-stop} with --home while a server has locked the
 * directory.
 */
class TrafficWithdrawTest {
  @TempDir Path home;

  @Test
  void abortWithHomeOfRunningServerNamesUrl() throws Exception {
    try (Evergreen created = Home.open(home, new SimpleMeterRegistry())) {
      // Only creates the metadata database.
    }
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream err = System.err;
    int abort;
    int stop;
    try (ServerLock server = ServerLock.acquire(home)) {
      System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
      abort = Main.execute("traffic", "abort", "flights", "--home", home.toString());
      stop = Main.execute("traffic", "shadow-stop", "flights", "--home", home.toString());
    } finally {
      System.setErr(err);
    }

    assertThat(abort).isEqualTo(Main.EXIT_FAILED);
    assertThat(stop).isEqualTo(Main.EXIT_FAILED);
    assertThat(captured.toString(StandardCharsets.UTF_8))
        .contains("a server runs on data directory " + home.toAbsolutePath())
        .contains("pass that server's --url in place of --home");
  }
}
