package dev.evergreen.core.serving.xgboost;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.TestData;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import ml.dmlc.xgboost4j.java.XGBoost;
import ml.dmlc.xgboost4j.java.XGBoostError;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Compares {@link TreeEnsemble} with XGBoost4J 3.4 on models trained on real flights.
 *
 * <p>Features per row: hour of departure, ISO day of week, distance, origin code, destination code.
 */
class TreeEnsembleTest {
  private static final int FEATURES = 5;
  private static final int TRAIN_ROWS = 20_000;
  private static final int HOLDOUT_ROWS = 5_000;
  private static final double TOLERANCE = 1e-6;

  private static float[] trainFeatures;
  private static float[] delays;
  private static float[] holdoutFeatures;
  private static DMatrix holdout;

  @BeforeAll
  static void loadFlights() throws Exception {
    List<float[]> rows = new ArrayList<>();
    List<Float> delayList = new ArrayList<>();
    String sql =
        """
        WITH sample AS (
          SELECT date, delay, distance, origin, destination
          FROM read_parquet(?)
          WHERE date < TIMESTAMP '2001-01-15' AND delay IS NOT NULL AND distance IS NOT NULL
          ORDER BY hash(date, origin, destination, distance, delay), date, origin, destination
          LIMIT ?)
        SELECT hour(date), isodow(date), distance,
               dense_rank() OVER (ORDER BY origin) - 1,
               dense_rank() OVER (ORDER BY destination) - 1,
               delay
        FROM sample
        ORDER BY hash(date, origin, destination, distance, delay), date, origin, destination
        """;
    try (Connection connection = DriverManager.getConnection("jdbc:duckdb:")) {
      try (Statement statement = connection.createStatement()) {
        statement.execute("SET threads = 1");
      }
      try (PreparedStatement query = connection.prepareStatement(sql)) {
        query.setString(1, TestData.flights().toString());
        query.setInt(2, TRAIN_ROWS + HOLDOUT_ROWS);
        try (ResultSet result = query.executeQuery()) {
          while (result.next()) {
            float[] row = new float[FEATURES];
            for (int j = 0; j < FEATURES; j++) {
              row[j] = result.getFloat(j + 1);
            }
            rows.add(row);
            delayList.add(result.getFloat(FEATURES + 1));
          }
        }
      }
    }
    assertThat(rows).hasSize(TRAIN_ROWS + HOLDOUT_ROWS);

    Random random = new Random(20010101);
    trainFeatures = new float[TRAIN_ROWS * FEATURES];
    holdoutFeatures = new float[HOLDOUT_ROWS * FEATURES];
    delays = new float[TRAIN_ROWS];
    for (int i = 0; i < TRAIN_ROWS + HOLDOUT_ROWS; i++) {
      float[] row = rows.get(i);
      boolean train = i < TRAIN_ROWS;
      // Missing values in both parts, so that trees learn default directions and the holdout
      // exercises them: 3% per feature when training, 15% in the holdout.
      double missingRate = train ? 0.03 : 0.15;
      for (int j = 0; j < FEATURES; j++) {
        if (random.nextDouble() < missingRate) {
          row[j] = Float.NaN;
        }
      }
      if (train) {
        System.arraycopy(row, 0, trainFeatures, i * FEATURES, FEATURES);
        delays[i] = delayList.get(i);
      } else {
        System.arraycopy(row, 0, holdoutFeatures, (i - TRAIN_ROWS) * FEATURES, FEATURES);
      }
    }
    holdout = new DMatrix(holdoutFeatures, HOLDOUT_ROWS, FEATURES, Float.NaN);
  }

  @Test
  void binaryLogisticMatchesXgboostPredict() throws Exception {
    Booster booster = train("binary:logistic", 100, delay -> delay > 15 ? 1 : 0, Map.of());
    TreeEnsemble ensemble = TreeEnsemble.parse(booster.toByteArray("json"));

    assertThat(ensemble.objective()).isEqualTo("binary:logistic");
    assertThat(ensemble.featureCount()).isEqualTo(FEATURES);
    assertThat(ensemble.outputWidth()).isEqualTo(1);
    assertThat(ensemble.treeCount()).isEqualTo(100);
    assertMatchesXgboost(ensemble, booster);
  }

  @Test
  void multiSoftprobMatchesXgboostPredict() throws Exception {
    Booster booster =
        train("multi:softprob", 100, TreeEnsembleTest::delayBucket, Map.of("num_class", 3));
    TreeEnsemble ensemble = TreeEnsemble.parse(booster.toByteArray("json"));

    assertThat(ensemble.outputWidth()).isEqualTo(3);
    assertThat(ensemble.treeCount()).isEqualTo(300);
    assertMatchesXgboost(ensemble, booster);
  }

  @Test
  void regSquaredErrorMatchesXgboostPredict() throws Exception {
    Booster booster = train("reg:squarederror", 100, delay -> delay, Map.of());
    TreeEnsemble ensemble = TreeEnsemble.parse(booster.toByteArray("json"));

    assertThat(ensemble.outputWidth()).isEqualTo(1);
    assertMatchesXgboost(ensemble, booster);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "binary:logitraw",
        "reg:logistic",
        "reg:absoluteerror",
        "count:poisson",
        "multi:softmax"
      })
  void otherObjectiveMatchesXgboostPredict(String objective) throws Exception {
    DoubleUnaryOperator label =
        switch (objective) {
          case "binary:logitraw", "reg:logistic" -> delay -> delay > 15 ? 1 : 0;
          case "count:poisson" -> delay -> Math.max(delay, 0);
          case "multi:softmax" -> TreeEnsembleTest::delayBucket;
          default -> delay -> delay;
        };
    Map<String, Object> extra =
        objective.equals("multi:softmax") ? Map.of("num_class", 3) : Map.of();
    Booster booster = train(objective, 20, label, extra);
    TreeEnsemble ensemble = TreeEnsemble.parse(booster.toByteArray("ubj"));

    assertThat(ensemble.objective()).isEqualTo(objective);
    assertThat(ensemble.outputWidth()).isEqualTo(1);
    assertMatchesXgboost(ensemble, booster);
  }

  @Test
  void dartWithTreeWeightsMatchesXgboost() throws Exception {
    Booster booster =
        train(
            "binary:logistic",
            20,
            delay -> delay > 15 ? 1 : 0,
            Map.of("booster", "dart", "rate_drop", 0.3, "seed", 7));
    byte[] json = booster.toByteArray("json");
    ObjectNode root = (ObjectNode) new ObjectMapper().readTree(json);
    JsonNode weights = root.at("/learner/gradient_booster/model/weight_drop");
    assertThat(weights.size()).isEqualTo(20);
    assertThat(weights.valueStream().mapToDouble(JsonNode::doubleValue).min().orElseThrow())
        .isLessThan(0.99);

    assertMatchesXgboost(TreeEnsemble.parse(json), booster);
  }

  /** Before XGBoost 3.4 a DART booster wrapped the gbtree and kept weight_drop beside it. */
  @Test
  void dartLegacyLayoutMatchesXgboost() throws Exception {
    Booster booster =
        train(
            "binary:logistic",
            20,
            delay -> delay > 15 ? 1 : 0,
            Map.of("booster", "dart", "rate_drop", 0.3, "seed", 7));
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode root = (ObjectNode) mapper.readTree(booster.toByteArray("json"));
    ObjectNode learner = (ObjectNode) root.get("learner");
    ObjectNode gbtree = (ObjectNode) learner.get("gradient_booster");
    ObjectNode model = (ObjectNode) gbtree.get("model");
    ObjectNode dart = mapper.createObjectNode();
    dart.put("name", "dart");
    dart.set("gbtree", gbtree);
    dart.set("weight_drop", model.remove("weight_drop"));
    learner.set("gradient_booster", dart);
    byte[] legacy = mapper.writeValueAsBytes(root);
    Booster reloaded = XGBoost.loadModel(legacy);

    TreeEnsemble ensemble = TreeEnsemble.parse(legacy);

    assertMatchesXgboost(ensemble, reloaded);
    assertMatchesXgboost(ensemble, booster);
  }

  /** Before XGBoost 3.1 base_score was one scalar string, shared by all classes. */
  @Test
  void legacyScalarBaseScoreMatchesXgboost() throws Exception {
    Booster booster =
        train("multi:softprob", 20, TreeEnsembleTest::delayBucket, Map.of("num_class", 3));
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode root = (ObjectNode) mapper.readTree(booster.toByteArray("json"));
    ObjectNode modelParam = (ObjectNode) root.at("/learner/learner_model_param");
    assertThat(modelParam.get("base_score").textValue()).startsWith("[").contains(",");
    modelParam.put("base_score", "2.5E-1");
    byte[] legacy = mapper.writeValueAsBytes(root);

    assertMatchesXgboost(TreeEnsemble.parse(legacy), XGBoost.loadModel(legacy));
  }

  @Test
  void jsonAndUbjGiveIdenticalPredictions() throws Exception {
    Booster booster =
        train("multi:softprob", 30, TreeEnsembleTest::delayBucket, Map.of("num_class", 3));
    byte[] json = booster.toByteArray("json");
    byte[] ubj = booster.toByteArray("ubj");
    assertThat(ubj[0]).isEqualTo((byte) '{');
    assertThat(ubj[1]).isNotEqualTo((byte) '"');

    double[] fromJson = TreeEnsemble.parse(json).predict(holdoutFeatures, HOLDOUT_ROWS);
    double[] fromUbj = TreeEnsemble.parse(ubj).predict(holdoutFeatures, HOLDOUT_ROWS);

    assertThat(fromUbj).containsExactly(fromJson);
  }

  @Test
  void singleRowEqualsBatch() throws Exception {
    Booster booster =
        train("multi:softprob", 30, TreeEnsembleTest::delayBucket, Map.of("num_class", 3));
    TreeEnsemble ensemble = TreeEnsemble.parse(booster.toByteArray("ubj"));
    double[] batch = ensemble.predict(holdoutFeatures, HOLDOUT_ROWS);

    double[] out = new double[2 + 3];
    for (int row = 0; row < HOLDOUT_ROWS; row++) {
      // The row sits at an offset inside a larger array, as a caller's buffer would.
      float[] buffer = new float[7 + FEATURES];
      Arrays.fill(buffer, -1e9f);
      System.arraycopy(holdoutFeatures, row * FEATURES, buffer, 7, FEATURES);
      ensemble.predict(buffer, 7, out, 2);
      assertThat(Arrays.copyOfRange(out, 2, 5))
          .as("row %d", row)
          .containsExactly(Arrays.copyOfRange(batch, row * 3, row * 3 + 3));
    }
  }

  @Test
  void predictRejectsShortArrays() throws Exception {
    Booster booster = train("binary:logistic", 5, delay -> delay > 15 ? 1 : 0, Map.of());
    TreeEnsemble ensemble = TreeEnsemble.parse(booster.toByteArray("json"));

    assertThatThrownBy(() -> ensemble.predict(new float[FEATURES], 1, new double[1], 0))
        .isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> ensemble.predict(new float[FEATURES], 0, new double[1], 1))
        .isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> ensemble.predict(new float[FEATURES * 2 - 1], 2))
        .isInstanceOf(IndexOutOfBoundsException.class)
        .hasMessageContaining("2 rows of 5 features");
  }

  @Test
  void truncatedJsonRejected() throws Exception {
    byte[] json =
        train("binary:logistic", 5, delay -> delay > 15 ? 1 : 0, Map.of()).toByteArray("json");
    byte[] truncated = Arrays.copyOf(json, json.length / 2);

    assertThatThrownBy(() -> TreeEnsemble.parse(truncated))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT))
        .hasMessageContaining("XGBoost JSON model is invalid at line")
        .hasMessageContaining("save_model");
  }

  @Test
  void deepJsonRejectedWithoutAdvice() {
    byte[] nested =
        ("{\"learner\": " + "[".repeat(70) + "]".repeat(70) + "}")
            .getBytes(java.nio.charset.StandardCharsets.UTF_8);

    assertThatThrownBy(() -> TreeEnsemble.parse(nested))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(
            "XGBoost JSON model is invalid: Document nesting depth (65) exceeds the maximum"
                + " allowed (64).")
        .hasMessageNotContaining("StreamReadConstraints")
        .hasMessageNotContaining("`");
  }

  @Test
  void truncatedUbjRejected() throws Exception {
    byte[] ubj =
        train("binary:logistic", 5, delay -> delay > 15 ? 1 : 0, Map.of()).toByteArray("ubj");

    for (int length : new int[] {1, 2, 40, ubj.length / 2, ubj.length - 1}) {
      byte[] truncated = Arrays.copyOf(ubj, length);
      assertThatThrownBy(() -> TreeEnsemble.parse(truncated))
          .as("first %d bytes", length)
          .isInstanceOfSatisfying(
              EvergreenException.class,
              e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT))
          .hasMessageContaining("XGBoost UBJSON model is invalid at byte offset");
    }
  }

  @Test
  void garbageBytesRejected() {
    byte[] garbage = new byte[256];
    new Random(3).nextBytes(garbage);
    garbage[0] = (byte) 0x89;

    assertThatThrownBy(() -> TreeEnsemble.parse(garbage))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT))
        .hasMessageContaining("neither JSON nor UBJSON")
        .hasMessageContaining("89");
    assertThatThrownBy(() -> TreeEnsemble.parse(new byte[0]))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("empty");
  }

  @Test
  void garbageAfterBraceRejected() {
    byte[] garbage = new byte[64];
    new Random(5).nextBytes(garbage);
    garbage[0] = '{';
    garbage[1] = 'x';

    assertThatThrownBy(() -> TreeEnsemble.parse(garbage))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT))
        .hasMessageContaining("byte offset 1")
        .hasMessageContaining("'x'");
  }

  @Test
  void wellFormedJsonWithoutModelRejected() {
    byte[] json =
        "{\"learner\": {\"objective\": {\"name\": \"binary:logistic\"}}}"
            .getBytes(StandardCharsets.UTF_8);

    assertThatThrownBy(() -> TreeEnsemble.parse(json))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT))
        .hasMessageContaining("learner.learner_model_param is missing");
  }

  @Test
  void gblinearBoosterRejected() throws Exception {
    Booster booster = train("reg:squarederror", 5, delay -> delay, Map.of("booster", "gblinear"));

    for (String format : new String[] {"json", "ubj"}) {
      byte[] model = booster.toByteArray(format);
      assertThatThrownBy(() -> TreeEnsemble.parse(model))
          .as(format)
          .isInstanceOfSatisfying(
              EvergreenException.class,
              e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT))
          .hasMessageContaining("learner.gradient_booster.name = \"gblinear\"")
          .hasMessageContaining("booster=gbtree");
    }
  }

  @Test
  void unsupportedObjectiveRejected() throws Exception {
    Booster booster = train("reg:gamma", 5, delay -> Math.max(delay, 0) + 1, Map.of());

    assertThatThrownBy(() -> TreeEnsemble.parse(booster.toByteArray("json")))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT))
        .hasMessageContaining("learner.objective.name = \"reg:gamma\"")
        .hasMessageContaining("binary:logistic");
  }

  @Test
  void categoricalSplitRejected() throws Exception {
    DMatrix train = new DMatrix(trainFeatures, TRAIN_ROWS, FEATURES, Float.NaN);
    train.setLabel(labels(delay -> delay > 15 ? 1 : 0));
    train.setFeatureTypes(new String[] {"q", "q", "q", "c", "c"});
    Map<String, Object> params = baseParams("binary:logistic");
    params.put("max_depth", 3);
    Booster booster = XGBoost.train(train, params, 5, new HashMap<>(), null, null);

    assertThatThrownBy(() -> TreeEnsemble.parse(booster.toByteArray("json")))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT))
        .hasMessageContaining(".split_type[")
        .hasMessageContaining("is a categorical split");
  }

  @Test
  void splitIndexOutsideFeaturesRejected() throws Exception {
    ObjectMapper mapper = new ObjectMapper();
    byte[] json =
        train("binary:logistic", 3, delay -> delay > 15 ? 1 : 0, Map.of()).toByteArray("json");
    ObjectNode root = (ObjectNode) mapper.readTree(json);
    ObjectNode tree = (ObjectNode) root.at("/learner/gradient_booster/model/trees/1");
    ((ArrayNode) tree.get("split_indices")).set(0, 99);
    byte[] damaged = mapper.writeValueAsBytes(root);

    assertThatThrownBy(() -> TreeEnsemble.parse(damaged))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT))
        .hasMessageContaining("learner.gradient_booster.model.trees[1].split_indices[0] = 99");
  }

  // --- helpers ---

  private static double delayBucket(double delay) {
    if (delay <= 0) {
      return 0;
    }
    return delay <= 30 ? 1 : 2;
  }

  private static float[] labels(DoubleUnaryOperator label) {
    float[] labels = new float[TRAIN_ROWS];
    for (int i = 0; i < TRAIN_ROWS; i++) {
      labels[i] = (float) label.applyAsDouble(delays[i]);
    }
    return labels;
  }

  private static Map<String, Object> baseParams(String objective) {
    Map<String, Object> params = new HashMap<>();
    params.put("objective", objective);
    params.put("max_depth", 6);
    params.put("eta", 0.3);
    params.put("nthread", 1);
    params.put("tree_method", "hist");
    params.put("verbosity", 0);
    return params;
  }

  private static Booster train(
      String objective, int rounds, DoubleUnaryOperator label, Map<String, Object> extra)
      throws XGBoostError {
    DMatrix train = new DMatrix(trainFeatures, TRAIN_ROWS, FEATURES, Float.NaN);
    train.setLabel(labels(label));
    Map<String, Object> params = baseParams(objective);
    params.putAll(extra);
    return XGBoost.train(train, params, rounds, new HashMap<>(), null, null);
  }

  /**
   * Returns 1e-6, or two float32 ulps of the expected value when that is larger. XGBoost's expf
   * sometimes differs by one ulp from the correctly rounded exp, which matters for count:poisson
   * predictions in the hundreds, where one ulp exceeds 1e-5.
   */
  private static double tolerance(double expected) {
    return Math.max(TOLERANCE, 2 * Math.ulp((float) expected));
  }

  private static double[] predictFlat(Booster booster) throws XGBoostError {
    float[][] predictions = booster.predict(holdout);
    int width = predictions[0].length;
    double[] flat = new double[predictions.length * width];
    for (int row = 0; row < predictions.length; row++) {
      for (int k = 0; k < width; k++) {
        flat[row * width + k] = predictions[row][k];
      }
    }
    return flat;
  }

  private static void assertMatchesXgboost(TreeEnsemble ensemble, Booster booster)
      throws XGBoostError {
    double[] expected = predictFlat(booster);
    double[] actual = ensemble.predict(holdoutFeatures, HOLDOUT_ROWS);
    assertThat(actual).hasSameSizeAs(expected);
    assertThat(expected.length).isEqualTo(HOLDOUT_ROWS * ensemble.outputWidth());

    int width = ensemble.outputWidth();
    int rowsWithMissing = 0;
    for (int row = 0; row < HOLDOUT_ROWS; row++) {
      for (int j = 0; j < FEATURES; j++) {
        if (Float.isNaN(holdoutFeatures[row * FEATURES + j])) {
          rowsWithMissing++;
          break;
        }
      }
      for (int k = 0; k < width; k++) {
        int i = row * width + k;
        assertThat(actual[i])
            .as(
                "row %d output %d (features %s)",
                row,
                k,
                Arrays.toString(
                    Arrays.copyOfRange(holdoutFeatures, row * FEATURES, (row + 1) * FEATURES)))
            .isCloseTo(expected[i], within(tolerance(expected[i])));
      }
    }
    assertThat(rowsWithMissing).isGreaterThan(HOLDOUT_ROWS / 4);
  }
}
