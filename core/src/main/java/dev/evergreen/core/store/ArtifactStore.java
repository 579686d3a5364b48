package dev.evergreen.core.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/**
 * Content-addressed storage for immutable files: snapshot Parquet files, model files and model
 * manifests. A key is {@code sha256/<64 hex digits>} of the content. A put is atomic: until it
 * returns, no reader can see the key, and after a crash the key is either absent or complete.
 */
public interface ArtifactStore {
  /**
   * Copies a file into the store and returns its key. Storing content that is already present
   * returns the existing key and writes nothing.
   */
  String put(Path file) throws IOException;

  /** Stores bytes and returns their key, as {@link #put(Path)}. */
  String put(byte[] bytes) throws IOException;

  boolean exists(String key);

  /** Opens the content of a key; throws {@link java.nio.file.NoSuchFileException} if absent. */
  InputStream open(String key) throws IOException;

  byte[] read(String key) throws IOException;

  /**
   * Returns a local file holding the content of a key, for readers such as DuckDB that need a path.
   * A remote store downloads into a local cache first. The file must not be modified.
   */
  Path localPath(String key) throws IOException;
}
