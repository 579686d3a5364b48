package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class FormatsTest {
  @Test
  void serverErrorShowsMessageAndStatus() {
    assertThat(
            Formats.serverError(
                409, "{\"error\":\"model 'delays' has no canary version running\"}"))
        .isEqualTo("error: model 'delays' has no canary version running (HTTP 409)");
  }

  @Test
  void serverErrorShowsBodyThatIsNotJson() {
    assertThat(Formats.serverError(502, "<html>Bad Gateway</html>"))
        .isEqualTo("error: <html>Bad Gateway</html> (HTTP 502)");
  }

  @Test
  void serverErrorShowsJsonWithoutErrorField() {
    assertThat(Formats.serverError(500, "{\"message\":\"boom\"}"))
        .isEqualTo("error: {\"message\":\"boom\"} (HTTP 500)");
  }
}
