package dev.evergreen.server.mlflow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.registry.ModelRegistry;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Raw HTTP requests to the MLflow model registry API, with the methods and JSON bodies of MLflow's
 * REST API documentation: DELETE endpoints take their fields in a JSON body, aliases are set with
 * POST, read with GET and deleted with DELETE on {@code registered-models/alias}.
 */
class MlflowRegistryHttpTest {
  private static final String API = "/api/2.0/mlflow";

  @TempDir static Path dir;

  private static MlflowServer server;

  @BeforeAll
  static void start() {
    server = new MlflowServer(dir);
    for (int version = 1; version <= 2; version++) {
      server
          .evergreen
          .registry()
          .register(
              new ModelVersion(
                  "http-trained",
                  0,
                  "models/http-trained/" + version,
                  "ef".repeat(32),
                  null,
                  "snap" + version,
                  Map.of("auc", 0.9),
                  null,
                  Instant.ofEpochMilli(5_000L * version)),
              "test");
    }
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void createRegisteredModelResponseFieldByField() throws Exception {
    HttpResponse<String> response =
        send(
            "POST",
            "/registered-models/create",
            "{\"name\": \"http-model\", \"tags\": [{\"key\": \"a\", \"value\": \"1\"}],"
                + " \"description\": \"d\"}");

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode model = MlflowServer.json(response).get("registered_model");
    assertThat(model.get("name").asText()).isEqualTo("http-model");
    assertThat(model.get("creation_timestamp").isIntegralNumber()).isTrue();
    assertThat(model.get("last_updated_timestamp").asLong())
        .isEqualTo(model.get("creation_timestamp").asLong());
    assertThat(model.get("description").asText()).isEqualTo("d");
    assertThat(model.get("latest_versions")).isEmpty();
    assertThat(model.at("/tags/0/key").asText()).isEqualTo("a");
    assertThat(model.at("/tags/0/value").asText()).isEqualTo("1");
    assertThat(model.get("aliases")).isEmpty();
  }

  @Test
  void aliasSetGetDeleteWithDocumentedBodies() throws Exception {
    HttpResponse<String> set =
        send(
            "POST",
            "/registered-models/alias",
            "{\"name\": \"http-trained\", \"alias\": \"canary\", \"version\": \"1\"}");
    assertThat(set.statusCode()).as(set.body()).isEqualTo(200);
    assertThat(MlflowServer.json(set).size()).isZero();

    HttpResponse<String> got =
        server.send(
            "GET",
            API + "/registered-models/alias?name=http-trained&alias=canary",
            server.viewerSecret,
            null);
    assertThat(got.statusCode()).isEqualTo(200);
    JsonNode version = MlflowServer.json(got).get("model_version");
    assertThat(version.get("name").asText()).isEqualTo("http-trained");
    assertThat(version.get("version").asText()).isEqualTo("1");
    assertThat(version.get("creation_timestamp").asLong()).isEqualTo(5_000L);
    assertThat(version.get("current_stage").asText()).isEqualTo("None");
    assertThat(version.get("source").asText()).isEqualTo("models/http-trained/1");
    assertThat(version.get("status").asText()).isEqualTo("READY");
    assertThat(version.get("aliases")).hasSize(1);
    assertThat(version.get("aliases").get(0).asText()).isEqualTo("canary");
    JsonNode model =
        MlflowServer.json(
                server.send(
                    "GET",
                    API + "/registered-models/get?name=http-trained",
                    server.viewerSecret,
                    null))
            .get("registered_model");
    assertThat(model.at("/aliases/0/alias").asText()).isEqualTo("canary");
    assertThat(model.at("/aliases/0/version").asText()).isEqualTo("1");

    HttpResponse<String> deleted =
        send(
            "DELETE",
            "/registered-models/alias",
            "{\"name\": \"http-trained\", \"alias\": \"canary\"}");
    assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(200);
    assertThat(server.evergreen.registry().aliases("http-trained")).doesNotContainKey("canary");
    HttpResponse<String> gone =
        server.send(
            "GET",
            API + "/registered-models/alias?name=http-trained&alias=canary",
            server.viewerSecret,
            null);
    assertThat(gone.statusCode()).isEqualTo(404);
    assertThat(MlflowServer.json(gone).get("error_code").asText())
        .isEqualTo("RESOURCE_DOES_NOT_EXIST");

    List<String> moves = new ArrayList<>();
    for (AuditEntry entry : server.evergreen.store().listAuditEntries(0, 100_000)) {
      if (entry.action().equals(AuditActions.ALIAS_MOVED)
          && "canary".equals(entry.details().get("alias"))) {
        assertThat(entry.actor()).isEqualTo("mlflow-operator");
        moves.add(entry.details().get("from") + "->" + entry.details().get("to"));
      }
    }
    assertThat(moves).containsExactly("->1", "1->");
  }

  @Test
  void aliasInvalidNameOrVersionRejected() throws Exception {
    HttpResponse<String> reserved =
        send(
            "POST",
            "/registered-models/alias",
            "{\"name\": \"http-trained\", \"alias\": \"v3\", \"version\": \"1\"}");
    HttpResponse<String> missing =
        send(
            "POST",
            "/registered-models/alias",
            "{\"name\": \"http-trained\", \"alias\": \"x\", \"version\": \"99\"}");

    assertThat(reserved.statusCode()).isEqualTo(400);
    assertThat(MlflowServer.json(reserved).get("error_code").asText())
        .isEqualTo("INVALID_PARAMETER_VALUE");
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(MlflowServer.json(missing).get("error_code").asText())
        .isEqualTo("RESOURCE_DOES_NOT_EXIST");
  }

  @Test
  void deleteVersionWithAliasNamesAlias() throws Exception {
    server.evergreen.registry().moveAlias("http-trained", "keeper", 2, "test", "for the test");

    HttpResponse<String> response =
        send(
            "DELETE", "/model-versions/delete", "{\"name\": \"http-trained\", \"version\": \"2\"}");

    assertThat(response.statusCode()).isEqualTo(400);
    JsonNode error = MlflowServer.json(response);
    assertThat(error.get("error_code").asText()).isEqualTo("INVALID_PARAMETER_VALUE");
    assertThat(error.get("message").asText()).contains("'keeper'");
    assertThat(error.size()).isEqualTo(2);
    assertThat(server.evergreen.registry().version("http-trained", 2)).isPresent();
  }

  @Test
  void deleteEndpointsTakeJsonBodies() throws Exception {
    send("POST", "/registered-models/create", "{\"name\": \"http-delete\"}");
    send(
        "POST",
        "/model-versions/create",
        "{\"name\": \"http-delete\", \"source\": \"file:///tmp/m\","
            + " \"tags\": [{\"key\": \"t\", \"value\": \"v\"}]}");
    send(
        "POST",
        "/registered-models/set-tag",
        "{\"name\": \"http-delete\", \"key\": \"team\", \"value\": \"risk\"}");

    HttpResponse<String> versionTag =
        send(
            "DELETE",
            "/model-versions/delete-tag",
            "{\"name\": \"http-delete\", \"version\": \"1\", \"key\": \"t\"}");
    HttpResponse<String> modelTag =
        send(
            "DELETE",
            "/registered-models/delete-tag",
            "{\"name\": \"http-delete\", \"key\": \"team\"}");
    assertThat(versionTag.statusCode()).as(versionTag.body()).isEqualTo(200);
    assertThat(modelTag.statusCode()).as(modelTag.body()).isEqualTo(200);
    JsonNode version = getVersion("http-delete", 1);
    assertThat(version.get("tags")).isEmpty();
    assertThat(getModel("http-delete").get("tags")).isEmpty();

    HttpResponse<String> versionDeleted =
        send("DELETE", "/model-versions/delete", "{\"name\": \"http-delete\", \"version\": \"1\"}");
    assertThat(versionDeleted.statusCode()).as(versionDeleted.body()).isEqualTo(200);
    assertThat(MlflowServer.json(versionDeleted).size()).isZero();
    assertThat(server.evergreen.registry().version("http-delete", 1)).isEmpty();

    HttpResponse<String> modelDeleted =
        send("DELETE", "/registered-models/delete", "{\"name\": \"http-delete\"}");
    assertThat(modelDeleted.statusCode()).as(modelDeleted.body()).isEqualTo(200);
    HttpResponse<String> missing =
        server.send(
            "GET", API + "/registered-models/get?name=http-delete", server.viewerSecret, null);
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(MlflowServer.json(missing).get("error_code").asText())
        .isEqualTo("RESOURCE_DOES_NOT_EXIST");
    HttpResponse<String> again =
        send("DELETE", "/registered-models/delete", "{\"name\": \"http-delete\"}");
    assertThat(again.statusCode()).isEqualTo(404);

    List<String> actions =
        server.evergreen.store().listAuditEntries(0, 100_000).stream()
            .filter(entry -> "http-delete".equals(entry.targets().get("model")))
            .filter(entry -> entry.actor().equals("mlflow-operator"))
            .map(AuditEntry::action)
            .toList();
    assertThat(actions)
        .containsExactly(
            ModelRegistry.MODEL_CREATED,
            AuditActions.MODEL_REGISTERED,
            ModelRegistry.MODEL_UPDATED,
            ModelRegistry.VERSION_UPDATED,
            ModelRegistry.MODEL_UPDATED,
            ModelRegistry.VERSION_DELETED,
            ModelRegistry.MODEL_DELETED);
  }

  @Test
  void deletedModelNameCanBeCreatedAgain() throws Exception {
    send("POST", "/registered-models/create", "{\"name\": \"http-reborn\"}");
    send("POST", "/model-versions/create", "{\"name\": \"http-reborn\", \"source\": \"s3://a\"}");
    send("DELETE", "/registered-models/delete", "{\"name\": \"http-reborn\"}");

    HttpResponse<String> created =
        send("POST", "/registered-models/create", "{\"name\": \"http-reborn\"}");
    HttpResponse<String> version =
        send(
            "POST",
            "/model-versions/create",
            "{\"name\": \"http-reborn\", \"source\": \"s3://b\"}");

    assertThat(created.statusCode()).as(created.body()).isEqualTo(200);
    assertThat(MlflowServer.json(created).at("/registered_model/latest_versions")).isEmpty();
    assertThat(MlflowServer.json(version).at("/model_version/version").asText())
        .as("version numbers continue after the deleted model's versions")
        .isEqualTo("2");
  }

  @Test
  void updateUsesPatchAndAjaxPrefix() throws Exception {
    HttpResponse<String> response =
        server.send(
            "PATCH",
            "/ajax-api/2.0/mlflow/model-versions/update",
            server.operatorSecret,
            "{\"name\": \"http-trained\", \"version\": \"1\", \"description\": \"patched\"}");

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode version = MlflowServer.json(response).get("model_version");
    assertThat(version.get("description").asText()).isEqualTo("patched");
    assertThat(version.get("version").asText()).isEqualTo("1");
    assertThat(getVersion("http-trained", 1).get("description").asText()).isEqualTo("patched");
  }

  @Test
  void downloadUriIsTheSource() throws Exception {
    HttpResponse<String> response =
        server.send(
            "GET",
            API + "/model-versions/get-download-uri?name=http-trained&version=2",
            server.viewerSecret,
            null);

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode body = MlflowServer.json(response);
    assertThat(body.get("artifact_uri").asText()).isEqualTo("models/http-trained/2");
    assertThat(body.size()).isEqualTo(1);
  }

  @Test
  void getLatestVersionsAcceptsPostBody() throws Exception {
    HttpResponse<String> response =
        server.send(
            "POST",
            API + "/registered-models/get-latest-versions",
            server.viewerSecret,
            "{\"name\": \"http-trained\", \"stages\": [\"None\"]}");

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode versions = MlflowServer.json(response).get("model_versions");
    assertThat(versions).hasSize(1);
    assertThat(versions.get(0).get("version").asText()).isEqualTo("2");
    assertThat(versions.get(0).get("current_stage").asText()).isEqualTo("None");
  }

  @Test
  void viewerCannotDeleteOrSetAlias() throws Exception {
    HttpResponse<String> delete =
        server.send(
            "DELETE",
            API + "/registered-models/delete",
            server.viewerSecret,
            "{\"name\": \"http-trained\"}");
    HttpResponse<String> alias =
        server.send(
            "POST",
            API + "/registered-models/alias",
            server.viewerSecret,
            "{\"name\": \"http-trained\", \"alias\": \"x\", \"version\": \"1\"}");

    assertThat(delete.statusCode()).isEqualTo(403);
    assertThat(alias.statusCode()).isEqualTo(403);
    assertThat(server.evergreen.registry().models()).contains("http-trained");
  }

  private static JsonNode getVersion(String name, int version) throws Exception {
    HttpResponse<String> response =
        server.send(
            "GET",
            API + "/model-versions/get?name=" + name + "&version=" + version,
            server.viewerSecret,
            null);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return MlflowServer.json(response).get("model_version");
  }

  private static JsonNode getModel(String name) throws Exception {
    HttpResponse<String> response =
        server.send("GET", API + "/registered-models/get?name=" + name, server.viewerSecret, null);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return MlflowServer.json(response).get("registered_model");
  }

  private static HttpResponse<String> send(String method, String path, String body)
      throws Exception {
    return server.send(method, API + path, server.operatorSecret, body);
  }
}
