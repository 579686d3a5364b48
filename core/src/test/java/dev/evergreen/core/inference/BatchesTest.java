package dev.evergreen.core.inference;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.core.serving.InputBatch;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BatchesTest {
  private static final long BIG = (1L << 53) + 1;

  @Test
  void concatJoinsRowsOfEveryInput() {
    InputBatch first =
        new InputBatch(
            2, Map.of("x", new double[] {1, 2}), Map.of("code", new String[] {"a", null}));
    InputBatch second =
        new InputBatch(1, Map.of("x", new double[] {3}), Map.of("code", new String[] {"c"}));

    InputBatch joined = Batches.concat(List.of(first, second));

    assertThat(joined.rows()).isEqualTo(3);
    assertThat(joined.numeric().get("x")).containsExactly(1, 2, 3);
    assertThat(joined.text().get("code")).containsExactly("a", null, "c");
    assertThat(joined.integers()).isEmpty();
  }

  @Test
  void concatKeepsExactIntegersAtTheirRows() {
    InputBatch plain = new InputBatch(2, Map.of("id", new double[] {4, 5}), Map.of());
    InputBatch exact =
        new InputBatch(
            1, Map.of("id", new double[] {BIG}), Map.of(), Map.of("id", new long[] {BIG}));

    InputBatch joined = Batches.concat(List.of(plain, exact, plain));

    assertThat(joined.numeric().get("id")).containsExactly(4, 5, BIG, 4, 5);
    // Rows of batches without exact integers hold 0, which counts only where the double is 0.
    assertThat(joined.integers().get("id")).containsExactly(0, 0, BIG, 0, 0);
  }
}
