package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.server.TlsFiles;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server command's TLS options, each file falling back to its environment variable. */
class ServerTlsOptionsTest {
  @TempDir Path home;

  @Test
  void certificateWithoutKeyIsRefusedBeforeStart() {
    StringWriter err = new StringWriter();
    picocli.CommandLine line = Main.commandLine();
    line.setErr(new PrintWriter(err, true));

    int exit =
        line.execute(
            "server", "--home", home.toString(), "--port", "0", "--tls-cert", "/etc/tls/tls.crt");

    assertThat(exit).isNotZero();
    assertThat(err.toString())
        .contains(
            "--tls-cert /etc/tls/tls.crt was given without --tls-key; TLS needs both the"
                + " certificate chain and its private key (or EVERGREEN_TLS_CERT and"
                + " EVERGREEN_TLS_KEY)");
  }

  @Test
  void optionOverridesEnvironmentVariable() {
    Path option = Path.of("/opt/a.crt");
    Path environment = Path.of("/env/b.crt");
    Path key = Path.of("/env/b.key");

    TlsFiles tls = ServerCommand.tls(option, environment, null, key);

    assertThat(tls.certificate()).isEqualTo(option);
    assertThat(tls.key()).isEqualTo(key);
    assertThat(ServerCommand.tls(null, null, null, null)).isNull();
  }
}
