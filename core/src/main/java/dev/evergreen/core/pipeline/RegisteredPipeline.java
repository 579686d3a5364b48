package dev.evergreen.core.pipeline;

import dev.evergreen.api.pipeline.PipelineSpec;
import java.nio.file.Path;

/**
 * A pipeline known to this instance.
 *
 * @param file the pipeline file; relative paths inside it resolve against its folder
 * @param sourceSha256 SHA-256, hex, of the file's bytes that {@code spec} was parsed from. Those
 *     bytes are in the artifact store under {@link #sourceKey()}, so each run's exact pipeline
 *     stays readable after the file changes.
 */
public record RegisteredPipeline(PipelineSpec spec, Path file, String sourceSha256) {
  /** Returns the artifact key of the pipeline file's bytes, those of {@code sourceSha256}. */
  public String sourceKey() {
    return sourceKey(sourceSha256);
  }

  /** Returns the artifact key of pipeline bytes with this SHA-256, as runs record it. */
  public static String sourceKey(String sha256) {
    return "sha256/" + sha256;
  }

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
