package dev.evergreen.core.serving;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.serving.external.ExternalManifest;
import dev.evergreen.core.serving.external.ExternalModels;
import dev.evergreen.core.serving.xgboost.TreeEnsemble;
import dev.evergreen.core.store.ArtifactStore;
import dev.evergreen.core.training.ModelBundle;
import dev.evergreen.core.training.ModelBundles;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads model versions from the artifact store into {@link ServableModel}s. Models Evergreen
 * trained are scored by {@link TreeEnsemble}, without the native XGBoost library; models registered
 * from files trained elsewhere (manifest kind {@code external-model}) are opened by {@link
 * ExternalModels}.
 */
public final class ModelLoader {
  private static final Logger LOG = LoggerFactory.getLogger(ModelLoader.class);

  private final ArtifactStore artifacts;

  public ModelLoader(ArtifactStore artifacts) {
    this.artifacts = artifacts;
  }

  /**
   * Loads a registered model version: its manifest at {@code version.artifactKey()} and the model
   * file the manifest names, whose SHA-256 must equal {@code version.artifactSha256()}.
   *
   * @throws EvergreenException of kind INTERNAL when an artifact is missing or unreadable, the
   *     model file's hash differs from the registered one, or the model does not fit its manifest
   */
  public ServableModel load(ModelVersion version) {
    return load(
        version.model(), version.version(), version.artifactKey(), version.artifactSha256());
  }

  /** Loads a model version given its manifest key and the expected model SHA-256. */
  public ServableModel load(String model, int version, String manifestKey, String sha256) {
    String id = model + " version " + version;
    byte[] manifest = read(manifestKey, id, "manifest");
    if (ExternalManifest.isExternal(manifest)) {
      return loadExternal(model, version, manifestKey, sha256, manifest);
    }
    ModelBundle bundle = ModelBundle.fromJson(manifest, manifestKey);
    byte[] modelFile = read(bundle.modelKey(), id, "model file");
    checkSha256(id, bundle.modelKey(), modelFile, sha256);
    TreeEnsemble ensemble;
    try {
      ensemble = TreeEnsemble.parse(modelFile);
    } catch (EvergreenException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "model " + id + ": cannot parse model file " + bundle.modelKey() + ": " + e.getMessage(),
          e);
    }
    checkFits(id, bundle, ensemble);
    LOG.info("Loaded model {} from manifest {}: {}", id, manifestKey, ensemble);
    return new LoadedModel(model, version, bundle, ensemble);
  }

  /** Loads a model trained outside Evergreen, from a manifest of kind external-model. */
  private ServableModel loadExternal(
      String model, int version, String manifestKey, String sha256, byte[] manifestBytes) {
    String id = model + " version " + version;
    ExternalManifest manifest = ExternalManifest.fromJson(manifestBytes, manifestKey);
    byte[] modelFile = read(manifest.modelKey(), id, "model file");
    checkSha256(id, manifest.modelKey(), modelFile, sha256);
    ServableModel loaded;
    try {
      loaded = ExternalModels.open(model, version, manifest, modelFile);
    } catch (EvergreenException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "model " + id + ": cannot open model file " + manifest.modelKey() + ": " + e.getMessage(),
          e);
    }
    LOG.info(
        "Loaded {} model {} from manifest {}: {}", manifest.format().id(), id, manifestKey, loaded);
    return loaded;
  }

  private static void checkSha256(String id, String modelKey, byte[] modelFile, String sha256) {
    String actual = ModelBundles.sha256(modelFile);
    if (!actual.equalsIgnoreCase(sha256)) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "model "
              + id
              + ": model file "
              + modelKey
              + " has SHA-256 "
              + actual
              + " but the registry recorded "
              + sha256
              + "; the artifact was altered or the registry entry is wrong, so the version"
              + " cannot be served. Retrain or restore the artifact.");
    }
  }

  private byte[] read(String key, String id, String artifactRole) {
    try {
      return artifacts.read(key);
    } catch (NoSuchFileException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "model " + id + ": " + artifactRole + " " + key + " is not in the artifact store",
          e);
    } catch (IOException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "model " + id + ": cannot read " + artifactRole + " " + key + ": " + e.getMessage(),
          e);
    }
  }

  private static void checkFits(String id, ModelBundle bundle, TreeEnsemble ensemble) {
    int features = bundle.encoding().featureCount();
    if (ensemble.featureCount() != features) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "model "
              + id
              + " expects "
              + ensemble.featureCount()
              + " features but its manifest encodes "
              + features);
    }
    if (!ensemble.objective().equals(bundle.objective())
        || ensemble.outputWidth() != bundle.outputWidth()) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "model "
              + id
              + " has objective "
              + ensemble.objective()
              + " with "
              + ensemble.outputWidth()
              + " outputs but its manifest says "
              + bundle.objective()
              + " with "
              + bundle.outputWidth());
    }
    int expected = bundle.checkSet().inputs().rows() * bundle.outputWidth();
    if (bundle.checkSet().expected().length != expected) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "model "
              + id
              + ": the manifest's check set has "
              + bundle.checkSet().expected().length
              + " scores but "
              + expected
              + " are needed");
    }
  }

  /** A loaded model version; immutable, and safe for concurrent use. */
  private static final class LoadedModel implements ServableModel {
    private final String model;
    private final int version;
    private final ModelBundle bundle;
    private final TreeEnsemble ensemble;
    private final Signature signature;

    LoadedModel(String model, int version, ModelBundle bundle, TreeEnsemble ensemble) {
      this.model = model;
      this.version = version;
      this.bundle = bundle;
      this.ensemble = ensemble;
      this.signature = bundle.encoding().signature(bundle.objective(), bundle.numClass());
    }

    @Override
    public String model() {
      return model;
    }

    @Override
    public int version() {
      return version;
    }

    @Override
    public Signature signature() {
      return signature;
    }

    @Override
    public int outputWidth() {
      return ensemble.outputWidth();
    }

    @Override
    public double[] predict(InputBatch batch) {
      float[] features = bundle.encoding().encode(batch);
      return ensemble.predict(features, batch.rows());
    }

    /** Returns a copy, so no caller can change the scores another caller checks against. */
    @Override
    public CheckSet checkSet() {
      return bundle.checkSet().copy();
    }

    @Override
    public String toString() {
      return "LoadedModel[" + model + " version " + version + ", " + ensemble + "]";
    }
  }
}
