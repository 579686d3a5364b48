package dev.evergreen.core.inference;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.TensorSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * Rejects scores that are not finite numbers before a caller receives them. A model that does not
 * score missing values, such as an ONNX graph exported from scikit-learn without an imputer,
 * returns NaN for a row with a missing value. Such a request fails as INVALID_INPUT, naming the row
 * and its missing inputs. Any other non-finite score is the model's fault and fails as INTERNAL.
 */
final class FiniteScores {
  /** Maximum number of missing inputs that a message names. It counts the rest. */
  private static final int MAX_NAMED_INPUTS = 10;

  private FiniteScores() {}

  /**
   * Returns {@code scores} when every value is finite. Rows are numbered from 0 within {@code
   * batch}, as the request decoders number them.
   *
   * @throws EvergreenException INVALID_INPUT naming the row, its missing inputs, the model and the
   *     version when the first non-finite score belongs to a row with a missing value and the model
   *     does not score missing values; INTERNAL naming the row otherwise
   */
  static double[] requireFinite(ServableModel model, InputBatch batch, double[] scores) {
    for (int i = 0; i < scores.length; i++) {
      if (!Double.isFinite(scores[i])) {
        throw nonFinite(model, batch, scores, i);
      }
    }
    return scores;
  }

  private static EvergreenException nonFinite(
      ServableModel model, InputBatch batch, double[] scores, int index) {
    int width = batch.rows() > 0 ? Math.max(1, scores.length / batch.rows()) : 1;
    int row = index / width;
    String output = width > 1 ? " in output column " + (index % width) : "";
    String version = "model '" + model.model() + "' version " + model.version();
    List<String> missing = missingInputs(model, batch, row);
    if (!missing.isEmpty() && !model.scoresMissingValues()) {
      return EvergreenException.invalid(
          "row "
              + row
              + " has a missing value in "
              + names(missing)
              + ", and "
              + version
              + " ("
              + model.platform()
              + ") does not score missing values (it returned "
              + scores[index]
              + output
              + " for that row), so fill in the missing values before sending the request");
    }
    return new EvergreenException(
        ErrorKind.INTERNAL,
        version
            + " ("
            + model.platform()
            + ") produced a non-finite output for row "
            + row
            + ": "
            + scores[index]
            + output
            + (missing.isEmpty()
                ? ", although the row has no missing value"
                : ", for a row with a missing value in " + names(missing)));
  }

  /**
   * Returns the inputs that have a missing value in a row, in signature order: the input's name for
   * one value per row, else one name per missing element, such as {@code features[2]}.
   */
  static List<String> missingInputs(ServableModel model, InputBatch batch, int row) {
    List<String> missing = new ArrayList<>();
    int rows = batch.rows();
    for (TensorSpec input : model.signature().inputs()) {
      double[] numbers = batch.numeric().get(input.name());
      String[] texts = batch.text().get(input.name());
      int length = 0;
      if (numbers != null) {
        length = numbers.length;
      } else if (texts != null) {
        length = texts.length;
      }
      if (rows == 0 || length % rows != 0) {
        continue;
      }
      int perRow = length / rows;
      for (int element = 0; element < perRow; element++) {
        int at = row * perRow + element;
        boolean absent;
        if (numbers != null) {
          absent = Double.isNaN(numbers[at]);
        } else {
          absent = texts[at] == null;
        }
        if (absent) {
          missing.add(perRow == 1 ? input.name() : input.name() + index(input, element));
        }
      }
    }
    return missing;
  }

  /** Returns the position of an element within a row, such as {@code [2]} or {@code [1][0]}. */
  private static String index(TensorSpec input, int element) {
    List<Long> shape = input.shape();
    long count = 1;
    for (int i = 1; i < shape.size(); i++) {
      count *= shape.get(i);
    }
    if (shape.size() <= 2 || count <= 0) {
      return "[" + element + "]";
    }
    StringBuilder text = new StringBuilder();
    long rest = element;
    for (int i = 1; i < shape.size(); i++) {
      count /= shape.get(i);
      text.append('[').append(rest / count).append(']');
      rest %= count;
    }
    return text.toString();
  }

  private static String names(List<String> inputs) {
    StringBuilder text = new StringBuilder(inputs.size() == 1 ? "input " : "inputs ");
    int named = Math.min(inputs.size(), MAX_NAMED_INPUTS);
    for (int i = 0; i < named; i++) {
      if (i > 0) {
        text.append(", ");
      }
      text.append('\'').append(inputs.get(i)).append('\'');
    }
    if (inputs.size() > named) {
      text.append(" and ").append(inputs.size() - named).append(" more");
    }
    return text.toString();
  }
}
