package dev.evergreen.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Command-line options of the form {@code --name value}. */
final class Options {
  private final Map<String, String> values = new HashMap<>();

  Options(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String name = args[i];
      if (!name.startsWith("--") || i + 1 == args.length) {
        throw new IllegalArgumentException(
            "expected options as --name value pairs, but '" + name + "' has no value");
      }
      values.put(name.substring(2), args[++i]);
    }
  }

  String text(String name, String defaultValue) {
    return values.getOrDefault(name, defaultValue);
  }

  String required(String name) {
    String value = values.get(name);
    if (value == null) {
      throw new IllegalArgumentException("option --" + name + " is missing");
    }
    return value;
  }

  Path path(String name, String defaultValue) {
    return Path.of(text(name, defaultValue));
  }

  int integer(String name, int defaultValue) {
    String value = values.get(name);
    try {
      return value == null ? defaultValue : Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("option --" + name + " must be an integer, got " + value);
    }
  }

  double decimal(String name, double defaultValue) {
    String value = values.get(name);
    try {
      return value == null ? defaultValue : Double.parseDouble(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("option --" + name + " must be a number, got " + value);
    }
  }

  /** Parses a comma-separated list of integers such as {@code 100000,1000000}. */
  List<Integer> integers(String name, String defaultValue) {
    List<Integer> list = new ArrayList<>();
    for (String part : text(name, defaultValue).split(",")) {
      try {
        list.add(Integer.parseInt(part.trim()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "option --" + name + " must list integers separated by commas, got " + part);
      }
    }
    return list;
  }
}
