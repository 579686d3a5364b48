package dev.evergreen.server;

import static dev.evergreen.server.ServerFixture.MODEL;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.core.serving.InputBatch;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sends MLflow's pandas formats, {@code dataframe_split} and {@code dataframe_records}, to {@code
 * /invocations} and checks that values bind to inputs by column name only, as MLflow's signature
 * check does.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MlflowDataframeColumnsTest {
  private static final String INVOCATIONS = "/invocations?model=" + MODEL;

  private ServerFixture fixture;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private HttpResponse<String> invoke(String body) throws Exception {
    return ProtocolRequests.post(
        fixture, INVOCATIONS, fixture.viewerSecret, "application/json", body);
  }

  private InputBatch rows() {
    return fixture.binaryCheck.inputs();
  }

  private static ObjectNode split(ObjectNode request) {
    return request.putObject("dataframe_split");
  }

  private static void putColumns(ObjectNode split) {
    ArrayNode columns = split.putArray("columns");
    ProtocolRequests.INPUTS.forEach(spec -> columns.add(spec.name()));
  }

  @Test
  void splitWithoutColumnsIsRejected() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    split(request).set("data", ProtocolRequests.arrays(rows(), 2));

    HttpResponse<String> response = invoke(request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("dataframe_split.columns is missing")
        .contains("by column name")
        .contains(
            "{\"dataframe_split\": {\"columns\": [\"distance\", \"origin\", \"destination\","
                + " \"date\"], \"data\": [[...], ...]}}");
  }

  @Test
  void splitWithNullColumnsIsRejected() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    ObjectNode split = split(request);
    split.putNull("columns");
    split.set("data", ProtocolRequests.arrays(rows(), 2));

    HttpResponse<String> response = invoke(request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response)).contains("dataframe_split.columns is missing");
  }

  @Test
  void splitIndexIsIgnored() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    ObjectNode split = split(request);
    split.putArray("index").add("first").add(7).add(1.5);
    putColumns(split);
    split.set("data", ProtocolRequests.arrays(rows(), 3));

    HttpResponse<String> response = invoke(request.toString());

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode predictions = ServerFixture.json(response).get("predictions");
    JsonNode expected = ProtocolRequests.v2Scores(fixture, MODEL, rows(), 3);
    assertThat(predictions).hasSize(3);
    for (int row = 0; row < 3; row++) {
      assertThat(predictions.get(row).asDouble()).isEqualTo(expected.get(row).asDouble());
    }
  }

  @Test
  void splitIndexOfOtherLengthIsRejected() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    ObjectNode split = split(request);
    split.putArray("index").add(0).add(1).add(2);
    putColumns(split);
    split.set("data", ProtocolRequests.arrays(rows(), 2));

    HttpResponse<String> response = invoke(request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("dataframe_split.index has 3 entries but dataframe_split.data has 2 rows");
  }

  @Test
  void splitShortRowIsNamed() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    ObjectNode split = split(request);
    putColumns(split);
    ArrayNode data = ProtocolRequests.arrays(rows(), 3);
    ((ArrayNode) data.get(2)).remove(3);
    split.set("data", data);

    HttpResponse<String> response = invoke(request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains(
            "dataframe_split.data[2] must be an array of 4 values, one per column of"
                + " dataframe_split.columns, but has 3")
        .contains("send one value per column in each row");
  }

  @Test
  void splitLongRowIsNamed() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    ObjectNode split = split(request);
    putColumns(split);
    ArrayNode data = ProtocolRequests.arrays(rows(), 2);
    ((ArrayNode) data.get(1)).add(1);
    split.set("data", data);

    HttpResponse<String> response = invoke(request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains(
            "dataframe_split.data[1] must be an array of 4 values, one per column of"
                + " dataframe_split.columns, but has 5");
  }

  @Test
  void recordAsArrayIsRejected() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    ArrayNode records = ProtocolRequests.records(rows(), 3);
    records.add(
        ServerFixture.JSON
            .createArrayNode()
            .add(733)
            .add("BOS")
            .add("ORD")
            .add("2001-03-05T07:15:00"));
    request.set("dataframe_records", records);

    HttpResponse<String> response = invoke(request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("dataframe_records[3] is an array")
        .contains("each record must be an object keyed by column name")
        .contains(
            "{\"distance\": 733, \"origin\": \"BOS\", \"destination\": \"ORD\","
                + " \"date\": \"2001-03-05T07:15:00\"}");
  }

  @Test
  void recordsAllArraysAreRejected() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    request.set("dataframe_records", ProtocolRequests.arrays(rows(), 2));

    HttpResponse<String> response = invoke(request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response)).contains("dataframe_records[0] is an array");
  }

  @Test
  void recordOfOtherWidthShowsPlaceholders() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    request.set(
        "dataframe_records",
        ServerFixture.JSON.createArrayNode().add(ServerFixture.JSON.createArrayNode().add(1)));

    HttpResponse<String> response = invoke(request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("dataframe_records[0] is an array")
        .contains("{\"distance\": ..., \"origin\": ..., \"destination\": ..., \"date\": ...}");
  }

  @Test
  void recordOfScalarIsRejected() throws Exception {
    HttpResponse<String> response = invoke("{\"dataframe_records\": [5]}");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("dataframe_records[0] is the number 5")
        .contains("each record must be an object keyed by column name");
  }

  @Test
  void splitUnknownKeyIsRejected() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    ObjectNode split = split(request);
    putColumns(split);
    split.set("data", ProtocolRequests.arrays(rows(), 2));
    split.put("orient", "split");

    HttpResponse<String> response = invoke(request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("dataframe_split.orient is an unknown key")
        .contains("dataframe_split takes only the keys columns, data and index")
        .contains("orient=\"split\"");
  }

  @Test
  void splitMisspeltColumnsIsNamed() throws Exception {
    ObjectNode request = ServerFixture.JSON.createObjectNode();
    ObjectNode split = split(request);
    ArrayNode columns = split.putArray("colums");
    ProtocolRequests.INPUTS.forEach(spec -> columns.add(spec.name()));
    split.set("data", ProtocolRequests.arrays(rows(), 2));

    HttpResponse<String> response = invoke(request.toString());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .startsWith("dataframe_split.colums is an unknown key")
        .doesNotContain("columns is missing");
  }

  @Test
  void splitEmptyKeyIsQuoted() throws Exception {
    String body = "{\"dataframe_split\": {\"\": 1, \"columns\": [], \"data\": []}}";

    HttpResponse<String> response = invoke(body);

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .startsWith("dataframe_split[\"\"] is an unknown key");
  }

  @Test
  void splitUnknownKeyIsAbbreviated() throws Exception {
    String key = "k".repeat(60);
    String body = "{\"dataframe_split\": {\"" + key + "\": 1, \"columns\": [], \"data\": []}}";

    HttpResponse<String> response = invoke(body);

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("dataframe_split." + "k".repeat(40) + "... is an unknown key")
        .doesNotContain(key);
  }
}
