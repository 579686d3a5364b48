package dev.evergreen.server.mlflow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mlflow.api.proto.Service.RunInfo;

/** The MLflow artifact proxy over raw HTTP: upload, download, list, delete and path checks. */
class MlflowArtifactsTest {
  private static final String ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts";

  @TempDir static Path dir;
  @TempDir static Path outside;

  private static MlflowServer server;
  private static Path root;
  private static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  @BeforeAll
  static void start() throws Exception {
    server = new MlflowServer(dir);
    root = dir.resolve("mlflow-artifacts");
    Files.writeString(outside.resolve("secret.txt"), "outside the root");
    Files.createDirectories(root.resolve("links"));
    Files.createSymbolicLink(root.resolve("links/out"), outside);
    Files.createSymbolicLink(root.resolve("links/secret.txt"), outside.resolve("secret.txt"));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void uploadThenDownloadReturnsSameBytes() throws Exception {
    // Larger than the 8 MiB body limit of the JSON endpoints, so the body must stream.
    byte[] content = new byte[12 * 1024 * 1024 + 17];
    new Random(7).nextBytes(content);

    HttpResponse<String> uploaded =
        put("/0/run-a/artifacts/model/model.bin", content, server.operatorSecret);
    assertThat(uploaded.statusCode()).isEqualTo(200);
    assertThat(MlflowServer.json(uploaded).size()).isZero();

    HttpResponse<byte[]> downloaded =
        get(ARTIFACTS + "/0/run-a/artifacts/model/model.bin", server.viewerSecret);
    assertThat(downloaded.statusCode()).isEqualTo(200);
    assertThat(downloaded.headers().firstValue("content-length"))
        .hasValue(Integer.toString(content.length));
    assertThat(downloaded.headers().firstValue("x-content-type-options")).hasValue("nosniff");
    assertThat(downloaded.body()).isEqualTo(content);
    assertThat(root.resolve("0/run-a/artifacts/model/model.bin")).hasBinaryContent(content);
    try (var uploads = Files.list(root.resolve(".uploads"))) {
      assertThat(uploads).isEmpty();
    }
  }

  @Test
  void uploadReplacesExistingFile() throws Exception {
    put("/0/run-b/artifacts/notes.txt", bytes("first"), server.operatorSecret);

    HttpResponse<String> second =
        put("/0/run-b/artifacts/notes.txt", bytes("second"), server.operatorSecret);

    assertThat(second.statusCode()).isEqualTo(200);
    HttpResponse<byte[]> downloaded =
        get(ARTIFACTS + "/0/run-b/artifacts/notes.txt", server.viewerSecret);
    assertThat(new String(downloaded.body(), StandardCharsets.UTF_8)).isEqualTo("second");
  }

  @Test
  void uploadOfEmptyFileAndEncodedName() throws Exception {
    HttpResponse<String> uploaded =
        put("/0/run-c/artifacts/with%20space+plus.txt", new byte[0], server.operatorSecret);

    assertThat(uploaded.statusCode()).isEqualTo(200);
    assertThat(root.resolve("0/run-c/artifacts/with space+plus.txt")).exists().isEmptyFile();
  }

  @Test
  void listShowsFilesAndFolders() throws Exception {
    put("/0/run-d/artifacts/model/MLmodel", bytes("flavors: {}"), server.operatorSecret);
    put("/0/run-d/artifacts/metrics.txt", bytes("auc 0.9"), server.operatorSecret);

    JsonNode listed = getJson(ARTIFACTS + "?path=0/run-d/artifacts", server.viewerSecret);

    JsonNode files = listed.get("files");
    assertThat(files).hasSize(2);
    assertThat(files.get(0).get("path").asText()).isEqualTo("metrics.txt");
    assertThat(files.get(0).get("is_dir").asBoolean()).isFalse();
    assertThat(files.get(0).get("file_size").asLong()).isEqualTo(7);
    assertThat(files.get(1).get("path").asText()).isEqualTo("model");
    assertThat(files.get(1).get("is_dir").asBoolean()).isTrue();
    assertThat(files.get(1).has("file_size")).isFalse();
  }

  @Test
  void listOfMissingFolderIsEmpty() throws Exception {
    JsonNode listed = getJson(ARTIFACTS + "?path=9/none", server.viewerSecret);

    assertThat(listed.get("files")).isEmpty();
  }

  @Test
  void listOfRootHidesUploadsFolder() throws Exception {
    put("/0/run-e/artifacts/a.txt", bytes("a"), server.operatorSecret);

    JsonNode listed = getJson(ARTIFACTS, server.viewerSecret);

    List<String> names = listed.get("files").findValuesAsText("path");
    assertThat(names).contains("0").doesNotContain(".uploads");
  }

  @Test
  void deleteRemovesFileThenFolder() throws Exception {
    put("/0/run-f/artifacts/plots/roc.png", bytes("png"), server.operatorSecret);
    put("/0/run-f/artifacts/plots/pr.png", bytes("png"), server.operatorSecret);

    HttpResponse<String> deletedFile =
        send("DELETE", ARTIFACTS + "/0/run-f/artifacts/plots/roc.png", server.operatorSecret);
    assertThat(deletedFile.statusCode()).isEqualTo(200);
    assertThat(root.resolve("0/run-f/artifacts/plots/roc.png")).doesNotExist();
    assertThat(
            get(ARTIFACTS + "/0/run-f/artifacts/plots/roc.png", server.viewerSecret).statusCode())
        .isEqualTo(404);

    HttpResponse<String> deletedFolder =
        send("DELETE", ARTIFACTS + "/0/run-f/artifacts/plots", server.operatorSecret);
    assertThat(deletedFolder.statusCode()).isEqualTo(200);
    assertThat(root.resolve("0/run-f/artifacts/plots")).doesNotExist();
  }

  @Test
  void deleteOfMissingFileIsNotFound() throws Exception {
    HttpResponse<String> response =
        send("DELETE", ARTIFACTS + "/0/none/artifacts/x.txt", server.operatorSecret);

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(MlflowServer.json(response).get("error_code").asText())
        .isEqualTo("RESOURCE_DOES_NOT_EXIST");
  }

  @Test
  void downloadOfMissingFileIsNotFound() throws Exception {
    HttpResponse<byte[]> response = get(ARTIFACTS + "/0/none/artifacts/x.txt", server.viewerSecret);

    assertThat(response.statusCode()).isEqualTo(404);
  }

  @Test
  void downloadOfFolderIsInvalid() throws Exception {
    put("/0/run-g/artifacts/folder/file.txt", bytes("x"), server.operatorSecret);

    HttpResponse<String> response =
        send("GET", ARTIFACTS + "/0/run-g/artifacts/folder", server.viewerSecret);

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(MlflowServer.json(response).get("message").asText()).contains("folder");
  }

  @Test
  void uploadNeedsOperatorRole() throws Exception {
    HttpResponse<String> response =
        put("/0/run-h/artifacts/x.txt", bytes("x"), server.viewerSecret);

    assertThat(response.statusCode()).isEqualTo(403);
    assertThat(root.resolve("0/run-h/artifacts/x.txt")).doesNotExist();
  }

  @Test
  void deleteNeedsOperatorRole() throws Exception {
    put("/0/run-i/artifacts/x.txt", bytes("x"), server.operatorSecret);

    HttpResponse<String> response =
        send("DELETE", ARTIFACTS + "/0/run-i/artifacts/x.txt", server.viewerSecret);

    assertThat(response.statusCode()).isEqualTo(403);
    assertThat(root.resolve("0/run-i/artifacts/x.txt")).exists();
  }

  @Test
  void downloadNeedsToken() throws Exception {
    put("/0/run-j/artifacts/x.txt", bytes("x"), server.operatorSecret);

    HttpResponse<byte[]> response = get(ARTIFACTS + "/0/run-j/artifacts/x.txt", null);

    assertThat(response.statusCode()).isEqualTo(401);
  }

  @Test
  void ajaxPrefixServesArtifacts() throws Exception {
    put("/0/run-k/artifacts/x.txt", bytes("ajax"), server.operatorSecret);

    HttpResponse<byte[]> response =
        get(
            "/ajax-api/2.0/mlflow-artifacts/artifacts/0/run-k/artifacts/x.txt",
            server.viewerSecret);

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(new String(response.body(), StandardCharsets.UTF_8)).isEqualTo("ajax");
  }

  @Test
  void runGetsProxiedArtifactUriAndListsItsFiles() throws Exception {
    RunInfo run = server.client().createRun("0");
    String runRoot = "/0/" + run.getRunId() + "/artifacts";
    assertThat(run.getArtifactUri()).isEqualTo("mlflow-artifacts:" + runRoot);
    put(runRoot + "/model/MLmodel", bytes("flavors: {}"), server.operatorSecret);
    put(runRoot + "/readme.txt", bytes("hello"), server.operatorSecret);

    JsonNode top =
        getJson("/api/2.0/mlflow/artifacts/list?run_id=" + run.getRunId(), server.viewerSecret);
    assertThat(top.get("root_uri").asText()).isEqualTo(run.getArtifactUri());
    assertThat(top.get("files").findValuesAsText("path")).containsExactly("model", "readme.txt");
    assertThat(top.get("files").get(1).get("file_size").asLong()).isEqualTo(5);

    JsonNode model =
        getJson(
            "/api/2.0/mlflow/artifacts/list?run_id=" + run.getRunId() + "&path=model",
            server.viewerSecret);
    assertThat(model.get("files").findValuesAsText("path")).containsExactly("model/MLmodel");
    assertThat(model.get("files").get(0).get("is_dir").asBoolean()).isFalse();
  }

  @Test
  void runListRejectsTraversal() throws Exception {
    RunInfo run = server.client().createRun("0");

    HttpResponse<String> response =
        send(
            "GET",
            "/api/2.0/mlflow/artifacts/list?run_id=" + run.getRunId() + "&path=../..",
            server.viewerSecret);

    assertInvalid(response, "../..");
  }

  @Test
  void dotDotSegmentsRejected() throws Exception {
    assertInvalid(
        put("/0/run/artifacts/../../../outside.txt", bytes("x"), server.operatorSecret),
        "0/run/artifacts/../../../outside.txt");
    assertInvalid(send("GET", ARTIFACTS + "/0/a/../b.txt", server.viewerSecret), "0/a/../b.txt");
    assertThat(outside.resolve("outside.txt")).doesNotExist();
    assertThat(dir.resolve("outside.txt")).doesNotExist();
  }

  @Test
  void encodedDotDotSegmentsRejected() throws Exception {
    HttpResponse<String> response =
        put("/0/..%2F..%2F..%2Foutside.txt", bytes("x"), server.operatorSecret);

    assertInvalid(response, "0/../../../outside.txt");
    assertThat(dir.resolve("outside.txt")).doesNotExist();
  }

  @Test
  void absolutePathRejected() throws Exception {
    assertInvalid(send("GET", ARTIFACTS + "/%2Fetc%2Fpasswd", server.viewerSecret), "/etc/passwd");
    assertInvalid(send("GET", ARTIFACTS + "//etc/passwd", server.viewerSecret), "/etc/passwd");
    assertInvalid(send("GET", ARTIFACTS + "?path=/etc", server.viewerSecret), "/etc");
  }

  @Test
  void backslashRejected() throws Exception {
    assertInvalid(put("/0/a%5C..%5Cb.txt", bytes("x"), server.operatorSecret), "0/a\\..\\b.txt");
    assertInvalid(send("GET", ARTIFACTS + "?path=0%5Ca", server.viewerSecret), "0\\a");
  }

  @Test
  void nulCharacterRejected() throws Exception {
    assertInvalid(send("GET", ARTIFACTS + "/0/a%00.txt", server.viewerSecret), "0/a\\u0000.txt");
    assertInvalid(put("/0/b%00.txt", bytes("x"), server.operatorSecret), "0/b\\u0000.txt");
  }

  @Test
  void listRejectsDotDot() throws Exception {
    assertInvalid(send("GET", ARTIFACTS + "?path=0/../..", server.viewerSecret), "0/../..");
  }

  @Test
  void symlinkFolderEscapingRootRejected() throws Exception {
    assertInvalid(
        send("GET", ARTIFACTS + "/links/out/secret.txt", server.viewerSecret),
        "links/out/secret.txt");
    assertInvalid(
        put("/links/out/new.txt", bytes("x"), server.operatorSecret), "links/out/new.txt");
    assertInvalid(
        put("/links/out/sub/new.txt", bytes("x"), server.operatorSecret), "links/out/sub/new.txt");
    assertInvalid(
        send("DELETE", ARTIFACTS + "/links/out/secret.txt", server.operatorSecret),
        "links/out/secret.txt");
    assertInvalid(send("GET", ARTIFACTS + "?path=links/out", server.viewerSecret), "links/out");

    assertThat(outside.resolve("new.txt")).doesNotExist();
    assertThat(outside.resolve("sub")).doesNotExist();
    assertThat(outside.resolve("secret.txt")).hasContent("outside the root");
  }

  @Test
  void symlinkFileEscapingRootRejected() throws Exception {
    assertInvalid(
        send("GET", ARTIFACTS + "/links/secret.txt", server.viewerSecret), "links/secret.txt");
    assertInvalid(
        put("/links/secret.txt", bytes("overwritten"), server.operatorSecret), "links/secret.txt");

    assertThat(outside.resolve("secret.txt")).hasContent("outside the root");
  }

  @Test
  void listSkipsSymlinksEscapingRoot() throws Exception {
    JsonNode listed = getJson(ARTIFACTS + "?path=links", server.viewerSecret);

    assertThat(listed.get("files")).isEmpty();
  }

  @Test
  void uploadsFolderIsReserved() throws Exception {
    assertInvalid(put("/.uploads/x.tmp", bytes("x"), server.operatorSecret), ".uploads/x.tmp");
  }

  // Helpers

  private static void assertInvalid(HttpResponse<String> response, String path) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    JsonNode body = MlflowServer.json(response);
    assertThat(body.get("error_code").asText()).isEqualTo("INVALID_PARAMETER_VALUE");
    assertThat(body.get("message").asText()).contains("'" + path + "'");
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static HttpResponse<String> put(String path, byte[] body, String secret)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(server.url() + ARTIFACTS + path))
            .timeout(Duration.ofSeconds(60))
            .PUT(HttpRequest.BodyPublishers.ofByteArray(body));
    if (secret != null) {
      request.header("Authorization", "Bearer " + secret);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<byte[]> get(String path, String secret) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(server.url() + path)).timeout(Duration.ofSeconds(60));
    if (secret != null) {
      request.header("Authorization", "Bearer " + secret);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static HttpResponse<String> send(String method, String path, String secret)
      throws Exception {
    return server.send(method, path, secret, null);
  }

  private static JsonNode getJson(String path, String secret) throws Exception {
    HttpResponse<String> response = send("GET", path, secret);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return MlflowServer.json(response);
  }
}
