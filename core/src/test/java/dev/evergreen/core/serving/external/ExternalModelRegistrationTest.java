package dev.evergreen.core.serving.external;

import static dev.evergreen.core.serving.external.ExternalFixtures.featureMatrix;
import static dev.evergreen.core.serving.external.ExternalFixtures.file;
import static dev.evergreen.core.serving.external.ExternalFixtures.scores;
import static dev.evergreen.core.serving.external.ExternalFixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.deployment.DeploymentManager;
import dev.evergreen.core.lineage.LineageService;
import dev.evergreen.core.registry.ModelRegistry;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.ModelLoader;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import dev.evergreen.core.testing.TempDirArtifactStore;
import dev.evergreen.core.training.ModelBundles;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Registration through the registry, loading by manifest kind and blue-green deployment. */
class ExternalModelRegistrationTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final double TOLERANCE = 1e-5;

  @TempDir Path dir;

  private InMemoryMetadataStore store;
  private TempDirArtifactStore artifacts;
  private ModelRegistry registry;
  private ExternalModels external;
  private DeploymentManager deployments;

  @BeforeEach
  void setUp() throws Exception {
    Clock clock = Clock.systemUTC();
    store = new InMemoryMetadataStore();
    artifacts = new TempDirArtifactStore(dir.resolve("artifacts"));
    AuditLog audit = new AuditLog(store, clock);
    LineageService lineage = new LineageService(store, clock);
    registry = new ModelRegistry(store, audit, lineage, clock);
    external = new ExternalModels(artifacts, registry, clock, TOLERANCE);
    deployments =
        new DeploymentManager(
            store,
            registry,
            new ModelLoader(artifacts)::load,
            audit,
            lineage,
            new SimpleMeterRegistry(),
            clock,
            TOLERANCE);
  }

  @AfterEach
  void tearDown() {
    deployments.close();
    store.close();
  }

  /** Returns a check file with Python's rows and XGBoost scores. */
  private static byte[] xgboostCheckFile() {
    ObjectNode check = JSON.createObjectNode();
    check.putObject("inputs").set("features", ExternalFixtures.expected().get("rows"));
    check.set("expected", ExternalFixtures.expected().get("xgboost"));
    return check.toString().getBytes();
  }

  private static ExternalModels.Registration xgboost(String name, byte[] check) {
    return new ExternalModels.Registration(
        name,
        ExternalFormat.XGBOOST_JSON,
        file("flights-xgboost.json"),
        "flights-xgboost.json",
        utf8(ExternalFixtures.XGBOOST_MATRIX_SIGNATURE),
        "signature.json",
        check,
        "check.json");
  }

  private void assertNothingRegistered() throws Exception {
    assertThat(registry.models()).isEmpty();
    assertThat(artifacts.keys()).isEmpty();
  }

  @Test
  void registerWithCheckFileDeploysAndServes() {
    ModelVersion version = external.register(xgboost("flights-xgb", xgboostCheckFile()), "alice");

    assertThat(version.version()).isEqualTo(1);
    assertThat(version.artifactSha256())
        .isEqualTo(ModelBundles.sha256(file("flights-xgboost.json")));
    assertThat(registry.versions("flights-xgb")).containsExactly(version);

    deployments.deploy("flights-xgb", 1, "alice");
    ServableModel serving = deployments.serving("flights-xgb").orElseThrow().active();
    assertThat(serving.predict(featureMatrix())).containsExactly(scores("xgboost"), within(1e-6));
    CheckSet checkSet = serving.checkSet();
    assertThat(checkSet.inputs().rows()).isEqualTo(20);
    assertThat(checkSet.expected()).containsExactly(scores("xgboost"));
  }

  @Test
  void registerWritesAuditEntry() {
    external.register(xgboost("flights-xgb", xgboostCheckFile()), "alice");

    List<AuditEntry> entries = store.listAuditEntries(0, 100);
    assertThat(entries).hasSize(1);
    AuditEntry entry = entries.get(0);
    assertThat(entry.action()).isEqualTo(AuditActions.MODEL_REGISTERED);
    assertThat(entry.actor()).isEqualTo("alice");
    assertThat(entry.targets()).containsEntry("model", "flights-xgb").containsEntry("version", "1");
    assertThat(entry.details())
        .containsEntry("format", "xgboost-json")
        .containsEntry("file_name", "flights-xgboost.json")
        .containsEntry("inputs", "features FP32 [-1, 4]")
        .containsEntry("output", "probability FP32 [-1]")
        .containsEntry("check_source", "check-file")
        .containsKey("artifact_sha256");
  }

  @Test
  void registerWithoutCheckFileRecordsZeroRowScores() {
    ExternalModels.Registration request =
        new ExternalModels.Registration(
            "origin-rate",
            ExternalFormat.ONNX,
            file("origin-late-rate.onnx"),
            "origin-late-rate.onnx",
            utf8(ExternalFixtures.ORIGIN_SIGNATURE),
            "signature.json",
            null,
            null);

    external.register(request, "alice");
    deployments.deploy("origin-rate", 1, "alice");

    CheckSet checkSet = deployments.serving("origin-rate").orElseThrow().active().checkSet();
    assertThat(checkSet.inputs().rows()).isEqualTo(1);
    assertThat(checkSet.inputs().text().get("origin")).containsExactly("");
    // The empty string is no known airport, so LabelEncoder returns its default.
    assertThat(checkSet.expected()).containsExactly(-1.0);
  }

  @Test
  void registerOnnxWithZipMapDeploys() throws Exception {
    ExternalModels.Registration request =
        new ExternalModels.Registration(
            "flights-tree",
            ExternalFormat.ONNX,
            file("flights-tree-zipmap.onnx"),
            "flights-tree-zipmap.onnx",
            utf8(ExternalFixtures.TREE_ZIPMAP_SIGNATURE),
            "signature.json",
            null,
            null);

    external.register(request, "bob");
    deployments.deploy("flights-tree", 1, "bob");

    ServableModel serving = deployments.serving("flights-tree").orElseThrow().active();
    double[] pairs = scores("tree");
    double[] positive = new double[pairs.length / 2];
    for (int i = 0; i < positive.length; i++) {
      positive[i] = pairs[i * 2 + 1];
    }
    assertThat(serving.predict(ExternalFixtures.treeInputs()))
        .containsExactly(positive, within(1e-5));
  }

  @Test
  void registerRejectsUnreproducedCheckScores() throws Exception {
    ObjectNode check = (ObjectNode) JSON.readTree(xgboostCheckFile());
    ((ArrayNode) check.get("expected")).set(3, 0.5);

    assertThatThrownBy(
            () -> external.register(xgboost("flights-xgb", check.toString().getBytes()), "alice"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("does not reproduce the scores of check file check.json")
        .hasMessageContaining("score 3");
    assertNothingRegistered();
  }

  @Test
  void registerRejectsCheckFileWithWrongRowWidth() throws Exception {
    String check = "{\"inputs\": {\"features\": [[1, 2, 3]]}, \"expected\": [0.5]}";

    assertThatThrownBy(() -> external.register(xgboost("flights-xgb", utf8(check)), "alice"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("check file check.json: field 'inputs.features[0]'")
        .hasMessageContaining("an array of 4 entries, not [1,2,3]");
    assertNothingRegistered();
  }

  @Test
  void registerRejectsInvalidSignatureFile() throws Exception {
    ExternalModels.Registration request =
        new ExternalModels.Registration(
            "flights-xgb",
            ExternalFormat.XGBOOST_JSON,
            file("flights-xgboost.json"),
            "flights-xgboost.json",
            utf8(ExternalFixtures.XGBOOST_MATRIX_SIGNATURE.replace("FP32", "FLOAT")),
            "my-signature.json",
            null,
            null);

    assertThatThrownBy(() -> external.register(request, "alice"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("signature file my-signature.json")
        .hasMessageContaining("field 'inputs[0].datatype' is \"FLOAT\"");
    assertNothingRegistered();
  }

  @Test
  void registerRejectsIntegerOutputForXgboost() throws Exception {
    ExternalModels.Registration request =
        new ExternalModels.Registration(
            "flights-xgb",
            ExternalFormat.XGBOOST_JSON,
            file("flights-xgboost.json"),
            "flights-xgboost.json",
            utf8(
                ExternalFixtures.XGBOOST_MATRIX_SIGNATURE.replace(
                    "\"probability\", \"datatype\": \"FP32\"",
                    "\"probability\", \"datatype\": \"INT64\"")),
            "my-signature.json",
            null,
            null);

    assertThatThrownBy(() -> external.register(request, "alice"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining(
            "output 'probability' is declared as INT64, but an XGBoost model returns scores");
    assertNothingRegistered();
  }

  @Test
  void registerRejectsBrokenModelFile() throws Exception {
    byte[] broken = Arrays.copyOf(file("flights-tree.onnx"), 1000);
    ExternalModels.Registration request =
        new ExternalModels.Registration(
            "flights-tree",
            ExternalFormat.ONNX,
            broken,
            "truncated.onnx",
            utf8(ExternalFixtures.TREE_SIGNATURE),
            "signature.json",
            null,
            null);

    assertThatThrownBy(() -> external.register(request, "alice"))
        .isInstanceOf(EvergreenException.class)
        .satisfies(
            e -> assertThat(((EvergreenException) e).kind()).isEqualTo(ErrorKind.INVALID_INPUT))
        .hasMessageContaining("model file truncated.onnx (onnx)")
        .hasMessageContaining("ONNX Runtime cannot open the model file");
    assertNothingRegistered();
  }

  @Test
  void registerRejectsInvalidModelName() throws Exception {
    assertThatThrownBy(() -> external.register(xgboost("Flights/XGB", null), "alice"))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("model name 'Flights/XGB' is invalid");
    assertNothingRegistered();
  }

  @Test
  void loaderRejectsAlteredModelFile() throws Exception {
    ModelVersion version = external.register(xgboost("flights-xgb", null), "alice");
    ModelVersion altered =
        new ModelVersion(
            version.model(),
            version.version(),
            version.artifactKey(),
            "0".repeat(64),
            null,
            null,
            Map.of(),
            null,
            version.createdAt());

    assertThatThrownBy(() -> new ModelLoader(artifacts).load(altered))
        .isInstanceOf(EvergreenException.class)
        .satisfies(e -> assertThat(((EvergreenException) e).kind()).isEqualTo(ErrorKind.INTERNAL))
        .hasMessageContaining("but the registry recorded " + "0".repeat(64));
  }

  @Test
  void manifestNamesKindFormatAndCheckSource() throws Exception {
    ModelVersion version = external.register(xgboost("flights-xgb", null), "alice");

    byte[] manifestBytes = Files.readAllBytes(artifacts.localPath(version.artifactKey()));
    ExternalManifest manifest = ExternalManifest.fromJson(manifestBytes, version.artifactKey());
    assertThat(JSON.readTree(manifestBytes).get("kind").asText()).isEqualTo("external-model");
    assertThat(manifest.format()).isEqualTo(ExternalFormat.XGBOOST_JSON);
    assertThat(manifest.fileName()).isEqualTo("flights-xgboost.json");
    assertThat(manifest.checkSource()).isEqualTo(ExternalManifest.CHECK_REGISTRATION);
    assertThat(manifest.checkSet().inputs().numeric().get("features"))
        .containsExactly(0.0, 0.0, 0.0, 0.0);
  }
}
