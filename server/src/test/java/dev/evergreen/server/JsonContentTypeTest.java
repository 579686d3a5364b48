package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.MODEL;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sends inference requests with and without a Content-Type to V2 {@code infer}, KServe V1 {@code
 * :predict} and MLflow's {@code /invocations}, and checks which ones each endpoint reads.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JsonContentTypeTest {
  private static final String PREDICT = "/v1/models/" + MODEL + ":predict";
  private static final String INFER = "/v2/models/" + MODEL + "/infer";
  private static final String INVOCATIONS = "/invocations?model=" + MODEL;

  private ServerFixture fixture;
  private String v1Body;
  private String v2Body;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
    ObjectNode v1 = ServerFixture.JSON.createObjectNode();
    v1.set("instances", ProtocolRequests.records(fixture.binaryCheck.inputs(), 2));
    v1Body = v1.toString();
    v2Body =
        ServerFixture.inferRequest(fixture.binaryCheck.inputs(), ProtocolRequests.INPUTS, 2)
            .toString();
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private HttpResponse<String> post(String path, String contentType, String body) throws Exception {
    return ProtocolRequests.post(fixture, path, fixture.viewerSecret, contentType, body);
  }

  @Test
  void v1PlainTextIsUnsupported() throws Exception {
    HttpResponse<String> response = post(PREDICT, "text/plain", v1Body);

    assertThat(response.statusCode()).isEqualTo(415);
    assertThat(ProtocolRequests.error(response))
        .contains("Content-Type 'text/plain' is not supported")
        .contains("send the body as JSON with Content-Type application/json");
  }

  @Test
  void v1CsvIsUnsupported() throws Exception {
    HttpResponse<String> response =
        post(PREDICT, "text/csv", "distance,origin,destination,date\n733,BOS,ORD,\n");

    assertThat(response.statusCode()).isEqualTo(415);
    assertThat(ProtocolRequests.error(response))
        .contains("Content-Type 'text/csv' is not supported");
  }

  @Test
  void v1JsonVariantsAreRead() throws Exception {
    List<String> types =
        List.of(
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON;charset=\"UTF-8\"",
            "application/json; charset=utf8",
            "application/json; charset=US-ASCII",
            "application/vnd.kserve.v1+json");
    for (String type : types) {
      HttpResponse<String> response = post(PREDICT, type, v1Body);

      assertThat(response.statusCode()).as("%s: %s", type, response.body()).isEqualTo(200);
    }
  }

  @Test
  void v1MissingContentTypeIsJson() throws Exception {
    HttpResponse<String> response = post(PREDICT, null, v1Body);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    assertThat(ServerFixture.json(response).get("predictions")).hasSize(2);
  }

  @Test
  void curlDefaultTypeIsJson() throws Exception {
    HttpResponse<String> v1 = post(PREDICT, "application/x-www-form-urlencoded", v1Body);
    HttpResponse<String> v2 = post(INFER, "application/x-www-form-urlencoded", v2Body);

    assertThat(v1.statusCode()).as(v1.body()).isEqualTo(200);
    assertThat(v2.statusCode()).as(v2.body()).isEqualTo(200);
  }

  @Test
  void v1NonUtf8CharsetIsUnsupported() throws Exception {
    HttpResponse<String> response = post(PREDICT, "application/json; charset=ISO-8859-1", v1Body);

    assertThat(response.statusCode()).isEqualTo(415);
    assertThat(ProtocolRequests.error(response))
        .contains("charset 'iso-8859-1' is not supported; send the body as UTF-8");
  }

  @Test
  void v1TokenIsCheckedBeforeContentType() throws Exception {
    HttpResponse<String> response =
        ProtocolRequests.post(fixture, PREDICT, null, "text/plain", v1Body);

    assertThat(response.statusCode()).isEqualTo(401);
  }

  @Test
  void v2PlainTextIsUnsupported() throws Exception {
    HttpResponse<String> response = post(INFER, "text/plain", v2Body);

    assertThat(response.statusCode()).isEqualTo(415);
    assertThat(ProtocolRequests.error(response))
        .contains("Content-Type 'text/plain' is not supported")
        .contains("application/json");
  }

  @Test
  void v2MissingContentTypeIsJson() throws Exception {
    HttpResponse<String> response = post(INFER, null, v2Body);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
  }

  @Test
  void v2JsonWithCharsetIsRead() throws Exception {
    HttpResponse<String> response = post(INFER, "application/json; charset=utf-8", v2Body);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
  }

  @Test
  void v2BinaryExtensionIsNamed() throws Exception {
    HttpRequest request =
        HttpRequest.newBuilder(fixture.uri(INFER))
            .timeout(Duration.ofSeconds(60))
            .header("Authorization", "Bearer " + fixture.viewerSecret)
            .header("Content-Type", "application/octet-stream")
            .header("Inference-Header-Content-Length", Integer.toString(v2Body.length()))
            .POST(HttpRequest.BodyPublishers.ofString(v2Body))
            .build();

    HttpResponse<String> response =
        fixture.http.send(request, HttpResponse.BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(415);
    assertThat(ProtocolRequests.error(response))
        .contains("Content-Type 'application/octet-stream' is not supported")
        .contains("binary tensor data extension");
  }

  @Test
  void versionedV2InferChecksContentType() throws Exception {
    HttpResponse<String> response =
        post("/v2/models/" + MODEL + "/versions/1/infer", "text/plain", v2Body);

    assertThat(response.statusCode()).isEqualTo(415);
  }

  @Test
  void mlflowMissingContentTypeIsNamed() throws Exception {
    HttpResponse<String> response = post(INVOCATIONS, null, v1Body);

    assertThat(response.statusCode()).isEqualTo(415);
    assertThat(ProtocolRequests.error(response))
        .contains("Content-Type is missing; send application/json or text/csv");
  }

  @Test
  void mlflowJsonSuffixIsUnsupported() throws Exception {
    HttpResponse<String> response = post(INVOCATIONS, "application/vnd.kserve.v1+json", v1Body);

    assertThat(response.statusCode()).isEqualTo(415);
    assertThat(ProtocolRequests.error(response))
        .contains("Content-Type 'application/vnd.kserve.v1+json' is not supported");
  }

  /** Sends a POST with one Content-Type header per value. */
  private HttpResponse<String> postWithTypes(String path, String body, String... contentTypes)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(fixture.uri(path))
            .timeout(Duration.ofSeconds(60))
            .header("Authorization", "Bearer " + fixture.viewerSecret)
            .POST(HttpRequest.BodyPublishers.ofString(body));
    for (String type : contentTypes) {
      request.header("Content-Type", type);
    }
    return fixture.http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void v1TwoContentTypesAreRejected() throws Exception {
    HttpResponse<String> response =
        postWithTypes(PREDICT, v1Body, "application/json", "text/plain");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .isEqualTo(
            "request has 2 Content-Type headers, 'application/json' and 'text/plain'; send"
                + " exactly one Content-Type header");
  }

  @Test
  void v1TwoEqualContentTypesAreRejected() throws Exception {
    HttpResponse<String> response =
        postWithTypes(PREDICT, v1Body, "application/json", "application/json");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("request has 2 Content-Type headers, 'application/json' and 'application/json'");
  }

  @Test
  void v2ThreeContentTypesAreNamed() throws Exception {
    HttpResponse<String> response =
        postWithTypes(
            INFER, v2Body, "application/json", "text/plain", "application/json; charset=utf-8");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains(
            "request has 3 Content-Type headers, 'application/json', 'text/plain' and"
                + " 'application/json; charset=utf-8'");
  }

  @Test
  void mlflowTwoContentTypesAreRejected() throws Exception {
    HttpResponse<String> response =
        postWithTypes(INVOCATIONS, v1Body, "text/csv", "application/json");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("request has 2 Content-Type headers, 'text/csv' and 'application/json'");
  }

  @Test
  void twoContentTypesNeedTokenFirst() throws Exception {
    HttpRequest request =
        HttpRequest.newBuilder(fixture.uri(PREDICT))
            .timeout(Duration.ofSeconds(60))
            .header("Content-Type", "application/json")
            .header("Content-Type", "text/plain")
            .POST(HttpRequest.BodyPublishers.ofString(v1Body))
            .build();

    HttpResponse<String> response =
        fixture.http.send(request, HttpResponse.BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(401);
  }

  @Test
  void v1ParametersOnlyAreUnsupported() throws Exception {
    HttpResponse<String> response = post(PREDICT, "; charset=utf-8", v1Body);

    assertThat(response.statusCode()).isEqualTo(415);
    assertThat(ProtocolRequests.error(response))
        .isEqualTo(
            "Content-Type '; charset=utf-8' is not supported, because it has no media type;"
                + " send the body as JSON with Content-Type application/json");
  }

  @Test
  void v2ParametersOnlyAreUnsupported() throws Exception {
    HttpResponse<String> response = post(INFER, ";charset=ISO-8859-1", v2Body);

    assertThat(response.statusCode()).isEqualTo(415);
    assertThat(ProtocolRequests.error(response))
        .contains("Content-Type ';charset=ISO-8859-1' is not supported, because it has no media");
  }

  @Test
  void mlflowParametersOnlyAreUnsupported() throws Exception {
    HttpResponse<String> response = post(INVOCATIONS, "; charset=utf-8", v1Body);

    assertThat(response.statusCode()).isEqualTo(415);
    assertThat(ProtocolRequests.error(response))
        .isEqualTo(
            "Content-Type '; charset=utf-8' is not supported, because it has no media type;"
                + " send application/json or text/csv");
  }
}
