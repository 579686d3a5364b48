package dev.evergreen.core.profile;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Schema;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.core.store.ArtifactStore;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Optional;

/** Stores and reads the binary profiles of snapshots in the artifact store. */
public final class SnapshotProfiles {
  private SnapshotProfiles() {}

  /**
   * Profiles a snapshot's Parquet file in one pass and stores the encoded profile; returns its
   * artifact key.
   */
  public static String store(ArtifactStore artifacts, Path parquet, Schema schema, int threads)
      throws SQLException, IOException {
    DatasetProfile profile = ProfileBuilder.ofParquet(parquet, schema, threads);
    return artifacts.put(ProfileCodec.encode(profile));
  }

  /**
   * Reads the binary profile of a snapshot; empty when the snapshot was stored before binary
   * profiles were kept.
   *
   * @throws EvergreenException {@link ErrorKind#INTERNAL} when the artifact cannot be read or is
   *     not a valid profile
   */
  public static Optional<DatasetProfile> read(ArtifactStore artifacts, Snapshot snapshot) {
    String key = snapshot.profile().sketchKey();
    if (key == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(ProfileCodec.decode(artifacts.read(key)));
    } catch (IOException | IllegalArgumentException e) {
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "cannot read the profile "
              + key
              + " of snapshot "
              + snapshot.shortId()
              + ": "
              + e.getMessage(),
          e);
    }
  }
}
