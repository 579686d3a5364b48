package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.EvergreenException;
import org.junit.jupiter.api.Test;

class ServerOptionsTest {
  @Test
  void grpcIsOffByDefault() {
    assertThat(new ServerOptions("127.0.0.1", 0, 1).grpcPort()).isEqualTo(ServerOptions.GRPC_OFF);
  }

  @Test
  void grpcPortOutOfRangeIsRejected() {
    ServerOptions options = new ServerOptions("127.0.0.1", 8080, 1);

    assertThatThrownBy(() -> options.withGrpcPort(-2))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("gRPC port must be between 0 and 65535, or -1");
    assertThatThrownBy(() -> options.withGrpcPort(65_536))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("got 65536");
  }

  @Test
  void grpcPortEqualToHttpPortIsRejected() {
    assertThatThrownBy(() -> new ServerOptions("127.0.0.1", 8080, 1).withGrpcPort(8080))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("gRPC port 8080 is also the HTTP port");
  }
}
