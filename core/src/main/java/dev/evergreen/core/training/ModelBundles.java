package dev.evergreen.core.training;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.TrainerSpec;
import dev.evergreen.core.store.ArtifactStore;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Stores trained models as a model file plus a {@link ModelBundle} manifest. */
public final class ModelBundles {
  private static final Logger LOG = LoggerFactory.getLogger(ModelBundles.class);

  private ModelBundles() {}

  /**
   * Keys of a stored bundle.
   *
   * @param manifestKey artifact key of the manifest, the key a model version records
   * @param modelSha256 hex SHA-256 of the model file
   */
  public record StoredBundle(String manifestKey, String modelSha256) {}

  /**
   * Stores the model file and its manifest. Both are content-addressed and the manifest contains no
   * timings, so storing an identical retrained model returns the same keys.
   *
   * @throws EvergreenException of kind INTERNAL when the artifact store fails
   */
  public static StoredBundle store(
      ArtifactStore artifacts, TrainedModel model, TrainingData data, TrainerSpec spec) {
    String sha256 = sha256(model.model());
    try {
      String modelKey = artifacts.put(model.model());
      ModelBundle bundle =
          new ModelBundle(
              ModelBundle.FORMAT_VERSION,
              modelKey,
              sha256,
              model.engineVersion(),
              spec.objective(),
              data.numClass(),
              data.classNames(),
              data.encoding(),
              spec,
              model.checkSet());
      String manifestKey = artifacts.put(bundle.toJson());
      LOG.info("Stored model {} with manifest {}", modelKey, manifestKey);
      return new StoredBundle(manifestKey, sha256);
    } catch (IOException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "cannot store model " + sha256 + " in the artifact store: " + e.getMessage(),
          e);
    }
  }

  /** Returns the lowercase hex SHA-256 of some bytes. */
  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }
}
