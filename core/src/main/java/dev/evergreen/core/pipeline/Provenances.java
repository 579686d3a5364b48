package dev.evergreen.core.pipeline;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reads the git state of the repository that holds a pipeline file. */
final class Provenances {
  private static final Logger LOG = LoggerFactory.getLogger(Provenances.class);

  /** Commit and dirty flag, both null when the file is not in a git repository. */
  record GitState(String commit, Boolean dirty) {}

  private Provenances() {}

  static GitState gitState(Path pipelineFile) {
    Path folder = pipelineFile.toAbsolutePath().getParent();
    String commit = git(folder, "rev-parse", "HEAD");
    if (commit == null || !commit.matches("[0-9a-f]{40,64}")) {
      return new GitState(null, null);
    }
    String status = git(folder, "status", "--porcelain", "--untracked-files=no");
    return new GitState(commit, status == null ? null : !status.isBlank());
  }

  private static String git(Path folder, String... args) {
    String[] command = new String[args.length + 3];
    command[0] = "git";
    command[1] = "-C";
    command[2] = folder.toString();
    System.arraycopy(args, 0, command, 3, args.length);
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(false).start();
      process.getOutputStream().close();
      byte[] output = process.getInputStream().readAllBytes();
      process.getErrorStream().readAllBytes();
      if (!process.waitFor(10, TimeUnit.SECONDS) || process.exitValue() != 0) {
        return null;
      }
      return new String(output, StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      // No git on this machine: provenance then has no commit, which is what the record says.
      LOG.debug("git is not available for {}: {}", folder, e.getMessage());
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
