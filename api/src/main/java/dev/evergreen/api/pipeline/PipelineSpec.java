package dev.evergreen.api.pipeline;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Objects;

/**
 * A pipeline file: where batches come from, how they are checked, how a model is trained, when it
 * is promoted and how it is deployed. Read with {@link PipelineSpecs#load}; the JSON Schema is the
 * resource {@code /dev/evergreen/api/pipeline.schema.json}.
 */
public record PipelineSpec(
    @JsonProperty(required = true) String name,
    @JsonProperty(required = true) SourceSpec source,
    DataSpec data,
    @JsonProperty(required = true) LabelSpec label,
    @JsonProperty(required = true) FeaturesSpec features,
    SplitSpec split,
    @JsonProperty(required = true) TrainerSpec trainer,
    ValidationSpec validation,
    @JsonProperty(required = true) EvaluationSpec evaluation,
    @JsonProperty(required = true) DeploymentSpec deployment) {
  public PipelineSpec {
    Objects.requireNonNull(name, "name");
    data = data == null ? DataSpec.EMPTY : data;
    split = split == null ? SplitSpec.DEFAULT : split;
    validation = validation == null ? ValidationSpec.DEFAULT : validation;
  }
}
