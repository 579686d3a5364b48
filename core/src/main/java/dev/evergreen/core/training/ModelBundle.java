package dev.evergreen.core.training;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.TrainerSpec;
import dev.evergreen.core.serving.CheckSet;
import java.io.IOException;
import java.util.List;
import java.util.Objects;

/**
 * Manifest of a stored model, kept as a JSON artifact next to the model file. It contains
 * everything needed to serve the model: how to encode inputs, what the outputs mean and which
 * scores a loaded copy must reproduce.
 *
 * @param formatVersion manifest format, {@link #FORMAT_VERSION}
 * @param modelKey artifact key of the XGBoost JSON model file
 * @param modelSha256 hex SHA-256 of the model file
 * @param engineVersion XGBoost4J version that trained the model
 * @param objective XGBoost objective
 * @param numClass 2 for binary, the class count for multi-class, 0 for regression
 * @param classNames class names in class-index order, empty for regression
 * @param encoding encoding of the inputs into model features
 * @param trainer trainer settings the model was trained with
 * @param checkSet holdout rows with the scores XGBoost gave them at training time
 */
public record ModelBundle(
    int formatVersion,
    String modelKey,
    String modelSha256,
    String engineVersion,
    String objective,
    int numClass,
    List<String> classNames,
    FeatureEncoding encoding,
    TrainerSpec trainer,
    CheckSet checkSet) {
  /** The manifest format this code writes and reads. */
  public static final int FORMAT_VERSION = 1;

  // Sorted map keys make the manifest bytes, and so its content-addressed key, independent of
  // hash-map iteration order.
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  public ModelBundle {
    Objects.requireNonNull(modelKey, "modelKey");
    Objects.requireNonNull(modelSha256, "modelSha256");
    Objects.requireNonNull(objective, "objective");
    Objects.requireNonNull(encoding, "encoding");
    Objects.requireNonNull(checkSet, "checkSet");
    classNames = classNames == null ? List.of() : List.copyOf(classNames);
  }

  /** Returns the values each model row outputs: the class count for multi-class, else 1. */
  public int outputWidth() {
    return objective.startsWith("multi:") ? numClass : 1;
  }

  /** Serializes the manifest as UTF-8 JSON; equal manifests give equal bytes. */
  public byte[] toJson() {
    try {
      return JSON.writeValueAsBytes(this);
    } catch (JsonProcessingException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL, "cannot write the manifest of model " + modelKey + ": " + e, e);
    }
  }

  /**
   * Reads a manifest.
   *
   * @param origin names the manifest in error messages, such as its artifact key
   * @throws EvergreenException of kind INTERNAL when the bytes are not a manifest of a supported
   *     format version
   */
  public static ModelBundle fromJson(byte[] json, String origin) {
    try {
      JsonNode tree = JSON.readTree(json);
      JsonNode version = tree == null ? null : tree.get("formatVersion");
      if (version == null || !version.canConvertToInt()) {
        throw new EvergreenException(
            ErrorKind.INTERNAL,
            "model manifest " + origin + " has no formatVersion; it is not a model manifest");
      }
      if (version.intValue() != FORMAT_VERSION) {
        throw new EvergreenException(
            ErrorKind.INTERNAL,
            "model manifest "
                + origin
                + " has formatVersion "
                + version.intValue()
                + " but this Evergreen reads only version "
                + FORMAT_VERSION
                + "; upgrade Evergreen or retrain the model");
      }
      return JSON.treeToValue(tree, ModelBundle.class);
    } catch (IOException | RuntimeException e) {
      if (e instanceof EvergreenException evergreen) {
        throw evergreen;
      }
      throw new EvergreenException(
          ErrorKind.INTERNAL, "cannot read model manifest " + origin + ": " + e.getMessage(), e);
    }
  }
}
