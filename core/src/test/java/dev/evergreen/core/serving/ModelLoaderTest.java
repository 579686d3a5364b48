package dev.evergreen.core.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.SplitSpec;
import dev.evergreen.core.evaluation.Metrics;
import dev.evergreen.core.store.ArtifactStore;
import dev.evergreen.core.training.DatasetLoader;
import dev.evergreen.core.training.FlightSamples;
import dev.evergreen.core.training.ModelBundle;
import dev.evergreen.core.training.ModelBundles;
import dev.evergreen.core.training.TrainedModel;
import dev.evergreen.core.training.TrainingData;
import dev.evergreen.core.training.XgboostTrainer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelLoaderTest {
  private static final SplitSpec SPLIT = new SplitSpec("random", 0.2, 3L, null);
  private static final double TOLERANCE = 1e-5;

  @TempDir static Path dir;
  private static Path sample;

  @BeforeAll
  static void writeSample() throws Exception {
    sample = FlightSamples.write(dir, 30_000);
  }

  /** A trained, stored model with everything needed to load and check it. */
  private record Stored(
      MapArtifactStore artifacts,
      TrainingData data,
      TrainedModel model,
      ModelBundles.StoredBundle bundle) {
    ModelVersion version(String sha256) {
      return new ModelVersion(
          "flights",
          4,
          bundle.manifestKey(),
          sha256,
          "run-1",
          "snapshot-1",
          Map.of(),
          null,
          Instant.EPOCH);
    }

    ModelVersion version() {
      return version(bundle.modelSha256());
    }
  }

  private static Stored trainAndStore(PipelineSpec spec) {
    TrainingData data = DatasetLoader.load(sample, spec, 1);
    TrainedModel model = new XgboostTrainer().train(data, spec.trainer());
    MapArtifactStore artifacts = new MapArtifactStore(dir);
    return new Stored(
        artifacts, data, model, ModelBundles.store(artifacts, model, data, spec.trainer()));
  }

  private static double maxDifference(double[] a, double[] b) {
    assertThat(a).hasSameSizeAs(b);
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    return max;
  }

  @Test
  void loadedBinaryModelReproducesCheckSet() {
    Stored stored = trainAndStore(FlightSamples.binary(SPLIT));

    ServableModel model = new ModelLoader(stored.artifacts()).load(stored.version());

    assertThat(model.model()).isEqualTo("flights");
    assertThat(model.version()).isEqualTo(4);
    assertThat(model.outputWidth()).isEqualTo(1);
    CheckSet checkSet = model.checkSet();
    assertThat(checkSet.inputs().rows()).isEqualTo(100);
    assertThat(checkSet.expected()).isEqualTo(stored.model().checkSet().expected());
    assertThat(maxDifference(model.predict(checkSet.inputs()), checkSet.expected()))
        .isLessThanOrEqualTo(TOLERANCE);
  }

  @Test
  void loadedBinaryModelHasSignature() {
    Stored stored = trainAndStore(FlightSamples.binary(SPLIT));

    ServableModel model = new ModelLoader(stored.artifacts()).load(stored.version());

    assertThat(model.signature())
        .isEqualTo(
            new Signature(
                List.of(
                    new TensorSpec("distance", "FP64", List.of(-1L)),
                    new TensorSpec("origin", "BYTES", List.of(-1L)),
                    new TensorSpec("destination", "BYTES", List.of(-1L)),
                    new TensorSpec("date", "BYTES", List.of(-1L))),
                List.of(new TensorSpec("probability", "FP64", List.of(-1L)))));
  }

  @Test
  void holdoutScoredThroughLoadedModelHasAuc() {
    Stored stored = trainAndStore(FlightSamples.binary(SPLIT));
    ServableModel model = new ModelLoader(stored.artifacts()).load(stored.version());

    double[] scores = model.predict(stored.data().holdout().inputs());
    Map<String, Double> metrics =
        Metrics.evaluate("binary:logistic", stored.data().holdout().labels(), scores, 1);

    assertThat(metrics.get("auc")).isGreaterThan(0.6);
    assertThat(metrics.get("log_loss")).isLessThan(0.69);
  }

  @Test
  void loadedMultiClassModelReproducesCheckSet() {
    Stored stored = trainAndStore(FlightSamples.multiClass(SPLIT));

    ServableModel model = new ModelLoader(stored.artifacts()).load(stored.version());

    assertThat(model.outputWidth()).isEqualTo(3);
    assertThat(model.signature().outputs())
        .containsExactly(new TensorSpec("probabilities", "FP64", List.of(-1L, 3L)));
    CheckSet checkSet = model.checkSet();
    assertThat(checkSet.expected()).hasSize(300);
    assertThat(maxDifference(model.predict(checkSet.inputs()), checkSet.expected()))
        .isLessThanOrEqualTo(TOLERANCE);
  }

  @Test
  void loadedRegressionModelReproducesCheckSet() {
    Stored stored = trainAndStore(FlightSamples.regression(SPLIT));

    ServableModel model = new ModelLoader(stored.artifacts()).load(stored.version());

    assertThat(model.signature().outputs())
        .containsExactly(new TensorSpec("prediction", "FP64", List.of(-1L)));
    CheckSet checkSet = model.checkSet();
    assertThat(maxDifference(model.predict(checkSet.inputs()), checkSet.expected()))
        .isLessThanOrEqualTo(TOLERANCE * 100);
    // Delays reach hundreds of minutes, so compare relative to the value as well.
    for (int i = 0; i < checkSet.expected().length; i++) {
      double expected = checkSet.expected()[i];
      assertThat(model.predict(checkSet.inputs())[i])
          .isCloseTo(expected, within(Math.max(TOLERANCE, Math.abs(expected) * 1e-6)));
    }
  }

  @Test
  void identicalRetrainingStoresSameKeys() {
    PipelineSpec spec = FlightSamples.binary(SPLIT);
    Stored stored = trainAndStore(spec);
    TrainingData again = DatasetLoader.load(sample, spec, 2);
    TrainedModel retrained = new XgboostTrainer().train(again, spec.trainer());

    ModelBundles.StoredBundle bundle =
        ModelBundles.store(stored.artifacts(), retrained, again, spec.trainer());

    assertThat(bundle).isEqualTo(stored.bundle());
    assertThat(stored.artifacts().size()).isEqualTo(2);
  }

  @Test
  void modelHashMismatchIsRejected() {
    Stored stored = trainAndStore(FlightSamples.binary(SPLIT));
    String wrong = "0".repeat(64);

    assertThatThrownBy(() -> new ModelLoader(stored.artifacts()).load(stored.version(wrong)))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("flights version 4")
        .hasMessageContaining(wrong)
        .hasMessageContaining(stored.bundle().modelSha256())
        .extracting(e -> ((EvergreenException) e).kind())
        .isEqualTo(ErrorKind.INTERNAL);
  }

  @Test
  void alteredModelFileIsRejected() throws Exception {
    Stored stored = trainAndStore(FlightSamples.binary(SPLIT));
    ModelBundle bundle =
        ModelBundle.fromJson(stored.artifacts().read(stored.bundle().manifestKey()), "manifest");
    byte[] altered = stored.artifacts().read(bundle.modelKey());
    String text = new String(altered, StandardCharsets.UTF_8).replaceFirst("\"0\"", "\"1\"");
    stored.artifacts().overwrite(bundle.modelKey(), text.getBytes(StandardCharsets.UTF_8));

    assertThatThrownBy(() -> new ModelLoader(stored.artifacts()).load(stored.version()))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(
            "has SHA-256 " + ModelBundles.sha256(text.getBytes(StandardCharsets.UTF_8)))
        .hasMessageContaining("recorded " + stored.bundle().modelSha256());
  }

  @Test
  void missingManifestIsReported() {
    MapArtifactStore empty = new MapArtifactStore(dir);
    String key = "sha256/" + "a".repeat(64);

    assertThatThrownBy(() -> new ModelLoader(empty).load("flights", 2, key, "b".repeat(64)))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("model flights version 2: manifest " + key + " is not in the");
  }

  @Test
  void manifestRoundTripKeepsMissingValues() {
    Stored stored = trainAndStore(FlightSamples.binary(SPLIT));
    ModelBundle bundle =
        ModelBundle.fromJson(stored.artifacts().readUnchecked(stored.bundle().manifestKey()), "m");
    InputBatch inputs =
        new InputBatch(
            2,
            Map.of("distance", new double[] {Double.NaN, 100}),
            Map.of(
                "origin", new String[] {null, "ATL"},
                "destination", new String[] {"LAX", null},
                "date", new String[] {"2001-01-01T00:00:00", null}));
    ModelBundle withMissing =
        new ModelBundle(
            bundle.formatVersion(),
            bundle.modelKey(),
            bundle.modelSha256(),
            bundle.engineVersion(),
            bundle.objective(),
            bundle.numClass(),
            bundle.classNames(),
            bundle.encoding(),
            bundle.trainer(),
            new CheckSet(inputs, new double[] {0.25, 0.5}));

    ModelBundle read = ModelBundle.fromJson(withMissing.toJson(), "m");

    assertThat(read.checkSet().inputs().numeric().get("distance")).containsExactly(Double.NaN, 100);
    assertThat(read.checkSet().inputs().text().get("origin")).containsExactly(null, "ATL");
    assertThat(read.checkSet().expected()).containsExactly(0.25, 0.5);
    assertThat(read.encoding()).isEqualTo(bundle.encoding());
    assertThat(read.trainer()).isEqualTo(bundle.trainer());
    assertThat(read.toJson()).isEqualTo(withMissing.toJson());
  }

  @Test
  void manifestLeavesOutEmptyExactIntegers() {
    Stored stored = trainAndStore(FlightSamples.binary(SPLIT));
    byte[] manifest = stored.artifacts().readUnchecked(stored.bundle().manifestKey());

    ModelBundle read = ModelBundle.fromJson(manifest, "m");

    // Manifests written before check sets could carry exact integers have no such field.
    assertThat(new String(manifest, StandardCharsets.UTF_8)).doesNotContain("\"integers\"");
    assertThat(read.checkSet().inputs().integers()).isEmpty();
    assertThat(read.toJson()).isEqualTo(manifest);
  }

  @Test
  void unknownManifestVersionIsRejected() {
    byte[] manifest = "{\"formatVersion\": 9}".getBytes(StandardCharsets.UTF_8);

    assertThatThrownBy(() -> ModelBundle.fromJson(manifest, "sha256/x"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("sha256/x has formatVersion 9");
  }

  @Test
  void concurrentPredictionsAgree() throws Exception {
    Stored stored = trainAndStore(FlightSamples.multiClass(SPLIT));
    ServableModel model = new ModelLoader(stored.artifacts()).load(stored.version());
    InputBatch holdout = stored.data().holdout().inputs();
    double[] expected = model.predict(holdout);

    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<double[]>> results =
          List.of(
              pool.submit(() -> model.predict(holdout)),
              pool.submit(() -> model.predict(holdout)),
              pool.submit(() -> model.predict(holdout)),
              pool.submit(() -> model.predict(holdout)));
      for (Future<double[]> result : results) {
        assertThat(result.get()).isEqualTo(expected);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** Content-addressed store in memory; {@link #overwrite} simulates a damaged artifact. */
  private static final class MapArtifactStore implements ArtifactStore {
    private final Map<String, byte[]> contents = new ConcurrentHashMap<>();
    private final Path scratch;

    MapArtifactStore(Path scratch) {
      this.scratch = scratch;
    }

    @Override
    public String put(Path file) throws IOException {
      return put(Files.readAllBytes(file));
    }

    @Override
    public String put(byte[] bytes) {
      String key = "sha256/" + ModelBundles.sha256(bytes);
      contents.putIfAbsent(key, bytes.clone());
      return key;
    }

    @Override
    public boolean exists(String key) {
      return contents.containsKey(key);
    }

    @Override
    public InputStream open(String key) throws IOException {
      return new ByteArrayInputStream(read(key));
    }

    @Override
    public byte[] read(String key) throws IOException {
      byte[] bytes = contents.get(key);
      if (bytes == null) {
        throw new NoSuchFileException(key);
      }
      return bytes.clone();
    }

    byte[] readUnchecked(String key) {
      try {
        return read(key);
      } catch (IOException e) {
        throw new AssertionError(e);
      }
    }

    @Override
    public Path localPath(String key) throws IOException {
      Path file = scratch.resolve(key.replace('/', '-'));
      Files.write(file, read(key));
      return file;
    }

    void overwrite(String key, byte[] bytes) {
      contents.put(key, bytes);
    }

    int size() {
      return contents.size();
    }
  }
}
