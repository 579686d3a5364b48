package dev.evergreen.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evergreen.core.tracking.Dataset;
import dev.evergreen.core.tracking.DatasetInput;
import dev.evergreen.core.tracking.Experiment;
import dev.evergreen.core.tracking.MetricPoint;
import dev.evergreen.core.tracking.TrackedRun;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/**
 * MLflow response messages as JSON, with proto field names. 64-bit integers are written as JSON
 * numbers, and non-finite metric values as the strings {@code NaN}, {@code Infinity} and {@code
 * -Infinity}, which protobuf's JSON parser accepts.
 */
final class MlflowJson {
  private MlflowJson() {}

  static ObjectNode experiment(Experiment experiment) {
    ObjectNode node = Json.MAPPER.createObjectNode();
    node.put("experiment_id", experiment.id());
    node.put("name", experiment.name());
    node.put("artifact_location", experiment.artifactLocation());
    node.put("lifecycle_stage", experiment.lifecycleStage().mlflowName());
    putTime(node, "last_update_time", experiment.lastUpdateTime());
    putTime(node, "creation_time", experiment.creationTime());
    keyValues(node.putArray("tags"), experiment.tags());
    return node;
  }

  static ObjectNode run(TrackedRun run) {
    ObjectNode node = Json.MAPPER.createObjectNode();
    node.set("info", runInfo(run));
    ObjectNode data = node.putObject("data");
    ArrayNode metrics = data.putArray("metrics");
    run.metrics().stream()
        .sorted((a, b) -> a.key().compareTo(b.key()))
        .forEach(point -> metrics.add(metric(point)));
    keyValues(data.putArray("params"), run.params());
    keyValues(data.putArray("tags"), run.tags());
    ArrayNode inputs = node.putObject("inputs").putArray("dataset_inputs");
    run.inputs().forEach(input -> inputs.add(datasetInput(input)));
    return node;
  }

  static ObjectNode datasetInput(DatasetInput input) {
    ObjectNode node = Json.MAPPER.createObjectNode();
    keyValues(node.putArray("tags"), input.tags());
    Dataset dataset = input.dataset();
    ObjectNode fields = node.putObject("dataset");
    fields.put("name", dataset.name());
    fields.put("digest", dataset.digest());
    fields.put("source_type", dataset.sourceType());
    fields.put("source", dataset.source());
    if (dataset.schema() != null) {
      fields.put("schema", dataset.schema());
    }
    if (dataset.profile() != null) {
      fields.put("profile", dataset.profile());
    }
    return node;
  }

  static ObjectNode runInfo(TrackedRun run) {
    ObjectNode node = Json.MAPPER.createObjectNode();
    node.put("run_id", run.id());
    node.put("run_uuid", run.id());
    node.put("run_name", run.name());
    node.put("experiment_id", run.experimentId());
    if (run.userId() != null) {
      node.put("user_id", run.userId());
    }
    node.put("status", run.status().name());
    putTime(node, "start_time", run.startTime());
    putTime(node, "end_time", run.endTime());
    node.put("artifact_uri", run.artifactUri());
    node.put("lifecycle_stage", run.lifecycleStage().mlflowName());
    return node;
  }

  static ObjectNode metric(MetricPoint point) {
    ObjectNode node = Json.MAPPER.createObjectNode();
    node.put("key", point.key());
    double value = point.value();
    if (Double.isFinite(value)) {
      node.put("value", value);
    } else {
      String text;
      if (Double.isNaN(value)) {
        text = "NaN";
      } else {
        text = value > 0 ? "Infinity" : "-Infinity";
      }
      node.put("value", text);
    }
    node.put("timestamp", point.timestamp());
    node.put("step", point.step());
    return node;
  }

  static void keyValues(ArrayNode array, Map<String, String> values) {
    new TreeMap<>(values)
        .forEach(
            (key, value) -> {
              ObjectNode entry = array.addObject();
              entry.put("key", key);
              entry.put("value", value);
            });
  }

  static void putTime(ObjectNode node, String field, Instant time) {
    if (time != null) {
      node.put(field, time.toEpochMilli());
    }
  }
}
