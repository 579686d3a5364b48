package dev.evergreen.core.tracking;

import dev.evergreen.api.EvergreenException;
import java.util.ArrayList;
import java.util.List;

/**
 * Rules for the relative paths of an {@link ArtifactRepository}: segments separated by {@code /},
 * none of them empty, {@code .} or {@code ..}, and no backslash or NUL anywhere. Paths that break
 * them could name a file outside the repository on some file system or object store, so every
 * implementation checks them before it touches storage.
 */
public final class ArtifactPaths {
  private ArtifactPaths() {}

  /**
   * Splits a path into its segments. The empty path, and only with {@code allowRoot}, returns no
   * segments.
   *
   * @throws EvergreenException INVALID_INPUT naming the path and the rule it breaks
   */
  public static List<String> segments(String path, boolean allowRoot) {
    if (path == null || path.isEmpty()) {
      if (allowRoot) {
        return List.of();
      }
      throw invalid(path, "it is empty; give the path of a file, such as model/MLmodel");
    }
    if (path.indexOf('\0') >= 0) {
      throw invalid(path, "it contains a NUL character");
    }
    if (path.indexOf('\\') >= 0) {
      throw invalid(path, "it contains a backslash; separate folders with '/'");
    }
    if (path.startsWith("/")) {
      throw invalid(path, "it is absolute; give a path relative to the artifact root");
    }
    List<String> segments = new ArrayList<>();
    for (String segment : path.split("/", -1)) {
      if (segment.isEmpty()) {
        throw invalid(path, "it contains an empty segment ('//' or a trailing '/')");
      }
      if (segment.equals(".") || segment.equals("..")) {
        throw invalid(path, "it contains a '" + segment + "' segment");
      }
      segments.add(segment);
    }
    return segments;
  }

  /** Returns an INVALID_INPUT error for a path, with control characters shown as escapes. */
  public static EvergreenException invalid(String path, String reason) {
    return EvergreenException.invalid("invalid artifact path '" + printable(path) + "': " + reason);
  }

  private static String printable(String path) {
    if (path == null) {
      return "";
    }
    StringBuilder text = new StringBuilder();
    for (char c : path.toCharArray()) {
      if (c < 0x20) {
        text.append(String.format("\\u%04x", (int) c));
      } else {
        text.append(c);
      }
    }
    return text.toString();
  }
}
