package dev.evergreen.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.TensorSpec;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/**
 * Request bodies for the KServe V1 and MLflow scoring tests, built from check rows of the flight
 * models, and the V2 scores of the same rows to compare predictions with.
 */
final class ProtocolRequests {
  /** Inputs of the flight models in signature order. */
  static final List<TensorSpec> INPUTS =
      List.of(
          new TensorSpec("distance", "FP64", List.of(-1L)),
          new TensorSpec("origin", "BYTES", List.of(-1L)),
          new TensorSpec("destination", "BYTES", List.of(-1L)),
          new TensorSpec("date", "BYTES", List.of(-1L)));

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private ProtocolRequests() {}

  /** Returns the value of one input in one row as JSON: a number, a string or null. */
  static JsonNode value(InputBatch batch, TensorSpec spec, int row) {
    if (spec.datatype().equals("BYTES")) {
      String text = batch.text().get(spec.name())[row];
      return text == null ? NODES.nullNode() : NODES.textNode(text);
    }
    double number = batch.numeric().get(spec.name())[row];
    return Double.isNaN(number) ? NODES.nullNode() : NODES.numberNode(number);
  }

  /** Returns rows as objects keyed by input name. */
  static ArrayNode records(InputBatch batch, int rows) {
    ArrayNode records = NODES.arrayNode();
    for (int row = 0; row < rows; row++) {
      ObjectNode record = records.addObject();
      for (TensorSpec spec : INPUTS) {
        record.set(spec.name(), value(batch, spec, row));
      }
    }
    return records;
  }

  /** Returns rows as arrays of values in signature order. */
  static ArrayNode arrays(InputBatch batch, int rows) {
    ArrayNode arrays = NODES.arrayNode();
    for (int row = 0; row < rows; row++) {
      ArrayNode values = arrays.addArray();
      for (TensorSpec spec : INPUTS) {
        values.add(value(batch, spec, row));
      }
    }
    return arrays;
  }

  /** Returns columns, {@code {"input name": [value per row]}}. */
  static ObjectNode columns(InputBatch batch, int rows) {
    ObjectNode columns = NODES.objectNode();
    for (TensorSpec spec : INPUTS) {
      ArrayNode values = columns.putArray(spec.name());
      for (int row = 0; row < rows; row++) {
        values.add(value(batch, spec, row));
      }
    }
    return columns;
  }

  /** Returns the V2 inference output data for the first {@code rows} rows of a batch. */
  static JsonNode v2Scores(ServerFixture fixture, String model, InputBatch batch, int rows)
      throws Exception {
    HttpResponse<String> response =
        fixture.send(
            "POST",
            "/v2/models/" + model + "/infer",
            fixture.viewerSecret,
            ServerFixture.inferRequest(batch, INPUTS, rows).toString());
    if (response.statusCode() != 200) {
      throw new AssertionError("V2 inference failed: " + response.body());
    }
    return ServerFixture.json(response).get("outputs").get(0).get("data");
  }

  /** Sends a POST with a Content-Type of choice; a null secret sends no Authorization header. */
  static HttpResponse<String> post(
      ServerFixture fixture, String path, String secret, String contentType, String body)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(fixture.uri(path))
            .timeout(Duration.ofSeconds(60))
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (contentType != null) {
      request.header("Content-Type", contentType);
    }
    if (secret != null) {
      request.header("Authorization", "Bearer " + secret);
    }
    return fixture.http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  static String error(HttpResponse<String> response) throws Exception {
    return ServerFixture.json(response).get("error").asText();
  }
}
