package dev.evergreen.core.serving;

import java.util.List;

/** Inputs and outputs of a served model. */
public record Signature(List<TensorSpec> inputs, List<TensorSpec> outputs) {
  public Signature {
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
  }
}
