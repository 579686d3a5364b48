package dev.evergreen.api.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/** The flights example pipeline of the repository, as bytes and as an editable YAML tree. */
final class ExamplePipeline {
  static final YAMLMapper YAML = new YAMLMapper();

  private ExamplePipeline() {}

  /** Returns the example file; Surefire runs tests in the module folder, api/. */
  static Path file() {
    return Path.of("..", "examples", "flights-delay", "pipeline.yaml").toAbsolutePath().normalize();
  }

  static byte[] bytes() {
    try {
      return Files.readAllBytes(file());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Returns a fresh copy of the example as a tree. */
  static ObjectNode tree() {
    try {
      return (ObjectNode) YAML.readTree(bytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Returns the example after {@code change}, as a tree. */
  static ObjectNode changed(Consumer<ObjectNode> change) {
    ObjectNode tree = tree();
    change.accept(tree);
    return tree;
  }

  static byte[] yaml(JsonNode tree) {
    try {
      return YAML.writeValueAsBytes(tree);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Returns the object at a dotted path such as {@code trainer} or {@code features.derived[0]},
   * creating missing objects on the way.
   */
  static ObjectNode object(ObjectNode root, String path) {
    ObjectNode node = root;
    if (path.isEmpty()) {
      return node;
    }
    for (String step : path.split("\\.")) {
      int bracket = step.indexOf('[');
      if (bracket < 0) {
        node = node.has(step) ? (ObjectNode) node.get(step) : node.putObject(step);
      } else {
        int index = Integer.parseInt(step.substring(bracket + 1, step.length() - 1));
        ArrayNode array = (ArrayNode) node.get(step.substring(0, bracket));
        node = (ObjectNode) array.get(index);
      }
    }
    return node;
  }

  /** Sets the field at a dotted path, such as {@code trainer.rounds}, to a YAML scalar. */
  static Consumer<ObjectNode> set(String path, Object value) {
    return tree -> {
      int dot = path.lastIndexOf('.');
      ObjectNode parent = object(tree, dot < 0 ? "" : path.substring(0, dot));
      parent.set(path.substring(dot + 1), YAML.valueToTree(value));
    };
  }

  /** Removes the field at a dotted path. */
  static Consumer<ObjectNode> remove(String path) {
    return tree -> {
      int dot = path.lastIndexOf('.');
      object(tree, dot < 0 ? "" : path.substring(0, dot)).remove(path.substring(dot + 1));
    };
  }
}
