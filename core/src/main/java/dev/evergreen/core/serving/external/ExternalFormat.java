package dev.evergreen.core.serving.external;

import dev.evergreen.api.EvergreenException;
import java.util.Arrays;
import java.util.stream.Collectors;

/** File format of a model trained outside Evergreen. */
public enum ExternalFormat {
  /** XGBoost's JSON model format, as {@code Booster.save_model("model.json")} writes it. */
  XGBOOST_JSON("xgboost-json"),
  /**
   * XGBoost's Universal Binary JSON format, as {@code Booster.save_model("model.ubj")} writes it.
   */
  XGBOOST_UBJ("xgboost-ubj"),
  /** An ONNX model, scored with ONNX Runtime. */
  ONNX("onnx");

  private final String id;

  ExternalFormat(String id) {
    this.id = id;
  }

  /** Returns the name used on the command line, in the REST API and in manifests. */
  public String id() {
    return id;
  }

  /**
   * Returns the format named {@code id}.
   *
   * @throws EvergreenException of kind INVALID_INPUT naming the accepted formats
   */
  public static ExternalFormat fromId(String id) {
    for (ExternalFormat format : values()) {
      if (format.id.equals(id)) {
        return format;
      }
    }
    throw EvergreenException.invalid("unknown model format '" + id + "'; use one of " + ids());
  }

  static String ids() {
    return Arrays.stream(values()).map(ExternalFormat::id).collect(Collectors.joining(", "));
  }
}
