package dev.evergreen.core.tracking;

import java.util.Map;

/**
 * A dataset used by a run, with the tags of that use, such as {@code mlflow.data.context} set to
 * {@code training}.
 */
public record DatasetInput(Dataset dataset, Map<String, String> tags) {
  public DatasetInput {
    tags = Map.copyOf(tags);
  }
}
