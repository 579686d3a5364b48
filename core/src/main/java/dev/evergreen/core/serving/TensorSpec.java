package dev.evergreen.core.serving;

import java.util.List;

/**
 * Name, datatype and shape of one input or output tensor, as the Open Inference Protocol describes
 * them in model metadata.
 *
 * @param datatype {@code FP64} for numbers, {@code BYTES} for text (categories and timestamps in
 *     ISO 8601 form)
 * @param shape dimensions, -1 for the batch dimension
 */
public record TensorSpec(String name, String datatype, List<Long> shape) {
  public TensorSpec {
    shape = List.copyOf(shape);
  }
}
