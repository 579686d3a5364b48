package dev.evergreen.core.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.BatchingSpec;
import dev.evergreen.api.pipeline.CanarySpec;
import dev.evergreen.api.pipeline.ShadowSpec;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.deployment.Canary;
import dev.evergreen.core.deployment.DeploymentManager;
import dev.evergreen.core.lineage.LineageService;
import dev.evergreen.core.registry.ModelRegistry;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.external.ExternalFixtures;
import dev.evergreen.core.serving.external.ExternalFormat;
import dev.evergreen.core.serving.external.ExternalModels;
import dev.evergreen.core.serving.external.ExternalSignature;
import dev.evergreen.core.serving.external.OnnxGraphs;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Non-finite scores on the one scoring path of {@link InferenceRouter}, with real ONNX Runtime and
 * XGBoost models: a missing value that the model cannot score fails as invalid input, any other
 * non-finite score as an internal error, and neither reaches the caller as a score.
 */
class FiniteScoresTest {
  private static final String LOGISTIC = "logistic";
  private static final String EXP = "exp";
  private static final String IMPUTED = "imputed";
  private static final String XGBOOST = "xgboost";

  private final Clock clock = Clock.systemUTC();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final Map<String, ServableModel> models = new HashMap<>();
  private InMemoryMetadataStore store;
  private DeploymentManager manager;
  private InferenceRouter router;

  @BeforeEach
  void deploy() {
    store = new InMemoryMetadataStore();
    AuditLog audit = new AuditLog(store, clock);
    LineageService lineage = new LineageService(store, clock);
    ModelRegistry registry = new ModelRegistry(store, audit, lineage, clock);

    add(
        registry,
        LOGISTIC,
        ExternalFormat.ONNX,
        ExternalFixtures.file("flights-logistic-fp32.onnx"),
        ExternalFixtures.LOGISTIC_FP32_SIGNATURE);
    add(registry, EXP, ExternalFormat.ONNX, OnnxGraphs.expSum(), OnnxGraphs.EXP_SUM_SIGNATURE);
    add(
        registry,
        IMPUTED,
        ExternalFormat.ONNX,
        OnnxGraphs.imputedExpSum(),
        OnnxGraphs.EXP_SUM_SIGNATURE);
    add(registry, IMPUTED, ExternalFormat.ONNX, OnnxGraphs.expSum(), OnnxGraphs.EXP_SUM_SIGNATURE);
    add(
        registry,
        XGBOOST,
        ExternalFormat.XGBOOST_JSON,
        ExternalFixtures.file("flights-xgboost.json"),
        ExternalFixtures.XGBOOST_COLUMNS_SIGNATURE);

    manager =
        new DeploymentManager(
            store,
            registry,
            version -> models.get(version.model() + ":" + version.version()),
            audit,
            lineage,
            meters,
            clock,
            1e-6);

    for (String model : new String[] {LOGISTIC, EXP, IMPUTED, XGBOOST}) {
      manager.deploy(model, 1, "alice");
    }
    router = new InferenceRouter(manager, meters);
  }

  @AfterEach
  void close() {
    router.close();
    manager.close();
    store.close();
  }

  /** Opens a model file as the next version of {@code model}, with an all-zero check row. */
  private void add(
      ModelRegistry registry, String model, ExternalFormat format, byte[] file, String signature) {
    ModelVersion registered =
        registry.register(
            new ModelVersion(
                model,
                0,
                "sha256/" + "a".repeat(64),
                "b".repeat(64),
                null,
                null,
                Map.of(),
                null,
                Instant.now()),
            "trainer");
    ExternalSignature parsed =
        ExternalSignature.parse(ExternalFixtures.utf8(signature), "signature.json");
    ServableModel unchecked =
        ExternalModels.open(model, registered.version(), format, file, parsed, null);
    InputBatch zeros = zeros(unchecked);
    models.put(
        model + ":" + registered.version(),
        ExternalModels.open(
            model,
            registered.version(),
            format,
            file,
            parsed,
            new CheckSet(zeros, unchecked.predict(zeros))));
  }

  private static InputBatch zeros(ServableModel model) {
    Map<String, double[]> numeric = new HashMap<>();
    model
        .signature()
        .inputs()
        .forEach(
            input -> {
              long width = ExternalSignature.valuesPerRow(input);
              numeric.put(input.name(), new double[(int) width]);
            });
    return new InputBatch(1, numeric, Map.of());
  }

  private static InputBatch distanceAndHour(double[] distance, double[] hour) {
    return new InputBatch(distance.length, Map.of("distance", distance, "hour", hour), Map.of());
  }

  private CompletableFuture<double[]> score(String model, InputBatch batch) {
    InferenceRouter.Route route =
        router.route(manager.serving(model).orElseThrow(), null, "caller");
    return router.score(route, batch, "caller", System.nanoTime());
  }

  /** Returns the failure of a scoring, which must have failed. */
  private static EvergreenException failure(CompletableFuture<double[]> result) {
    assertThat(result).failsWithin(Duration.ofSeconds(10));
    try {
      result.join();
    } catch (CompletionException e) {
      assertThat(e.getCause()).isInstanceOf(EvergreenException.class);
      return (EvergreenException) e.getCause();
    }
    throw new AssertionError("expected the scoring to fail, but it succeeded");
  }

  @Test
  void missingMatrixElementNamesRowAndInput() {
    InputBatch matrix = ExternalFixtures.featureMatrix();
    double[] features = matrix.numeric().get("features").clone();
    features[4 + 2] = Double.NaN;

    EvergreenException e =
        failure(
            score(LOGISTIC, new InputBatch(matrix.rows(), Map.of("features", features), Map.of())));

    assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    assertThat(e.getMessage())
        .contains("row 1")
        .contains("'features[2]'")
        .contains("model 'logistic' version 1")
        .contains("does not score missing values")
        .contains("fill in the missing values");
  }

  @Test
  void missingColumnValueNamesEachMissingInput() {
    InputBatch batch =
        distanceAndHour(new double[] {1, 2, Double.NaN}, new double[] {0, 0, Double.NaN});

    EvergreenException e = failure(score(EXP, batch));

    assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    assertThat(e.getMessage())
        .contains("row 2")
        .contains("'distance', 'hour'")
        .contains("model 'exp' version 1");
  }

  @Test
  void infiniteScoreWithoutMissingValueIsInternal() {
    InputBatch batch = distanceAndHour(new double[] {1, 1_000}, new double[] {0, 0});

    EvergreenException e = failure(score(EXP, batch));

    assertThat(e.kind()).isEqualTo(ErrorKind.INTERNAL);
    assertThat(e.getMessage())
        .contains("model 'exp' version 1")
        .contains("non-finite output for row 1")
        .contains("Infinity");
  }

  @Test
  void finiteScoresArePassedThrough() {
    InputBatch batch = distanceAndHour(new double[] {0, 1}, new double[] {2, 3});

    assertThat(score(EXP, batch).join())
        .containsExactly(new double[] {3, Math.E + 3}, within(1e-12));
  }

  @Test
  void imputingOnnxModelScoresMissingValue() {
    InputBatch batch = distanceAndHour(new double[] {Double.NaN}, new double[] {2});

    assertThat(score(IMPUTED, batch).join()).containsExactly(3.0);
  }

  @Test
  void xgboostScoresMissingValueNatively() {
    double[] missing = {Double.NaN};
    InputBatch batch =
        new InputBatch(
            1,
            Map.of(
                "distance",
                missing,
                "hour",
                new double[] {7},
                "day_of_week",
                new double[] {1},
                "day_of_month",
                new double[] {2}),
            Map.of());

    double[] scores = score(XGBOOST, batch).join();

    assertThat(scores).hasSize(1);
    assertThat(scores[0]).isBetween(0.0, 1.0);
  }

  @Test
  void batchedRequestFailsAloneWithOwnRowNumber() {
    router.configureBatching(EXP, new BatchingSpec(64, 20.0, 100));
    InputBatch good = distanceAndHour(new double[] {0, 0}, new double[] {1, 2});
    InputBatch bad = distanceAndHour(new double[] {0, Double.NaN}, new double[] {1, 2});

    CompletableFuture<double[]> first = score(EXP, good);
    CompletableFuture<double[]> second = score(EXP, bad);

    assertThat(first.join()).containsExactly(2.0, 3.0);
    EvergreenException e = failure(second);
    assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    assertThat(e.getMessage()).contains("row 1").contains("'distance'");
  }

  @Test
  void shadowNonFiniteScoreIsShadowError() throws Exception {
    manager.startShadow(IMPUTED, 2, new ShadowSpec(100.0, 1e-9), "alice");
    InputBatch batch = distanceAndHour(new double[] {Double.NaN}, new double[] {2});

    assertThat(score(IMPUTED, batch).join()).containsExactly(3.0);

    Counter errors =
        meters
            .get("evergreen.shadow.comparisons")
            .tags("model", IMPUTED, "version", "2", "outcome", "error")
            .counter();
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (errors.count() < 1 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(errors.count()).isEqualTo(1.0);
    Counter disagreements =
        meters
            .get("evergreen.shadow.comparisons")
            .tags("model", IMPUTED, "version", "2", "outcome", "disagree")
            .counter();
    assertThat(disagreements.count()).isZero();
  }

  @Test
  void canaryMissingValueCountsWhenStableImputes() {
    manager.startCanary(IMPUTED, 2, new CanarySpec(50.0, null, null, null), "alice");
    InferenceRouter.Route route = null;
    String key = null;
    for (int caller = 0; route == null || route.canary() == null; caller++) {
      key = "caller-" + caller;
      route = router.route(manager.serving(IMPUTED).orElseThrow(), null, key);
    }
    Canary canary = route.canary();

    EvergreenException missing =
        failure(
            router.score(
                route,
                distanceAndHour(new double[] {Double.NaN}, new double[] {1}),
                key,
                System.nanoTime()));
    EvergreenException infinite =
        failure(
            router.score(
                route,
                distanceAndHour(new double[] {1_000}, new double[] {1}),
                key,
                System.nanoTime()));

    assertThat(missing.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
    assertThat(missing.getMessage()).contains("model 'imputed' version 2");
    assertThat(infinite.kind()).isEqualTo(ErrorKind.INTERNAL);
    // The window counts a non-finite score against the canary, and also the missing value,
    // because the stable version 1 imputes it and scores the row.
    assertThat(canary.window().summary().requests()).isEqualTo(2);
    assertThat(canary.window().summary().errors()).isEqualTo(2);
  }
}
