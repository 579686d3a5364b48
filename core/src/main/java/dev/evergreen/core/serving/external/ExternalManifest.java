package dev.evergreen.core.serving.external;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.core.serving.CheckSet;
import java.io.IOException;
import java.util.Objects;

/**
 * Manifest of a model trained outside Evergreen, stored as a JSON artifact next to the model file.
 * Manifests of models Evergreen trained ({@link dev.evergreen.core.training.ModelBundle}) have no
 * {@code kind} field; these have {@code "kind": "external-model"}.
 *
 * @param format file format of the model
 * @param fileName name of the file the model was registered from, for people reading the manifest
 * @param modelKey artifact key of the model file
 * @param modelSha256 hex SHA-256 of the model file
 * @param signature declared inputs and served output
 * @param checkSet rows the model must reproduce before it serves
 * @param checkSource {@code check-file} when the rows and scores were supplied at registration,
 *     {@code registration} when Evergreen scored an all-zero row at registration (see {@link
 *     ExternalModels})
 */
public record ExternalManifest(
    ExternalFormat format,
    String fileName,
    String modelKey,
    String modelSha256,
    ExternalSignature signature,
    CheckSet checkSet,
    String checkSource) {
  /** Value of the {@code kind} field that marks this manifest type. */
  public static final String KIND = "external-model";

  /** The manifest format this code writes and reads. */
  public static final int FORMAT_VERSION = 1;

  public static final String CHECK_FILE = "check-file";
  public static final String CHECK_REGISTRATION = "registration";

  // Sorted keys make equal manifests give equal bytes, so equal content-addressed keys.
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  public ExternalManifest {
    Objects.requireNonNull(format, "format");
    Objects.requireNonNull(modelKey, "modelKey");
    Objects.requireNonNull(modelSha256, "modelSha256");
    Objects.requireNonNull(signature, "signature");
    Objects.requireNonNull(checkSet, "checkSet");
    Objects.requireNonNull(checkSource, "checkSource");
  }

  /** Returns whether a parsed manifest is of this type, by its {@code kind} field. */
  public static boolean isExternal(JsonNode manifest) {
    JsonNode kind = manifest == null ? null : manifest.get("kind");
    return kind != null && KIND.equals(kind.asText());
  }

  /** Returns whether manifest bytes are of this type; false for bytes that are not JSON. */
  public static boolean isExternal(byte[] manifest) {
    try {
      return isExternal(JSON.readTree(manifest));
    } catch (IOException e) {
      return false;
    }
  }

  /** Serializes the manifest as UTF-8 JSON. */
  public byte[] toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("kind", KIND);
    root.put("formatVersion", FORMAT_VERSION);
    root.put("format", format.id());
    root.put("fileName", fileName);
    root.put("modelKey", modelKey);
    root.put("modelSha256", modelSha256);
    root.set("signature", signature.toTree());
    root.set("checkSet", JSON.valueToTree(checkSet));
    root.put("checkSource", checkSource);
    try {
      return JSON.writeValueAsBytes(JSON.treeToValue(root, Object.class));
    } catch (IOException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL, "cannot write the manifest of model " + modelKey + ": " + e, e);
    }
  }

  /**
   * Reads a manifest.
   *
   * @param origin names the manifest in error messages, such as its artifact key
   * @throws EvergreenException of kind INTERNAL when the bytes are not a manifest of this type and
   *     format version
   */
  public static ExternalManifest fromJson(byte[] json, String origin) {
    try {
      JsonNode root = JSON.readTree(json);
      if (!isExternal(root)) {
        throw new EvergreenException(
            ErrorKind.INTERNAL, "manifest " + origin + " is not of kind " + KIND);
      }
      int version = root.path("formatVersion").asInt(-1);
      if (version != FORMAT_VERSION) {
        throw new EvergreenException(
            ErrorKind.INTERNAL,
            "manifest "
                + origin
                + " has formatVersion "
                + root.path("formatVersion")
                + " but this Evergreen reads only version "
                + FORMAT_VERSION
                + " of "
                + KIND
                + " manifests; upgrade Evergreen or register the model again");
      }
      return new ExternalManifest(
          ExternalFormat.fromId(root.path("format").asText()),
          root.path("fileName").asText(null),
          root.path("modelKey").asText(null),
          root.path("modelSha256").asText(null),
          ExternalSignature.fromTree(root.get("signature"), origin),
          JSON.treeToValue(root.get("checkSet"), CheckSet.class),
          root.path("checkSource").asText(null));
    } catch (IOException | RuntimeException e) {
      if (e instanceof EvergreenException evergreen && evergreen.kind() == ErrorKind.INTERNAL) {
        throw evergreen;
      }
      throw new EvergreenException(
          ErrorKind.INTERNAL, "cannot read model manifest " + origin + ": " + e.getMessage(), e);
    }
  }
}
