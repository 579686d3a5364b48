package dev.evergreen.core.serving.external;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.registry.ModelRegistry;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.TensorSpec;
import dev.evergreen.core.store.ArtifactStore;
import dev.evergreen.core.training.ModelBundles;
import java.io.IOException;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers and opens models trained outside Evergreen: XGBoost JSON and UBJSON files, scored by
 * {@link dev.evergreen.core.serving.xgboost.TreeEnsemble}, and ONNX files, scored by ONNX Runtime.
 *
 * <p>Every version needs check rows, because the deployment manager scores them before a version
 * serves. With a check file, registration requires the model to reproduce its expected scores
 * within the check tolerance. Without one, registration scores a single row with every numeric
 * input 0 and every BYTES input the empty string, requires finite outputs and records them as the
 * expected scores. Each later deploy then checks that the loaded file still gives those scores.
 */
public final class ExternalModels {
  private static final Logger LOG = LoggerFactory.getLogger(ExternalModels.class);

  /** Model names are also URL path segments, so they keep to the pipeline names' characters. */
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,63}");

  private final ArtifactStore artifacts;
  private final ModelRegistry registry;
  private final Clock clock;
  private final double checkTolerance;

  /**
   * @param checkTolerance largest allowed difference between a check score and its expected value,
   *     scaled by {@code max(1, |expected|)} as the deployment manager scales it
   */
  public ExternalModels(
      ArtifactStore artifacts, ModelRegistry registry, Clock clock, double checkTolerance) {
    this.artifacts = artifacts;
    this.registry = registry;
    this.clock = clock;
    this.checkTolerance = checkTolerance;
  }

  /**
   * A registration request.
   *
   * @param fileName name of the model file, for messages and the manifest
   * @param signature content of the signature file
   * @param signatureOrigin names the signature file in error messages
   * @param check content of the check file, or null to record the scores of an all-zero row
   * @param checkOrigin names the check file in error messages
   */
  public record Registration(
      String model,
      ExternalFormat format,
      byte[] file,
      String fileName,
      byte[] signature,
      String signatureOrigin,
      byte[] check,
      String checkOrigin) {}

  /**
   * Validates a model file by loading and scoring it, then stores it with its manifest and
   * registers a new version. Nothing is stored or registered when a check fails.
   *
   * @throws EvergreenException of kind INVALID_INPUT when the name, signature, check file or model
   *     file is invalid or the model does not reproduce the expected scores; INTERNAL when the
   *     artifact store fails
   */
  public ModelVersion register(Registration request, String actor) {
    String name = request.model();
    if (name == null || !NAME.matcher(name).matches()) {
      throw EvergreenException.invalid(
          "model name '"
              + name
              + "' is invalid; use 1 to 64 lowercase letters, digits, '.', '_' or '-', starting"
              + " with a letter or digit");
    }
    ExternalSignature signature =
        ExternalSignature.parse(request.signature(), request.signatureOrigin());
    CheckSet supplied =
        request.check() == null
            ? null
            : CheckFiles.parse(request.check(), request.checkOrigin(), signature);
    ServableModel candidate;
    try {
      candidate = open(name, 0, request.format(), request.file(), signature, null);
    } catch (EvergreenException e) {
      throw EvergreenException.invalid(
          "model file "
              + request.fileName()
              + " ("
              + request.format().id()
              + "): "
              + e.getMessage());
    }
    CheckSet checkSet;
    String checkSource;
    if (supplied != null) {
      String problem = compare(candidate.predict(supplied.inputs()), supplied.expected());
      if (problem != null) {
        throw EvergreenException.invalid(
            "model file "
                + request.fileName()
                + " does not reproduce the scores of check file "
                + request.checkOrigin()
                + ": "
                + problem);
      }
      checkSet = supplied;
      checkSource = ExternalManifest.CHECK_FILE;
    } else {
      InputBatch zeros = zeroRow(signature);
      double[] scores = candidate.predict(zeros);
      for (int i = 0; i < scores.length; i++) {
        if (!Double.isFinite(scores[i])) {
          throw EvergreenException.invalid(
              "model file "
                  + request.fileName()
                  + " scores an all-zero row as "
                  + scores[i]
                  + " at output "
                  + i
                  + ", which is not finite; supply a check file with rows it can score");
        }
      }
      checkSet = new CheckSet(zeros, scores);
      checkSource = ExternalManifest.CHECK_REGISTRATION;
    }
    return store(request, signature, checkSet, checkSource, actor);
  }

  private ModelVersion store(
      Registration request,
      ExternalSignature signature,
      CheckSet checkSet,
      String checkSource,
      String actor) {
    String sha256 = ModelBundles.sha256(request.file());
    String manifestKey;
    try {
      String modelKey = artifacts.put(request.file());
      ExternalManifest manifest =
          new ExternalManifest(
              request.format(),
              request.fileName(),
              modelKey,
              sha256,
              signature,
              checkSet,
              checkSource);
      manifestKey = artifacts.put(manifest.toJson());
    } catch (IOException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "cannot store model file " + request.fileName() + " in the artifact store: " + e,
          e);
    }
    ModelVersion version =
        registry.register(
            new ModelVersion(
                request.model(),
                0,
                manifestKey,
                sha256,
                null,
                null,
                Map.of(),
                null,
                clock.instant().truncatedTo(ChronoUnit.MILLIS)),
            actor,
            auditDetails(request, signature, checkSource));
    LOG.info(
        "Registered {} model {} version {} from {} (SHA-256 {}, manifest {})",
        request.format().id(),
        version.model(),
        version.version(),
        request.fileName(),
        sha256,
        manifestKey);
    return version;
  }

  /**
   * Returns what an auditor needs to know about a registered file besides its hash: its format and
   * name, its inputs and served output, and where its check scores came from.
   */
  private static Map<String, String> auditDetails(
      Registration request, ExternalSignature signature, String checkSource) {
    Map<String, String> details = new LinkedHashMap<>();
    details.put("format", request.format().id());
    details.put("file_name", request.fileName());
    details.put(
        "inputs",
        signature.inputs().stream()
            .map(input -> input.name() + " " + input.datatype() + " " + input.shape())
            .collect(Collectors.joining(", ")));
    TensorSpec output = signature.output();
    details.put(
        "output",
        output.name()
            + " "
            + output.datatype()
            + " "
            + output.shape()
            + (signature.outputColumn() == null ? "" : " column " + signature.outputColumn()));
    details.put("check_source", checkSource);
    return details;
  }

  /**
   * Opens a model file with a declared signature.
   *
   * @param checkSet check rows the model reports, null before registration has computed them
   * @throws EvergreenException of kind INVALID_INPUT when the file cannot be read by its format's
   *     engine or does not match the signature
   */
  public static ServableModel open(
      String model,
      int version,
      ExternalFormat format,
      byte[] file,
      ExternalSignature signature,
      CheckSet checkSet) {
    return switch (format) {
      case XGBOOST_JSON, XGBOOST_UBJ -> {
        checkXgboostEncoding(format, file);
        yield XgboostFileModel.open(model, version, file, signature, checkSet);
      }
      case ONNX -> OnnxModel.open(model, version, file, signature, checkSet);
    };
  }

  /** Opens a stored model from its manifest, for the model loader. */
  public static ServableModel open(
      String model, int version, ExternalManifest manifest, byte[] file) {
    return open(model, version, manifest.format(), file, manifest.signature(), manifest.checkSet());
  }

  /** Rejects a JSON file registered as UBJSON and the reverse, so the manifest's format is true. */
  private static void checkXgboostEncoding(ExternalFormat format, byte[] file) {
    boolean json = file.length > 0 && firstNonBlank(file) == '{' && looksLikeText(file);
    if (format == ExternalFormat.XGBOOST_JSON && !json) {
      throw EvergreenException.invalid(
          "the file is not JSON; for a model saved as .ubj use format xgboost-ubj");
    }
    if (format == ExternalFormat.XGBOOST_UBJ && json) {
      throw EvergreenException.invalid(
          "the file is JSON text; for a model saved as .json use format xgboost-json");
    }
  }

  private static int firstNonBlank(byte[] file) {
    for (byte b : file) {
      if (!Character.isWhitespace(b)) {
        return b;
      }
    }
    return -1;
  }

  /** UBJSON also starts with '{' but follows it with a type marker such as 'L' or 'i'. */
  private static boolean looksLikeText(byte[] file) {
    int limit = Math.min(file.length, 64);
    for (int i = 0; i < limit; i++) {
      int b = file[i] & 0xff;
      if (b < 0x20 && b != '\n' && b != '\r' && b != '\t') {
        return false;
      }
    }
    int brace = 0;
    while (brace < file.length && file[brace] != '{') {
      brace++;
    }
    int next = brace + 1;
    while (next < file.length && Character.isWhitespace(file[next])) {
      next++;
    }
    return next < file.length && (file[next] == '"' || file[next] == '}');
  }

  private static InputBatch zeroRow(ExternalSignature signature) {
    Map<String, double[]> numeric = new HashMap<>();
    Map<String, String[]> text = new HashMap<>();
    for (TensorSpec input : signature.inputs()) {
      int values = (int) ExternalSignature.valuesPerRow(input);
      if ("BYTES".equals(input.datatype())) {
        String[] empty = new String[values];
        Arrays.fill(empty, "");
        text.put(input.name(), empty);
      } else {
        numeric.put(input.name(), new double[values]);
      }
    }
    return new InputBatch(1, numeric, text);
  }

  /** Returns what differs, as the deployment manager's check does, or null when all match. */
  private String compare(double[] scores, double[] expected) {
    if (scores.length != expected.length) {
      return "it returned " + scores.length + " scores for " + expected.length + " expected ones";
    }
    for (int i = 0; i < scores.length; i++) {
      double allowed = checkTolerance * Math.max(1.0, Math.abs(expected[i]));
      double difference = Math.abs(scores[i] - expected[i]);
      if (!Double.isFinite(scores[i]) || !(difference <= allowed)) {
        return String.format(
            Locale.ROOT,
            "score %d is %.9g but %.9g is expected; the difference %.3g exceeds the tolerance %.3g",
            i,
            scores[i],
            expected[i],
            difference,
            allowed);
      }
    }
    return null;
  }
}
