package dev.evergreen.core.testing;

import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.PipelineSpecs;
import java.nio.charset.StandardCharsets;

/** Pipeline specs for tests, written as YAML and read with {@link PipelineSpecs#parse}. */
public final class TestPipelines {
  private TestPipelines() {}

  /** Parses pipeline YAML and fails on an invalid pipeline. */
  public static PipelineSpec parse(String yaml) {
    return PipelineSpecs.parse(yaml.getBytes(StandardCharsets.UTF_8), "test pipeline");
  }

  /**
   * Returns a pipeline with the given sections, each YAML at the top level such as {@code "data:\n
   * columns:\n id: integer\n"}; the trainer, evaluation and deployment sections are fixed.
   */
  public static PipelineSpec of(
      String source, String data, String label, String features, String validation) {
    return parse(
        "name: test\n"
            + source
            + data
            + label
            + features
            + validation
            + """
            trainer:
              objective: "binary:logistic"
              rounds: 5
              threads: 1
            evaluation:
              metric: auc
            deployment:
              model: test
            """);
  }

  /**
   * Returns YAML of a pipeline for the flight data: all five columns declared, label {@code delay >
   * 15}, features distance, origin, destination, hour of day and day of week, and the given
   * validation section.
   */
  public static String flightsYaml(String validation) {
    return """
        name: flights-delay
        source:
          landing: landing
        data:
          columns:
            date: timestamp
            delay: integer
            distance: integer
            origin: string
            destination: string
        label:
          column: delay
          greaterThan: 15
        features:
          numeric: [distance]
          categorical: [origin, destination]
          derived:
            - name: hour
              from: date
              function: hour_of_day
            - name: day_of_week
              from: date
              function: day_of_week
        trainer:
          objective: "binary:logistic"
          rounds: 5
          threads: 1
        evaluation:
          metric: auc
        deployment:
          model: flights-delay
        """
        + validation;
  }

  public static PipelineSpec flights(String validation) {
    return parse(flightsYaml(validation));
  }
}
