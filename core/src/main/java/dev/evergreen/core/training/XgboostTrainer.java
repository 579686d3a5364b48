package dev.evergreen.core.training;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.DeploymentSpec;
import dev.evergreen.api.pipeline.TrainerSpec;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import ml.dmlc.xgboost4j.java.XGBoost;
import ml.dmlc.xgboost4j.java.XGBoostError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains gradient-boosted trees with XGBoost4J. With the same data, spec and XGBoost version, two
 * trainings give byte-identical model files, because the seed and thread count are fixed.
 */
public final class XgboostTrainer {
  private static final Logger LOG = LoggerFactory.getLogger(XgboostTrainer.class);

  /** Check rows used when the caller does not pass a count, the deployment default. */
  public static final int DEFAULT_CHECK_ROWS =
      new DeploymentSpec(null, null, null, null).checkRows();

  private static final String POM_PROPERTIES =
      "/META-INF/maven/ml.dmlc/xgboost4j_2.12/pom.properties";
  private static final String VERSION_PROPERTIES = "/xgboost4j-version.properties";

  private static final String ENGINE_VERSION = readEngineVersion();

  /** Trains a model and records a check set of {@link #DEFAULT_CHECK_ROWS} holdout rows. */
  public TrainedModel train(TrainingData data, TrainerSpec spec) {
    return train(data, spec, DEFAULT_CHECK_ROWS);
  }

  /**
   * Trains a model on the training rows of {@code data}.
   *
   * @param checkRows holdout rows to score with {@code Booster.predict} for the check set; the
   *     check set has {@code min(checkRows, holdout rows)} rows
   * @throws EvergreenException of kind INVALID_INPUT when the spec's objective differs from the one
   *     the data was prepared for or XGBoost rejects a parameter, INTERNAL when XGBoost fails
   *     otherwise
   */
  public TrainedModel train(TrainingData data, TrainerSpec spec, int checkRows) {
    if (!spec.objective().equals(data.objective())) {
      throw EvergreenException.invalid(
          "trainer.objective "
              + spec.objective()
              + " differs from objective "
              + data.objective()
              + " the training data was loaded for; load the data with the same pipeline");
    }
    Map<String, Object> params = params(data, spec);
    int width = data.encoding().featureCount();
    DMatrix train = null;
    Booster booster = null;
    try {
      train = new DMatrix(data.trainFeatures(), data.trainRows(), width, Float.NaN);
      train.setLabel(data.trainLabels());
      long start = System.nanoTime();
      booster = XGBoost.train(train, params, spec.rounds(), new HashMap<>(), null, null);
      double seconds = (System.nanoTime() - start) / 1e9;
      byte[] model = booster.toByteArray("json");
      CheckSet checkSet = checkSet(booster, data, checkRows);
      LOG.info(
          "Trained {} with {} rounds on {} rows of {} features in {} s ({} bytes)",
          spec.objective(),
          spec.rounds(),
          data.trainRows(),
          width,
          String.format(Locale.ROOT, "%.2f", seconds),
          model.length);
      return new TrainedModel(model, ENGINE_VERSION, seconds, checkSet);
    } catch (XGBoostError e) {
      // The first line is the reason. Native stack traces and candidate lists follow it.
      String message =
          e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
      // XGBoost 3.4 words parameter errors as "Invalid Parameter format for max_depth ...",
      // "value -1 for Parameter learning_rate ..." and "Unknown objective function ...".
      ErrorKind kind =
          message.contains("Parameter") || message.contains("Unknown")
              ? ErrorKind.INVALID_INPUT
              : ErrorKind.INTERNAL;
      throw new EvergreenException(
          kind,
          "XGBoost training failed with parameters "
              + params
              + ": "
              + message
              + (kind == ErrorKind.INVALID_INPUT ? "; correct trainer.params" : ""),
          e);
    } finally {
      if (booster != null) {
        booster.dispose();
      }
      if (train != null) {
        train.dispose();
      }
    }
  }

  /** Returns the XGBoost4J version on the class path, or {@code unknown}. */
  public static String engineVersion() {
    return ENGINE_VERSION;
  }

  /**
   * Builds the XGBoost parameters: the spec's own, then objective, num_class, seed and nthread,
   * which the pipeline check forbids in {@code params}. Sorted so the order never varies.
   */
  static Map<String, Object> params(TrainingData data, TrainerSpec spec) {
    Map<String, Object> params = new TreeMap<>(spec.params());
    params.put("objective", spec.objective());
    if (spec.objective().startsWith("multi:")) {
      params.put("num_class", data.numClass());
    }
    params.put("seed", spec.seed());
    params.put("nthread", spec.threads());
    return new LinkedHashMap<>(params);
  }

  private static CheckSet checkSet(Booster booster, TrainingData data, int checkRows)
      throws XGBoostError {
    int rows = Math.max(0, Math.min(checkRows, data.holdout().rows()));
    InputBatch inputs = InputBatches.head(data.holdout().inputs(), rows);
    int width = data.outputWidth();
    double[] expected = new double[rows * width];
    if (rows == 0) {
      return new CheckSet(inputs, expected);
    }
    float[] features = data.encoding().encode(inputs);
    DMatrix matrix = new DMatrix(features, rows, data.encoding().featureCount(), Float.NaN);
    try {
      float[][] scores = booster.predict(matrix);
      for (int row = 0; row < rows; row++) {
        for (int k = 0; k < width; k++) {
          expected[row * width + k] = scores[row][k];
        }
      }
    } finally {
      matrix.dispose();
    }
    return new CheckSet(inputs, expected);
  }

  private static String readEngineVersion() {
    for (String resource : new String[] {POM_PROPERTIES, VERSION_PROPERTIES}) {
      try (InputStream in = Booster.class.getResourceAsStream(resource)) {
        if (in != null) {
          Properties properties = new Properties();
          properties.load(in);
          String version = properties.getProperty("version");
          if (version != null && !version.isBlank()) {
            return version.trim();
          }
        }
      } catch (IOException e) {
        LOG.warn("Cannot read {} from the XGBoost4J jar: {}", resource, e.toString());
      }
    }
    String version = Booster.class.getPackage().getImplementationVersion();
    return version == null ? "unknown" : version;
  }
}
