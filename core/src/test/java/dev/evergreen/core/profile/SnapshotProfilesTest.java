package dev.evergreen.core.profile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Profile;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.snapshot.SnapshotService;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import dev.evergreen.core.testing.TempDirArtifactStore;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestPipelines;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Clock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checks that ingesting a batch stores its binary profile and that it reads back. */
class SnapshotProfilesTest {
  @TempDir Path dir;

  InMemoryMetadataStore store;
  TempDirArtifactStore artifacts;
  SnapshotService service;

  @BeforeEach
  void setUp() throws IOException {
    store = new InMemoryMetadataStore();
    artifacts = new TempDirArtifactStore(dir.resolve("artifacts"));
    Clock clock = Clock.systemUTC();
    service = new SnapshotService(store, artifacts, new AuditLog(store, clock), clock, null, 1);
  }

  @Test
  void ingestStoresReadableProfile() throws SQLException {
    Path file = TestDuckDb.flightsMonth(dir.resolve("january.parquet"), 1, 20_000);

    Snapshot snapshot = service.ingest(file, TestPipelines.flights(""), "alice").snapshot();

    assertThat(snapshot.profile().sketchKey()).startsWith("sha256/");
    assertThat(artifacts.exists(snapshot.profile().sketchKey())).isTrue();
    DatasetProfile stored = SnapshotProfiles.read(artifacts, snapshot).orElseThrow();
    assertThat(stored.rows()).isEqualTo(20_000);
    assertThat(stored.columns())
        .extracting(ColumnSketch::name)
        .containsExactlyElementsOf(snapshot.schema().names());
    ColumnSketch distance = stored.column("distance").orElseThrow();
    assertThat(distance.moments().mean())
        .isCloseTo(
            snapshot.profile().column("distance").orElseThrow().mean(),
            org.assertj.core.data.Offset.offset(1e-9));
    // The stored profile is the profile of the snapshot's Parquet file, byte for byte.
    DatasetProfile rebuilt =
        ProfileBuilder.ofParquet(service.parquetOf(snapshot), snapshot.schema(), 1);
    assertThat(ProfileCodec.encode(stored)).isEqualTo(ProfileCodec.encode(rebuilt));
  }

  @Test
  void readWithoutKeyIsEmpty() {
    Path file = TestDuckDb.flightsMonth(dir.resolve("february.parquet"), 2, 1_000);
    Snapshot snapshot = service.ingest(file, TestPipelines.flights(""), "alice").snapshot();
    Profile old = new Profile(snapshot.profile().rowCount(), snapshot.profile().columns());
    Snapshot before =
        new Snapshot(
            snapshot.id(),
            snapshot.source(),
            snapshot.artifactKey(),
            snapshot.schema(),
            old,
            snapshot.tags(),
            snapshot.createdAt());

    assertThat(SnapshotProfiles.read(artifacts, before)).isEmpty();
  }

  @Test
  void readRejectsArtifactThatIsNoProfile() {
    Path file = TestDuckDb.flightsMonth(dir.resolve("march.parquet"), 3, 1_000);
    Snapshot snapshot = service.ingest(file, TestPipelines.flights(""), "alice").snapshot();
    // The Parquet file is an artifact too, but not a profile.
    Snapshot wrong =
        new Snapshot(
            snapshot.id(),
            snapshot.source(),
            snapshot.artifactKey(),
            snapshot.schema(),
            snapshot.profile().withSketchKey(snapshot.artifactKey()),
            snapshot.tags(),
            snapshot.createdAt());

    assertThatThrownBy(() -> SnapshotProfiles.read(artifacts, wrong))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("cannot read the profile")
        .hasMessageContaining("magic");
  }
}
