package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.evergreen.api.EvergreenException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Decodes base64 request fields with {@link Base64Field} and checks what it accepts. */
class Base64FieldTest {
  private static final String REMEDY = "send standard base64";

  private static byte[] decode(String value) {
    return Base64Field.decode(value, "file", REMEDY);
  }

  private static String rejection(String value) {
    return catchThrowableOfType(EvergreenException.class, () -> decode(value)).getMessage();
  }

  @Test
  void everyLengthRoundTrips() {
    Random random = new Random(7);
    for (int length = 0; length < 40; length++) {
      byte[] bytes = new byte[length + 1];
      random.nextBytes(bytes);
      String padded = Base64.getEncoder().encodeToString(bytes);
      String unpadded = Base64.getEncoder().withoutPadding().encodeToString(bytes);

      assertThat(decode(padded)).as(padded).isEqualTo(bytes);
      assertThat(decode(unpadded)).as(unpadded).isEqualTo(bytes);
    }
  }

  @Test
  void whiteSpaceIsSkipped() {
    byte[] bytes = "the model file, long enough to wrap".repeat(5).getBytes(StandardCharsets.UTF_8);
    String wrapped = Base64.getMimeEncoder().encodeToString(bytes);

    assertThat(wrapped).contains("\r\n");
    assertThat(decode(" " + wrapped + "\n\t")).isEqualTo(bytes);
  }

  @Test
  void badCharacterIndexCountsWhiteSpace() {
    assertThat(rejection("QUJD\nQU*D"))
        .isEqualTo(
            "request field 'file' is not valid base64: the character '*' at index 7 is not in the"
                + " base64 alphabet of A-Z, a-z, 0-9, '+' and '/', with '=' padding; "
                + REMEDY);
  }

  @Test
  void controlCharacterIsShownAsCodePoint() {
    assertThat(rejection("QU\u0000D")).contains("the character U+0000 at index 2");
  }

  @Test
  void characterOutsideBmpIsShownAsCodePoint() {
    assertThat(rejection("QUJD\uD83D\uDE00")).contains("the character U+1F600 at index 4");
  }

  @Test
  void urlSafeUnderscoreIsNamed() {
    assertThat(rejection("ab_c"))
        .contains("the character '_' at index 2 belongs to the URL-safe base64 alphabet")
        .contains("'/' in place of '_'");
  }

  @Test
  void whiteSpaceOnlyIsRejected() {
    assertThat(rejection(" \r\n ")).contains("it contains only white space");
  }

  @Test
  void paddingThenWhiteSpaceIsAccepted() {
    assertThat(decode("QUI=\n")).isEqualTo("AB".getBytes(StandardCharsets.UTF_8));
  }
}
