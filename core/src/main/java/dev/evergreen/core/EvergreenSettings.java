package dev.evergreen.core;

/**
 * Process-wide settings of an Evergreen instance.
 *
 * @param threads threads DuckDB may use for reading and profiling
 * @param pseudonymKey HMAC key for direct identifiers, null when not configured; never stored or
 *     logged
 * @param checkTolerance largest difference between a loaded model's scores on its check rows and
 *     the scores recorded at training time, scaled by {@code max(1, |expected|)} so that large
 *     regression outputs are compared relatively
 * @param owner {@code host:pid} of this process, stored on the runs it executes
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

  /** Returns {@code host:pid} of the running process. */
  public static String currentOwner() {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      host = "localhost";
    }
    return host + ":" + ProcessHandle.current().pid();
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
