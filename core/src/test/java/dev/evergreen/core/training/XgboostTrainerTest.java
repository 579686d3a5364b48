package dev.evergreen.core.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.SplitSpec;
import dev.evergreen.api.pipeline.TrainerSpec;
import dev.evergreen.core.serving.CheckSet;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Function;
import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import ml.dmlc.xgboost4j.java.XGBoost;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class XgboostTrainerTest {
  private static final SplitSpec SPLIT = new SplitSpec("random", 0.2, 5L, null);

  @TempDir static Path dir;
  private static Path sample;

  @BeforeAll
  static void writeSample() throws Exception {
    sample = FlightSamples.write(dir, 20_000);
  }

  private static PipelineSpec pipeline(String objective) {
    Function<SplitSpec, PipelineSpec> factory =
        switch (objective) {
          case "binary:logistic" -> FlightSamples::binary;
          case "multi:softprob" -> FlightSamples::multiClass;
          default -> FlightSamples::regression;
        };
    return factory.apply(SPLIT);
  }

  @ParameterizedTest
  @ValueSource(strings = {"binary:logistic", "multi:softprob", "reg:squarederror"})
  void trainTwiceGivesIdenticalBytes(String objective) {
    PipelineSpec spec = pipeline(objective);
    TrainingData data = DatasetLoader.load(sample, spec, 1);
    XgboostTrainer trainer = new XgboostTrainer();

    TrainedModel first = trainer.train(data, spec.trainer());
    TrainedModel second = trainer.train(DatasetLoader.load(sample, spec, 2), spec.trainer());

    assertThat(first.model().length).isGreaterThan(1_000);
    assertThat(Arrays.equals(first.model(), second.model())).isTrue();
    assertThat(first.checkSet().expected()).isEqualTo(second.checkSet().expected());
  }

  @ParameterizedTest
  @ValueSource(strings = {"binary:logistic", "multi:softprob", "reg:squarederror"})
  void checkSetHoldsXgboostScores(String objective) throws Exception {
    PipelineSpec spec = pipeline(objective);
    TrainingData data = DatasetLoader.load(sample, spec, 1);

    TrainedModel model = new XgboostTrainer().train(data, spec.trainer(), 25);

    CheckSet checkSet = model.checkSet();
    int width = data.outputWidth();
    assertThat(checkSet.inputs().rows()).isEqualTo(25);
    assertThat(checkSet.expected()).hasSize(25 * width);
    assertThat(checkSet.inputs().numeric().get("distance"))
        .containsExactly(Arrays.copyOf(data.holdout().inputs().numeric().get("distance"), 25));
    assertThat(checkSet.inputs().text().get("date"))
        .containsExactly(Arrays.copyOf(data.holdout().inputs().text().get("date"), 25));
    // Score the same rows with a booster reloaded from the saved bytes.
    float[] features = data.encoding().encode(checkSet.inputs());
    Booster booster = XGBoost.loadModel(model.model());
    DMatrix matrix = new DMatrix(features, 25, data.encoding().featureCount(), Float.NaN);
    try {
      float[][] scores = booster.predict(matrix);
      for (int row = 0; row < 25; row++) {
        for (int k = 0; k < width; k++) {
          assertThat(checkSet.expected()[row * width + k]).isEqualTo(scores[row][k]);
        }
      }
    } finally {
      matrix.dispose();
      booster.dispose();
    }
  }

  @Test
  void checkSetCappedAtHoldoutRows() {
    PipelineSpec spec = pipeline("binary:logistic");
    TrainingData data = DatasetLoader.load(sample, spec, 1);

    TrainedModel model = new XgboostTrainer().train(data, spec.trainer(), 1_000_000);

    assertThat(model.checkSet().inputs().rows()).isEqualTo(data.holdout().rows());
    assertThat(model.checkSet().expected()).hasSize(data.holdout().rows());
  }

  @Test
  void defaultCheckSetHasHundredRows() {
    PipelineSpec spec = pipeline("binary:logistic");
    TrainingData data = DatasetLoader.load(sample, spec, 1);

    TrainedModel model = new XgboostTrainer().train(data, spec.trainer());

    assertThat(model.checkSet().inputs().rows()).isEqualTo(100);
  }

  @Test
  void paramsReachXgboost() throws Exception {
    PipelineSpec spec = pipeline("multi:softprob");
    TrainingData data = DatasetLoader.load(sample, spec, 1);
    TrainerSpec shallow =
        new TrainerSpec("xgboost", "multi:softprob", 4, 1L, 1, Map.of("max_depth", 1));

    TrainedModel model = new XgboostTrainer().train(data, shallow);

    JsonNode learner = new ObjectMapper().readTree(model.model()).get("learner");
    assertThat(learner.at("/learner_model_param/num_class").asText()).isEqualTo("3");
    assertThat(learner.at("/learner_model_param/num_feature").asText()).isEqualTo("5");
    assertThat(learner.at("/objective/name").asText()).isEqualTo("multi:softprob");
    JsonNode trees = learner.at("/gradient_booster/model/trees");
    // 4 rounds of one tree per class; max_depth 1 allows at most 3 nodes per tree.
    assertThat(trees.size()).isEqualTo(12);
    for (JsonNode tree : trees) {
      assertThat(tree.get("left_children").size()).isLessThanOrEqualTo(3);
    }
  }

  @Test
  void engineVersionReadFromJar() {
    String version =
        new XgboostTrainer()
            .train(
                DatasetLoader.load(sample, pipeline("binary:logistic"), 1),
                new TrainerSpec("xgboost", "binary:logistic", 1, 0L, 1, null))
            .engineVersion();

    assertThat(version).isEqualTo(XgboostTrainer.engineVersion()).matches("\\d+\\.\\d+\\.\\d+.*");
    assertThat(Booster.class.getProtectionDomain().getCodeSource().getLocation().getPath())
        .contains("xgboost4j_2.12-" + version + ".jar");
  }

  @Test
  void objectiveMismatchIsRejected() {
    TrainingData data = DatasetLoader.load(sample, pipeline("binary:logistic"), 1);

    assertThatThrownBy(
            () -> new XgboostTrainer().train(data, FlightSamples.trainer("reg:squarederror")))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("trainer.objective reg:squarederror differs");
  }

  @Test
  void invalidParamIsRejected() {
    TrainingData data = DatasetLoader.load(sample, pipeline("binary:logistic"), 1);
    TrainerSpec invalid =
        new TrainerSpec("xgboost", "binary:logistic", 2, 0L, 1, Map.of("max_depth", "deep"));

    assertThatThrownBy(() -> new XgboostTrainer().train(data, invalid))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("max_depth")
        .extracting(e -> ((EvergreenException) e).kind())
        .isEqualTo(ErrorKind.INVALID_INPUT);
  }
}
