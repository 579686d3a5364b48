package dev.evergreen.core.tracking;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Files of MLflow runs, addressed by relative paths such as {@code 0/<run id>/artifacts/model.pkl}
 * (the part of an {@code mlflow-artifacts:} URI after the scheme). Unlike the content-addressed
 * {@link dev.evergreen.core.store.ArtifactStore}, a path can be overwritten and deleted.
 *
 * <p>Every method validates its path with {@link ArtifactPaths#segments} and throws {@link
 * dev.evergreen.api.EvergreenException} INVALID_INPUT naming the path when it is invalid or
 * resolves outside the repository, and NOT_FOUND when a file or folder it needs is missing.
 * Implementations must be safe for concurrent use by several threads.
 */
public interface ArtifactRepository {
  /**
   * Starts writing a file. Nothing is visible at the path until {@link Upload#commit} returns, and
   * then the complete content replaces any previous file atomically.
   */
  Upload upload(String path) throws IOException;

  /** Opens a file for reading; the content stays that of the file as it was when opened. */
  Content open(String path) throws IOException;

  /**
   * Lists the direct children of a folder, sorted by name; the empty path is the root. A path that
   * is missing or names a file returns an empty list, as MLflow's artifact repositories do.
   */
  List<Entry> list(String path) throws IOException;

  /** Deletes a file, or a folder with everything in it. */
  void delete(String path) throws IOException;

  /** A file being written. Closing an upload that was not committed discards what it wrote. */
  interface Upload extends AutoCloseable {
    /** Appends bytes, consuming the buffer. */
    void write(ByteBuffer bytes) throws IOException;

    /** Makes the written bytes durable and visible at the path. */
    void commit() throws IOException;

    @Override
    void close() throws IOException;
  }

  /**
   * An open file.
   *
   * @param size length in bytes
   */
  record Content(long size, InputStream stream) implements AutoCloseable {
    @Override
    public void close() throws IOException {
      stream.close();
    }
  }

  /**
   * A child of a listed folder.
   *
   * @param name the file or folder name, without the folder's path
   * @param size length in bytes, null for a folder
   */
  record Entry(String name, boolean directory, Long size) {}
}
