package dev.evergreen.core;

import dev.evergreen.core.pipeline.RunOwner;

/**
 * Process-wide settings of an Evergreen instance.
 *
 * @param threads threads DuckDB may use for reading and profiling
 * @param pseudonymKey HMAC key for direct identifiers, null when not configured; never stored or
 *     logged
 * @param checkTolerance largest difference between a loaded model's scores on its check rows and
 *     the scores recorded at training time, scaled by {@code max(1, |expected|)} so that large
 *     regression outputs are compared relatively
 * @param owner this process as {@code host:pid@start}, stored on the runs it executes (format in
 *     {@link RunOwner})
 */
public record EvergreenSettings(
    int threads, byte[] pseudonymKey, double checkTolerance, String owner) {
  /** Returns settings for this process: 2 threads, no key, tolerance 1e-5. */
  public static EvergreenSettings defaults() {
    return new EvergreenSettings(2, null, 1e-5, currentOwner());
  }

  public EvergreenSettings withPseudonymKey(byte[] key) {
    return new EvergreenSettings(threads, key, checkTolerance, owner);
  }

  public EvergreenSettings withThreads(int count) {
    return new EvergreenSettings(count, pseudonymKey, checkTolerance, owner);
  }

  /**
   * Returns the running process as {@code host:pid@start}, or {@code host:pid} when the JDK cannot
   * read the process's start instant.
   */
  public static String currentOwner() {
    return RunOwner.current().toString();
  }

  @Override
  public String toString() {
    // The key is left out on purpose so that logging the settings never leaks it.
    return "EvergreenSettings[threads="
        + threads
        + ", pseudonymKey="
        + (pseudonymKey == null ? "unset" : "set")
        + ", checkTolerance="
        + checkTolerance
        + ", owner="
        + owner
        + "]";
  }
}
