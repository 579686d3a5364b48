package dev.evergreen.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.core.serving.InputBatch;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Requests of at least {@link Scoring#LARGE_REQUEST_BYTES}, which are decoded and scored on a
 * worker thread, return the same scores as the same rows in small requests, over V2 REST and
 * MLflow's {@code /invocations}, and fail with the same messages.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LargeRequestsTest {
  private static final String INFER = "/v2/models/" + ServerFixture.MODEL + "/infer";

  private ServerFixture fixture;

  /** The check rows repeated until a V2 body of them passes the large-request size. */
  private InputBatch rows;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fixture = new ServerFixture(dir);
    InputBatch check = fixture.binaryCheck.inputs();
    int copies = 1;
    while (bodyBytes(repeat(check, copies)) < 2 * Scoring.LARGE_REQUEST_BYTES) {
      copies *= 2;
    }
    rows = repeat(check, copies);
  }

  @AfterAll
  void stop() {
    fixture.close();
  }

  private static InputBatch repeat(InputBatch batch, int copies) {
    Map<String, double[]> numeric = new HashMap<>();
    batch.numeric().forEach((name, values) -> numeric.put(name, repeat(values, copies)));
    Map<String, String[]> text = new HashMap<>();
    batch.text().forEach((name, values) -> text.put(name, repeat(values, copies)));
    return new InputBatch(batch.rows() * copies, numeric, text);
  }

  private static double[] repeat(double[] values, int copies) {
    double[] repeated = new double[values.length * copies];
    for (int i = 0; i < copies; i++) {
      System.arraycopy(values, 0, repeated, i * values.length, values.length);
    }
    return repeated;
  }

  private static String[] repeat(String[] values, int copies) {
    String[] repeated = new String[values.length * copies];
    for (int i = 0; i < copies; i++) {
      System.arraycopy(values, 0, repeated, i * values.length, values.length);
    }
    return repeated;
  }

  private static int bodyBytes(InputBatch batch) {
    return v2Body(batch).getBytes(StandardCharsets.UTF_8).length;
  }

  private static String v2Body(InputBatch batch) {
    return ServerFixture.inferRequest(batch, ProtocolRequests.INPUTS, batch.rows()).toString();
  }

  private static double[] doubles(JsonNode array) {
    double[] values = new double[array.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = array.get(i).asDouble();
    }
    return values;
  }

  /** Returns the scores of the check rows, each scored in a small request. */
  private double[] smallScores() throws Exception {
    InputBatch check = fixture.binaryCheck.inputs();
    return doubles(ProtocolRequests.v2Scores(fixture, ServerFixture.MODEL, check, check.rows()));
  }

  @Test
  void largeV2RequestScoresAsSmallOnes() throws Exception {
    String body = v2Body(rows);
    assertThat(body.length()).isGreaterThanOrEqualTo(Scoring.LARGE_REQUEST_BYTES);

    HttpResponse<String> response = fixture.send("POST", INFER, fixture.viewerSecret, body);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    double[] scores = doubles(ServerFixture.json(response).get("outputs").get(0).get("data"));
    double[] small = smallScores();
    assertThat(scores).hasSize(rows.rows());
    for (int copy = 0; copy < rows.rows() / small.length; copy++) {
      assertThat(Arrays.copyOfRange(scores, copy * small.length, (copy + 1) * small.length))
          .containsExactly(small);
    }
  }

  @Test
  void largeMlflowRequestScoresAsSmallOnes() throws Exception {
    ObjectNode split = ServerFixture.JSON.createObjectNode();
    ObjectNode frame = split.putObject("dataframe_split");
    ProtocolRequests.INPUTS.forEach(spec -> frame.withArray("columns").add(spec.name()));
    frame.set("data", ProtocolRequests.arrays(rows, rows.rows()));

    HttpResponse<String> response =
        ProtocolRequests.post(
            fixture,
            "/invocations?model=" + ServerFixture.MODEL,
            fixture.viewerSecret,
            "application/json",
            split.toString());

    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    double[] predictions = doubles(ServerFixture.json(response).get("predictions"));
    double[] small = smallScores();
    assertThat(
            Arrays.copyOfRange(predictions, predictions.length - small.length, predictions.length))
        .containsExactly(small);
  }

  @Test
  void invalidLargeRequestNamesTheValue() throws Exception {
    String body = v2Body(rows);
    // The last distance becomes a string, the kind of error found only after the whole body is
    // read.
    int last = body.lastIndexOf("\"data\":[", body.indexOf("\"origin\""));
    int end = body.indexOf(']', last);
    String broken = body.substring(0, end) + ",\"far\"" + body.substring(end);
    broken = broken.replaceFirst("\"shape\":\\[(\\d+)\\]", "\"shape\":[" + (rows.rows() + 1) + "]");

    HttpResponse<String> response = fixture.send("POST", INFER, fixture.viewerSecret, broken);

    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(ProtocolRequests.error(response))
        .contains("input 'distance' (FP64) contains the string \"far\"");
  }
}
