package dev.evergreen.core.pipeline;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.run.Provenance;
import dev.evergreen.api.run.Run;
import dev.evergreen.core.store.ArtifactStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The pipeline files that runs used, read back for audits and for MLflow's run params. */
public final class RecordedPipelines {
  private static final Logger LOG = LoggerFactory.getLogger(RecordedPipelines.class);

  private RecordedPipelines() {}

  /**
   * Returns the bytes of the pipeline file that a run trained with. They come from the artifact
   * store, which keeps every registered pipeline file by its SHA-256, or, for runs recorded before
   * it did, from the recorded path while the file there still has the recorded SHA-256. Empty when
   * neither has them, because the file's current content would misstate the run.
   */
  public static Optional<byte[]> of(ArtifactStore artifacts, Provenance provenance) {
    if (provenance == null || provenance.pipelineSha256() == null) {
      return Optional.empty();
    }
    String key = RegisteredPipeline.sourceKey(provenance.pipelineSha256());
    try {
      if (artifacts != null && artifacts.exists(key)) {
        return Optional.of(artifacts.read(key));
      }
    } catch (IOException e) {
      LOG.warn("Stored pipeline file {} is unreadable: {}", key, e.toString());
    }
    if (provenance.pipelinePath() == null) {
      return Optional.empty();
    }
    try {
      byte[] bytes = Files.readAllBytes(Path.of(provenance.pipelinePath()));
      return sha256(bytes).equals(provenance.pipelineSha256())
          ? Optional.of(bytes)
          : Optional.empty();
    } catch (IOException | InvalidPathException e) {
      LOG.debug(
          "Pipeline file {} of a run is unreadable: {}", provenance.pipelinePath(), e.toString());
      return Optional.empty();
    }
  }

  /**
   * Returns the bytes of the pipeline file that a run trained with, as {@link #of} finds them.
   *
   * @throws EvergreenException NOT_FOUND saying why the run has none: it ended before training, or
   *     it predates stored copies and its file changed since
   */
  public static byte[] require(ArtifactStore artifacts, Run run) {
    Provenance provenance = run.provenance();
    return of(artifacts, provenance)
        .orElseThrow(
            () ->
                EvergreenException.notFound(
                    provenance == null
                        ? "run '"
                            + run.id()
                            + "' ended before training, so it recorded no pipeline file; its"
                            + " pipeline is '"
                            + run.pipeline()
                            + "'"
                        : "run '"
                            + run.id()
                            + "' predates stored pipeline files, and "
                            + provenance.pipelinePath()
                            + " no longer has the SHA-256 "
                            + provenance.pipelineSha256()
                            + " that the run recorded; find that content in version control"));
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }
}
