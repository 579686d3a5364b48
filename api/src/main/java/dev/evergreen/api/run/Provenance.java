package dev.evergreen.api.run;

import java.util.List;
import java.util.Map;

/**
 * Everything needed to reproduce a run.
 *
 * @param pipelineSha256 hex SHA-256 of the pipeline file's bytes
 * @param gitCommit commit of the repository holding the pipeline file, null outside a repository
 * @param gitDirty whether that repository had uncommitted changes, null outside a repository
 * @param seeds seed name to value (split, trainer)
 */
public record Provenance(
    List<String> snapshotIds,
    String pipelinePath,
    String pipelineSha256,
    String gitCommit,
    Boolean gitDirty,
    String engine,
    String engineVersion,
    String jvmVersion,
    String os,
    int cpuCount,
    Map<String, Long> seeds) {
  public Provenance {
    snapshotIds = List.copyOf(snapshotIds);
    seeds = Map.copyOf(seeds);
  }
}
