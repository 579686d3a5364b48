package dev.evergreen.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.server.grpc.ModelInferRequest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class GrpcInferLoadTest {
  private static final String BODY =
      "{\"inputs\":[{\"name\":\"date\",\"shape\":[2],\"datatype\":\"BYTES\","
          + "\"data\":[\"2001-03-01T00:00:00\",\"2001-03-01T00:01:00\"]},"
          + "{\"name\":\"distance\",\"shape\":[2],\"datatype\":\"FP64\",\"data\":[2419.0,584.0]}]}";

  @Test
  void requestCopiesTensorsFromJsonBody() throws Exception {
    ModelInferRequest request =
        GrpcInferLoad.request("flights-delay", BODY.getBytes(StandardCharsets.UTF_8));

    assertThat(request.getModelName()).isEqualTo("flights-delay");
    assertThat(request.getInputsCount()).isEqualTo(2);
    ModelInferRequest.InferInputTensor date = request.getInputs(0);
    assertThat(date.getName()).isEqualTo("date");
    assertThat(date.getDatatype()).isEqualTo("BYTES");
    assertThat(date.getShapeList()).containsExactly(2L);
    assertThat(date.getContents().getBytesContentsList())
        .extracting(bytes -> bytes.toStringUtf8())
        .containsExactly("2001-03-01T00:00:00", "2001-03-01T00:01:00");
    ModelInferRequest.InferInputTensor distance = request.getInputs(1);
    assertThat(distance.getDatatype()).isEqualTo("FP64");
    assertThat(distance.getContents().getFp64ContentsList()).isEqualTo(List.of(2419.0, 584.0));
  }

  @Test
  void requestRejectsUnsupportedDatatype() {
    byte[] body =
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"INT8\",\"data\":[1]}]}"
            .getBytes(StandardCharsets.UTF_8);

    assertThatThrownBy(() -> GrpcInferLoad.request("m", body))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("INT8");
  }

  @Test
  void requestRejectsBodyWithoutInputs() {
    assertThatThrownBy(() -> GrpcInferLoad.request("m", "{}".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no inputs");
  }
}
