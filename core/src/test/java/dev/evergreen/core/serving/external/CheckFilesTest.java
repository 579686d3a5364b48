package dev.evergreen.core.serving.external;

import static dev.evergreen.core.serving.external.ExternalFixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.CheckSet;
import org.junit.jupiter.api.Test;

/** Check files of external models read by {@link CheckFiles}. */
class CheckFilesTest {
  private static final ExternalSignature MATRIX =
      ExternalSignature.parse(utf8(ExternalFixtures.XGBOOST_MATRIX_SIGNATURE), "sig.json");

  private static final ExternalSignature TWO_OUTPUTS =
      ExternalSignature.parse(utf8(ExternalFixtures.LOGISTIC_FP32_SIGNATURE), "sig.json");

  private static CheckSet parse(String json, ExternalSignature signature) {
    return CheckFiles.parse(utf8(json), "check.json", signature);
  }

  private static void assertRejected(
      String json, ExternalSignature signature, String... fragments) {
    assertThatThrownBy(() -> parse(json, signature))
        .isInstanceOf(EvergreenException.class)
        .satisfies(
            e -> assertThat(((EvergreenException) e).kind()).isEqualTo(ErrorKind.INVALID_INPUT))
        .hasMessageContainingAll(fragments);
  }

  @Test
  void validFileReadsRowsAndScores() {
    CheckSet check =
        parse(
            "{\"inputs\": {\"features\": [[1, 2, 3, null], [5, 6, 7, 8]]}, \"expected\": [0.25,"
                + " 0.5]}",
            MATRIX);

    assertThat(check.inputs().rows()).isEqualTo(2);
    assertThat(check.expected()).containsExactly(0.25, 0.5);
  }

  @Test
  void unknownTopLevelFieldRejected() {
    assertRejected(
        "{\"inputs\": {\"features\": [[1, 2, 3, 4]]}, \"expected\": [0.5], \"tolerance\": 0.1}",
        MATRIX,
        "check file check.json has the unknown field 'tolerance'",
        "the fields are expected, inputs");
  }

  @Test
  void nullExpectedScoreNamesRow() {
    assertRejected(
        "{\"inputs\": {\"features\": [[1, 2, 3, 4], [5, 6, 7, 8]]}, \"expected\": [0.5, null]}",
        MATRIX,
        "check file check.json: field 'expected[1]' must be the score expected for row 1, not"
            + " null");
  }

  @Test
  void nullInsideExpectedRowNamesRow() {
    assertRejected(
        "{\"inputs\": {\"features\": [[1, 2, 3, 4]]}, \"expected\": [[0.5, null]]}",
        TWO_OUTPUTS,
        "field 'expected[0]' must be the score expected for row 0, not [0.5,null]");
  }
}
