package dev.evergreen.core.pipeline;

import dev.evergreen.api.pipeline.PipelineSpec;
import java.nio.file.Path;

/**
 * A pipeline known to this instance.
 *
 * @param file the pipeline file; relative paths inside it resolve against its folder
 */
public record RegisteredPipeline(PipelineSpec spec, Path file) {
  public String name() {
    return spec.name();
  }

  /** Returns the landing folder, resolved against the pipeline file's folder, or null. */
  public Path landingFolder() {
    String landing = spec.source().landing();
    return landing == null ? null : resolve(landing);
  }

  /** Resolves a path from the pipeline file against the file's folder. */
  public Path resolve(String path) {
    Path folder = file.toAbsolutePath().getParent();
    return folder.resolve(path).normalize();
  }
}
