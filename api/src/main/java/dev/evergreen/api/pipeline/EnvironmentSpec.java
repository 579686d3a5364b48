package dev.evergreen.api.pipeline;

import java.util.List;

/**
 * How validation differs in one named environment, such as {@code serving}, where a batch lacks
 * some columns of the training data.
 *
 * @param exclude columns that are neither required nor checked in this environment
 */
public record EnvironmentSpec(List<String> exclude) {
  public EnvironmentSpec {
    exclude = exclude == null ? List.of() : List.copyOf(exclude);
  }
}
