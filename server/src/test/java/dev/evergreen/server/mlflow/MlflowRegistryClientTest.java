package dev.evergreen.server.mlflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.registry.ModelRegistry;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mlflow.api.proto.ModelRegistry.CreateModelVersion;
import org.mlflow.api.proto.ModelRegistry.CreateRegisteredModel;
import org.mlflow.api.proto.ModelRegistry.GetModelVersionByAlias;
import org.mlflow.api.proto.ModelRegistry.RenameRegisteredModel;
import org.mlflow.api.proto.ModelRegistry.SearchRegisteredModels;
import org.mlflow.api.proto.ModelRegistry.TransitionModelVersionStage;
import org.mlflow.api.proto.ModelRegistry.UpdateModelVersion;
import org.mlflow.api.proto.ModelRegistry.UpdateRegisteredModel;
import org.mlflow.tracking.MlflowClient;
import org.mlflow.tracking.MlflowHttpException;
import org.mlflow.tracking.ModelVersionsPage;
import org.mlflow_project.google.protobuf.Message;
import org.mlflow_project.google.protobuf.util.JsonFormat;

/**
 * Drives the MLflow model registry API with the official MLflow Java client 2.17.2: its registry
 * methods, and registry writes through its raw {@code sendPost}, {@code sendPatch} and {@code
 * sendGet}. Responses of raw calls are parsed into MLflow's protobuf messages, which rejects fields
 * that MLflow does not define.
 */
class MlflowRegistryClientTest {
  @TempDir static Path dir;

  private static MlflowServer server;
  private static MlflowClient client;

  @BeforeAll
  static void start() {
    server = new MlflowServer(dir);
    client = server.client();
    for (int version = 1; version <= 3; version++) {
      server
          .evergreen
          .registry()
          .register(
              new ModelVersion(
                  "trained",
                  0,
                  "models/trained/" + version,
                  "cd".repeat(32),
                  null,
                  "snap" + version,
                  Map.of("auc", 0.7),
                  null,
                  Instant.ofEpochMilli(10_000L * version)),
              "test");
    }
  }

  @AfterAll
  static void stop() {
    client.close();
    server.close();
  }

  @Test
  void createRegisteredModelThroughSendPost() throws Exception {
    long before = System.currentTimeMillis();

    CreateRegisteredModel.Response created =
        parse(
            client.sendPost(
                "registered-models/create",
                "{\"name\": \"client-created\", \"description\": \"fraud scores\","
                    + " \"tags\": [{\"key\": \"team\", \"value\": \"risk\"}]}"),
            CreateRegisteredModel.Response.newBuilder());

    var model = created.getRegisteredModel();
    assertThat(model.getName()).isEqualTo("client-created");
    assertThat(model.getDescription()).isEqualTo("fraud scores");
    assertThat(model.getCreationTimestamp()).isBetween(before, System.currentTimeMillis());
    assertThat(model.getLastUpdatedTimestamp()).isEqualTo(model.getCreationTimestamp());
    assertThat(model.getLatestVersionsList()).isEmpty();
    assertThat(model.getTagsList()).hasSize(1);
    assertThat(model.getTags(0).getKey()).isEqualTo("team");
    assertThat(model.getTags(0).getValue()).isEqualTo("risk");
    assertThat(model.getAliasesList()).isEmpty();

    var fetched = client.getRegisteredModel("client-created");
    assertThat(fetched).isEqualTo(model);
    assertThat(server.evergreen.registry().models()).contains("client-created");
    assertThat(auditActions("client-created")).contains(ModelRegistry.MODEL_CREATED);
  }

  @Test
  void createRegisteredModelTwiceIsResourceAlreadyExists() throws Exception {
    client.sendPost("registered-models/create", "{\"name\": \"client-twice\"}");

    assertThatThrownBy(
            () -> client.sendPost("registered-models/create", "{\"name\": \"client-twice\"}"))
        .isInstanceOfSatisfying(
            MlflowHttpException.class,
            e -> {
              assertThat(e.getStatusCode()).isEqualTo(400);
              assertThat(e.getBodyMessage()).contains("\"error_code\":\"RESOURCE_ALREADY_EXISTS\"");
              assertThat(e.getBodyMessage()).contains("client-twice");
            });
  }

  @Test
  void missingRegisteredModelIsNotFound() {
    assertThatThrownBy(() -> client.getRegisteredModel("client-missing"))
        .isInstanceOfSatisfying(
            MlflowHttpException.class,
            e -> {
              assertThat(e.getStatusCode()).isEqualTo(404);
              assertThat(e.getBodyMessage()).contains("\"error_code\":\"RESOURCE_DOES_NOT_EXIST\"");
            });
  }

  @Test
  void renameAndUpdateThroughRawSend() throws Exception {
    client.sendPost("registered-models/create", "{\"name\": \"client-old-name\"}");
    client.sendPost(
        "model-versions/create",
        "{\"name\": \"client-old-name\", \"source\": \"s3://bucket/model\"}");
    client.sendPost(
        "registered-models/alias",
        "{\"name\": \"client-old-name\", \"alias\": \"blue\", \"version\": \"1\"}");

    RenameRegisteredModel.Response renamed =
        parse(
            client.sendPost(
                "registered-models/rename",
                "{\"name\": \"client-old-name\", \"new_name\": \"client-new-name\"}"),
            RenameRegisteredModel.Response.newBuilder());
    UpdateRegisteredModel.Response updated =
        parse(
            client.sendPatch(
                "registered-models/update",
                "{\"name\": \"client-new-name\", \"description\": \"renamed\"}"),
            UpdateRegisteredModel.Response.newBuilder());

    assertThat(renamed.getRegisteredModel().getName()).isEqualTo("client-new-name");
    assertThat(updated.getRegisteredModel().getDescription()).isEqualTo("renamed");
    assertThat(updated.getRegisteredModel().getAliases(0).getAlias()).isEqualTo("blue");
    assertThat(client.getModelVersion("client-new-name", "1").getSource())
        .isEqualTo("s3://bucket/model");
    assertThat(server.evergreen.registry().aliases("client-new-name"))
        .containsExactly(Map.entry("blue", 1));
    assertThat(server.evergreen.registry().aliasHistory("client-new-name"))
        .extracting(AliasMove::alias, AliasMove::toVersion, AliasMove::actor)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("blue", 1, "mlflow-operator"));
    assertThatThrownBy(() -> client.getRegisteredModel("client-old-name"))
        .isInstanceOf(MlflowHttpException.class);
    assertThat(auditActions("client-new-name"))
        .contains(ModelRegistry.MODEL_RENAMED, ModelRegistry.MODEL_UPDATED);
  }

  @Test
  void createModelVersionRecordsSourceAsExternalLocation() throws Exception {
    client.sendPost("registered-models/create", "{\"name\": \"client-versions\"}");

    CreateModelVersion.Response created =
        parse(
            client.sendPost(
                "model-versions/create",
                "{\"name\": \"client-versions\", \"source\": \"s3://bucket/run/model\","
                    + " \"run_id\": \"0123456789abcdef0123456789abcdef\","
                    + " \"description\": \"first\","
                    + " \"tags\": [{\"key\": \"owner\", \"value\": \"ana\"}]}"),
            CreateModelVersion.Response.newBuilder());

    var version = created.getModelVersion();
    assertThat(version.getName()).isEqualTo("client-versions");
    assertThat(version.getVersion()).isEqualTo("1");
    assertThat(version.getSource()).isEqualTo("s3://bucket/run/model");
    assertThat(version.getRunId()).isEqualTo("0123456789abcdef0123456789abcdef");
    assertThat(version.getDescription()).isEqualTo("first");
    assertThat(version.getCurrentStage()).isEqualTo("None");
    assertThat(version.getStatus().name()).isEqualTo("READY");
    assertThat(version.getTagsList()).hasSize(1);
    assertThat(version.getTags(0).getKey()).isEqualTo("owner");
    assertThat(version.getTags(0).getValue()).isEqualTo("ana");
    assertThat(client.getModelVersionDownloadUri("client-versions", "1"))
        .isEqualTo("s3://bucket/run/model");
    ModelVersion stored = server.evergreen.registry().require("client-versions", 1);
    assertThat(stored.artifactKey()).isNull();
    assertThat(stored.runId()).isEqualTo("0123456789abcdef0123456789abcdef");
    assertThat(server.evergreen.registry().metadata("client-versions", 1).source())
        .isEqualTo("s3://bucket/run/model");
    List<AuditEntry> registered =
        auditEntries("client-versions").stream()
            .filter(entry -> entry.action().equals(AuditActions.MODEL_REGISTERED))
            .toList();
    assertThat(registered).hasSize(1);
    assertThat(registered.get(0).actor()).isEqualTo("mlflow-operator");
    assertThat(registered.get(0).details()).containsEntry("source", "s3://bucket/run/model");
  }

  @Test
  void versionOfMissingModelIsNotFound() {
    assertThatThrownBy(
            () ->
                client.sendPost(
                    "model-versions/create", "{\"name\": \"client-nobody\", \"source\": \"x\"}"))
        .isInstanceOfSatisfying(
            MlflowHttpException.class, e -> assertThat(e.getStatusCode()).isEqualTo(404));
  }

  @Test
  void transitionStageArchivesExistingAndLatestVersionsFollow() throws Exception {
    client.sendPost("registered-models/create", "{\"name\": \"client-stages\"}");
    for (int i = 0; i < 3; i++) {
      client.sendPost(
          "model-versions/create",
          "{\"name\": \"client-stages\", \"source\": \"s3://m/" + i + "\"}");
    }
    client.sendPost(
        "model-versions/transition-stage",
        "{\"name\": \"client-stages\", \"version\": \"1\", \"stage\": \"Production\","
            + " \"archive_existing_versions\": false}");

    TransitionModelVersionStage.Response moved =
        parse(
            client.sendPost(
                "model-versions/transition-stage",
                "{\"name\": \"client-stages\", \"version\": \"2\", \"stage\": \"production\","
                    + " \"archive_existing_versions\": true}"),
            TransitionModelVersionStage.Response.newBuilder());

    assertThat(moved.getModelVersion().getCurrentStage()).isEqualTo("Production");
    assertThat(client.getModelVersion("client-stages", "1").getCurrentStage())
        .isEqualTo("Archived");
    assertThat(client.getModelVersion("client-stages", "3").getCurrentStage()).isEqualTo("None");
    assertThat(client.getLatestVersions("client-stages", List.of("Production")))
        .extracting(v -> v.getVersion())
        .containsExactly("2");
    assertThat(client.getLatestVersions("client-stages"))
        .extracting(v -> v.getCurrentStage() + ":" + v.getVersion())
        .containsExactly("None:3", "Production:2", "Archived:1");
    assertThat(client.getRegisteredModel("client-stages").getLatestVersionsList()).hasSize(3);
    assertThatThrownBy(
            () ->
                client.sendPost(
                    "model-versions/transition-stage",
                    "{\"name\": \"client-stages\", \"version\": \"3\", \"stage\": \"Archived\","
                        + " \"archive_existing_versions\": true}"))
        .isInstanceOfSatisfying(
            MlflowHttpException.class,
            e -> assertThat(e.getBodyMessage()).contains("INVALID_PARAMETER_VALUE"));
    assertThatThrownBy(
            () ->
                client.sendPost(
                    "model-versions/transition-stage",
                    "{\"name\": \"client-stages\", \"version\": \"3\", \"stage\": \"Shipped\"}"))
        .isInstanceOfSatisfying(
            MlflowHttpException.class,
            e -> {
              assertThat(e.getStatusCode()).isEqualTo(400);
              assertThat(e.getBodyMessage()).contains("INVALID_PARAMETER_VALUE");
            });
  }

  @Test
  void updateModelVersionThroughSendPatch() throws Exception {
    UpdateModelVersion.Response updated =
        parse(
            client.sendPatch(
                "model-versions/update",
                "{\"name\": \"trained\", \"version\": \"2\", \"description\": \"second\"}"),
            UpdateModelVersion.Response.newBuilder());

    assertThat(updated.getModelVersion().getDescription()).isEqualTo("second");
    assertThat(updated.getModelVersion().getLastUpdatedTimestamp())
        .isGreaterThan(updated.getModelVersion().getCreationTimestamp());
    assertThat(client.getModelVersion("trained", "2").getDescription()).isEqualTo("second");
    assertThat(client.getModelVersion("trained", "1").getDescription()).isEmpty();
  }

  @Test
  void aliasThroughRawSendIsAudited() throws Exception {
    client.sendPost(
        "registered-models/alias",
        "{\"name\": \"trained\", \"alias\": \"shadow\", \"version\": \"3\"}");

    GetModelVersionByAlias.Response byAlias =
        parse(
            client.sendGet("registered-models/alias?name=trained&alias=shadow"),
            GetModelVersionByAlias.Response.newBuilder());

    assertThat(byAlias.getModelVersion().getVersion()).isEqualTo("3");
    assertThat(byAlias.getModelVersion().getAliasesList()).containsExactly("shadow");
    assertThat(byAlias.getModelVersion().getSource()).isEqualTo("models/trained/3");
    assertThat(server.evergreen.registry().aliases("trained")).containsEntry("shadow", 3);
    AuditEntry moved =
        auditEntries("trained").stream()
            .filter(entry -> entry.action().equals(AuditActions.ALIAS_MOVED))
            .filter(entry -> "shadow".equals(entry.details().get("alias")))
            .findFirst()
            .orElseThrow();
    assertThat(moved.actor()).isEqualTo("mlflow-operator");
    assertThat(moved.details()).containsEntry("to", "3");
  }

  @Test
  void tagsSetAndDeletedThroughSendPost() throws Exception {
    client.sendPost(
        "registered-models/set-tag", "{\"name\": \"trained\", \"key\": \"k\", \"value\": \"v\"}");
    client.sendPost(
        "model-versions/set-tag",
        "{\"name\": \"trained\", \"version\": \"1\", \"key\": \"vk\", \"value\": \"vv\"}");
    assertThat(client.getRegisteredModel("trained").getTagsList())
        .extracting(tag -> tag.getKey() + "=" + tag.getValue())
        .containsExactly("k=v");
    assertThat(client.getModelVersion("trained", "1").getTagsList())
        .extracting(tag -> tag.getKey() + "=" + tag.getValue())
        .containsExactly(
            "evergreen.artifact_sha256=" + "cd".repeat(32), "evergreen.snapshot_id=snap1", "vk=vv");

    // The Java client has no DELETE method, so delete endpoints also accept POST.
    client.sendPost("registered-models/delete-tag", "{\"name\": \"trained\", \"key\": \"k\"}");
    client.sendPost(
        "model-versions/delete-tag",
        "{\"name\": \"trained\", \"version\": \"1\", \"key\": \"vk\"}");

    assertThat(client.getRegisteredModel("trained").getTagsList()).isEmpty();
    assertThat(client.getModelVersion("trained", "1").getTagsList())
        .extracting(tag -> tag.getKey())
        .containsExactly("evergreen.artifact_sha256", "evergreen.snapshot_id");
    assertThatThrownBy(
            () ->
                client.sendPost(
                    "model-versions/set-tag",
                    "{\"name\": \"trained\", \"version\": \"1\", \"key\": \"evergreen.snapshot_id\","
                        + " \"value\": \"forged\"}"))
        .isInstanceOfSatisfying(
            MlflowHttpException.class,
            e -> assertThat(e.getBodyMessage()).contains("INVALID_PARAMETER_VALUE"));
  }

  @Test
  void searchRegisteredModelsFiltersOrdersAndPages() throws Exception {
    for (String name : List.of("page-b", "page-c", "page-a")) {
      client.sendPost("registered-models/create", "{\"name\": \"" + name + "\"}");
    }
    SearchRegisteredModels.Response first =
        parse(
            client.sendGet(
                "registered-models/search?filter=name+LIKE+%27page-%25%27&max_results=2"
                    + "&order_by=name+DESC"),
            SearchRegisteredModels.Response.newBuilder());
    assertThat(first.getRegisteredModelsList())
        .extracting(model -> model.getName())
        .containsExactly("page-c", "page-b");
    assertThat(first.getNextPageToken()).isNotEmpty();
    SearchRegisteredModels.Response second =
        parse(
            client.sendGet(
                "registered-models/search?filter=name+LIKE+%27page-%25%27&max_results=2"
                    + "&order_by=name+DESC&page_token="
                    + first.getNextPageToken()),
            SearchRegisteredModels.Response.newBuilder());
    assertThat(second.getRegisteredModelsList())
        .extracting(model -> model.getName())
        .containsExactly("page-a");
    assertThat(second.hasNextPageToken()).isFalse();

    SearchRegisteredModels.Response newest =
        parse(
            client.sendGet(
                "registered-models/search?filter=name+ILIKE+%27PAGE-%25%27"
                    + "&order_by=last_updated_timestamp+DESC"),
            SearchRegisteredModels.Response.newBuilder());
    assertThat(newest.getRegisteredModelsList())
        .extracting(model -> model.getName())
        .containsExactly("page-a", "page-c", "page-b");
    SearchRegisteredModels.Response exact =
        parse(
            client.sendGet("registered-models/search?filter=name+%3D+%27page-c%27"),
            SearchRegisteredModels.Response.newBuilder());
    assertThat(exact.getRegisteredModelsList())
        .extracting(model -> model.getName())
        .containsExactly("page-c");
  }

  @Test
  void searchModelVersionsFiltersOrdersAndPages() {
    ModelVersionsPage byName = client.searchModelVersions("name = 'trained'");
    assertThat(byName.getItems())
        .extracting(version -> version.getVersion())
        .as("default order is name, then version newest first")
        .containsExactly("3", "2", "1");

    ModelVersionsPage first =
        client.searchModelVersions("name = 'trained'", 2, List.of("version_number ASC"));
    assertThat(first.getItems())
        .extracting(version -> version.getVersion())
        .containsExactly("1", "2");
    assertThat(first.hasNextPage()).isTrue();
    ModelVersionsPage second = (ModelVersionsPage) first.getNextPage();
    assertThat(second.getItems()).extracting(version -> version.getVersion()).containsExactly("3");
    assertThat(second.hasNextPage()).isFalse();

    assertThat(
            client
                .searchModelVersions("name = 'trained' AND version_number >= 2", 10, List.of())
                .getItems())
        .extracting(version -> version.getVersion())
        .containsExactly("3", "2");
    assertThat(client.searchModelVersions("source_path = 'models/trained/1'").getItems())
        .extracting(version -> version.getName() + ":" + version.getVersion())
        .containsExactly("trained:1");
  }

  @Test
  void deleteThroughSendPostIsAudited() throws Exception {
    client.sendPost("registered-models/create", "{\"name\": \"client-doomed\"}");
    client.sendPost(
        "model-versions/create", "{\"name\": \"client-doomed\", \"source\": \"s3://m/1\"}");
    client.sendPost(
        "model-versions/create", "{\"name\": \"client-doomed\", \"source\": \"s3://m/2\"}");

    client.sendPost("model-versions/delete", "{\"name\": \"client-doomed\", \"version\": \"2\"}");
    assertThatThrownBy(() -> client.getModelVersion("client-doomed", "2"))
        .isInstanceOfSatisfying(
            MlflowHttpException.class, e -> assertThat(e.getStatusCode()).isEqualTo(404));
    client.sendPost(
        "model-versions/create", "{\"name\": \"client-doomed\", \"source\": \"s3://m/3\"}");
    assertThat(client.getRegisteredModel("client-doomed").getLatestVersions(0).getVersion())
        .as("a deleted version number is not reused")
        .isEqualTo("3");

    client.sendPost("registered-models/delete", "{\"name\": \"client-doomed\"}");

    assertThatThrownBy(() -> client.getRegisteredModel("client-doomed"))
        .isInstanceOfSatisfying(
            MlflowHttpException.class, e -> assertThat(e.getStatusCode()).isEqualTo(404));
    assertThat(server.evergreen.registry().models()).doesNotContain("client-doomed");
    Map<String, String> actors = new LinkedHashMap<>();
    auditEntries("client-doomed").forEach(entry -> actors.put(entry.action(), entry.actor()));
    assertThat(actors)
        .containsEntry(ModelRegistry.VERSION_DELETED, "mlflow-operator")
        .containsEntry(ModelRegistry.MODEL_DELETED, "mlflow-operator");
    assertThat(server.evergreen.verifyAudit().intact()).isTrue();
  }

  @Test
  void viewerTokenCannotWriteRegistry() {
    try (MlflowClient viewer = server.client(server.viewerSecret)) {
      assertThat(viewer.getRegisteredModel("trained").getName()).isEqualTo("trained");
      assertThatThrownBy(
              () -> viewer.sendPost("registered-models/create", "{\"name\": \"by-viewer\"}"))
          .isInstanceOfSatisfying(
              MlflowHttpException.class, e -> assertThat(e.getStatusCode()).isEqualTo(403));
      assertThatThrownBy(
              () ->
                  viewer.sendPatch(
                      "model-versions/update",
                      "{\"name\": \"trained\", \"version\": \"1\", \"description\": \"x\"}"))
          .isInstanceOfSatisfying(
              MlflowHttpException.class, e -> assertThat(e.getStatusCode()).isEqualTo(403));
    }
    assertThat(server.evergreen.registry().models()).doesNotContain("by-viewer");
  }

  @SuppressWarnings("unchecked")
  private static <T extends Message> T parse(String json, Message.Builder builder)
      throws Exception {
    JsonFormat.parser().merge(json, builder);
    return (T) builder.build();
  }

  private static List<AuditEntry> auditEntries(String model) {
    return server.evergreen.store().listAuditEntries(0, 100_000).stream()
        .filter(entry -> model.equals(entry.targets().get("model")))
        .toList();
  }

  private static List<String> auditActions(String model) {
    return auditEntries(model).stream().map(AuditEntry::action).toList();
  }
}
