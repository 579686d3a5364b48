package dev.evergreen.core.serving.external;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evergreen.core.serving.InputBatch;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Models written by {@code src/test/resources/external-models/make_models.py} with the rows and the
 * scores Python computed for them, and signature files that fit them.
 */
public final class ExternalFixtures {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static final String XGBOOST_MATRIX_SIGNATURE =
      """
      {"inputs": [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}],
       "output": {"name": "probability", "datatype": "FP32", "shape": [-1]}}
      """;

  public static final String XGBOOST_COLUMNS_SIGNATURE =
      """
      {"inputs": [{"name": "distance", "datatype": "FP64", "shape": [-1]},
                  {"name": "hour", "datatype": "INT64", "shape": [-1]},
                  {"name": "day_of_week", "datatype": "INT32", "shape": [-1]},
                  {"name": "day_of_month", "datatype": "FP64", "shape": [-1]}],
       "output": {"name": "probability", "datatype": "FP64", "shape": [-1]}}
      """;

  public static final String LOGISTIC_FP32_SIGNATURE =
      """
      {"inputs": [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}],
       "output": {"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]}}
      """;

  public static final String LOGISTIC_FP64_POSITIVE_SIGNATURE =
      """
      {"inputs": [{"name": "features", "datatype": "FP64", "shape": [-1, 4]}],
       "output": {"name": "probabilities", "datatype": "FP64", "shape": [-1, 2], "column": 1}}
      """;

  public static final String TREE_INPUTS =
      """
      "inputs": [{"name": "distance", "datatype": "FP32", "shape": [-1, 1]},
                 {"name": "hour", "datatype": "INT64", "shape": [-1, 1]},
                 {"name": "day_of_week", "datatype": "INT32", "shape": [-1, 1]},
                 {"name": "weekend", "datatype": "BOOL", "shape": [-1, 1]}]
      """;

  public static final String TREE_SIGNATURE =
      "{"
          + TREE_INPUTS
          + ", \"output\": {\"name\": \"probabilities\", \"datatype\": \"FP32\","
          + " \"shape\": [-1, 2]}}";

  public static final String TREE_ZIPMAP_SIGNATURE =
      "{"
          + TREE_INPUTS
          + ", \"output\": {\"name\": \"probability_maps\", \"datatype\": \"FP32\","
          + " \"shape\": [-1, 2], \"column\": 1}}";

  public static final String ORIGIN_SIGNATURE =
      """
      {"inputs": [{"name": "origin", "datatype": "BYTES", "shape": [-1]}],
       "output": {"name": "late_rate", "datatype": "FP32", "shape": [-1]}}
      """;

  private ExternalFixtures() {}

  /** Returns the bytes of a file under {@code external-models/}. */
  public static byte[] file(String name) {
    try (InputStream in = ExternalFixtures.class.getResourceAsStream("/external-models/" + name)) {
      if (in == null) {
        throw new IllegalStateException("test resource external-models/" + name + " is missing");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Returns the rows and Python's scores, {@code expected.json}. */
  public static JsonNode expected() {
    try {
      return JSON.readTree(file("expected.json"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** Returns the check rows as one {@code [-1, 4]} input named {@code features}. */
  public static InputBatch featureMatrix() {
    JsonNode rows = expected().get("rows");
    double[] values = new double[rows.size() * 4];
    for (int row = 0; row < rows.size(); row++) {
      for (int column = 0; column < 4; column++) {
        values[row * 4 + column] = rows.get(row).get(column).doubleValue();
      }
    }
    return new InputBatch(rows.size(), Map.of("features", values), Map.of());
  }

  /** Returns one check-row column as a {@code [-1]} or {@code [-1, 1]} input. */
  public static double[] column(int column) {
    JsonNode rows = expected().get("rows");
    double[] values = new double[rows.size()];
    for (int row = 0; row < rows.size(); row++) {
      values[row] = rows.get(row).get(column).doubleValue();
    }
    return values;
  }

  /** Returns the check rows as the four inputs of the tree models. */
  public static InputBatch treeInputs() {
    JsonNode weekend = expected().get("weekend");
    double[] weekendValues = new double[weekend.size()];
    for (int row = 0; row < weekendValues.length; row++) {
      weekendValues[row] = weekend.get(row).doubleValue();
    }
    return new InputBatch(
        weekendValues.length,
        Map.of(
            "distance",
            column(0),
            "hour",
            column(1),
            "day_of_week",
            column(2),
            "weekend",
            weekendValues),
        Map.of());
  }

  /** Returns the scores Python computed under {@code key}, flattened row-major. */
  public static double[] scores(String key) {
    return flatten(expected().get(key));
  }

  private static double[] flatten(JsonNode node) {
    List<Double> values = new ArrayList<>();
    for (JsonNode row : node) {
      if (row.isArray()) {
        row.forEach(value -> values.add(value.doubleValue()));
      } else {
        values.add(row.doubleValue());
      }
    }
    return values.stream().mapToDouble(Double::doubleValue).toArray();
  }
}
