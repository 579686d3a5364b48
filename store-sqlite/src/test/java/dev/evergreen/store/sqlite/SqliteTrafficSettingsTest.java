package dev.evergreen.store.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.pipeline.BatchingSpec;
import dev.evergreen.api.pipeline.CanarySpec;
import dev.evergreen.api.pipeline.RollbackSpec;
import dev.evergreen.api.pipeline.ShadowSpec;
import dev.evergreen.core.registry.RegisteredModel;
import dev.evergreen.core.store.DeploymentEvent;
import dev.evergreen.core.store.TrafficSettings;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteTrafficSettingsTest {
  private static final TrafficSettings.CanarySetting CANARY =
      new TrafficSettings.CanarySetting(
          2, new CanarySpec(12.5, "X-Caller", "origin", new RollbackSpec(0.02, 35.5, 90, 7)));
  private static final TrafficSettings.ShadowSetting SHADOW =
      new TrafficSettings.ShadowSetting(3, new ShadowSpec(40.0, 1e-4));
  private static final BatchingSpec BATCHING = new BatchingSpec(32, 1.5, 200);

  @TempDir Path dir;

  @Test
  void settingsSurviveReopen() {
    Path file = dir.resolve("evergreen.db");
    try (SqliteMetadataStore store = SqliteMetadataStore.open(file)) {
      store.saveTrafficSlots("flights", CANARY, SHADOW);
      store.saveBatching("flights", BATCHING);
    }

    try (SqliteMetadataStore store = SqliteMetadataStore.open(file)) {
      assertThat(store.listTrafficSettings())
          .containsExactly(new TrafficSettings("flights", CANARY, SHADOW, BATCHING));
    }
  }

  @Test
  void defaultCanarySpecRoundTrips() {
    TrafficSettings.CanarySetting defaults =
        new TrafficSettings.CanarySetting(4, CanarySpec.DEFAULT);
    try (SqliteMetadataStore store = SqliteMetadataStore.open(dir.resolve("evergreen.db"))) {
      store.saveTrafficSlots("flights", defaults, null);

      TrafficSettings settings = store.listTrafficSettings().get(0);

      assertThat(settings.canary()).isEqualTo(defaults);
      assertThat(settings.canary().spec().keyInput()).isNull();
      assertThat(settings.canary().spec().rollback().maxP99Millis()).isNull();
    }
  }

  @Test
  void slotsAndBatchingAreSavedIndependently() {
    try (SqliteMetadataStore store = SqliteMetadataStore.open(dir.resolve("evergreen.db"))) {
      store.saveBatching("flights", BATCHING);
      store.saveTrafficSlots("flights", CANARY, null);
      assertThat(store.listTrafficSettings())
          .containsExactly(new TrafficSettings("flights", CANARY, null, BATCHING));

      store.saveTrafficSlots("flights", null, SHADOW);
      assertThat(store.listTrafficSettings())
          .containsExactly(new TrafficSettings("flights", null, SHADOW, BATCHING));

      store.saveBatching("flights", null);
      assertThat(store.listTrafficSettings())
          .containsExactly(new TrafficSettings("flights", null, SHADOW, null));
    }
  }

  @Test
  void clearingEverySlotDeletesRow() throws SQLException {
    Path file = dir.resolve("evergreen.db");
    try (SqliteMetadataStore store = SqliteMetadataStore.open(file)) {
      store.saveTrafficSlots("flights", CANARY, SHADOW);
      store.saveBatching("flights", BATCHING);

      store.saveTrafficSlots("flights", null, null);
      store.saveBatching("flights", null);

      assertThat(store.listTrafficSettings()).isEmpty();
    }
    assertThat(countRows(file, "traffic_settings")).isZero();
  }

  @Test
  void settingsAreListedByModel() {
    try (SqliteMetadataStore store = SqliteMetadataStore.open(dir.resolve("evergreen.db"))) {
      store.saveBatching("zebra", BATCHING);
      store.saveTrafficSlots("alpha", CANARY, null);

      assertThat(store.listTrafficSettings())
          .extracting(TrafficSettings::model)
          .containsExactly("alpha", "zebra");
    }
  }

  @Test
  void settingsAreReadByModel() {
    try (SqliteMetadataStore store = SqliteMetadataStore.open(dir.resolve("evergreen.db"))) {
      store.saveBatching("zebra", BATCHING);
      store.saveTrafficSlots("alpha", CANARY, SHADOW);

      assertThat(store.trafficSettings("alpha"))
          .contains(new TrafficSettings("alpha", CANARY, SHADOW, null));
      assertThat(store.trafficSettings("zebra"))
          .contains(new TrafficSettings("zebra", null, null, BATCHING));
      assertThat(store.trafficSettings("flights")).isEmpty();
    }
  }

  @Test
  void failedTransactionLeavesSettingsUnchanged() {
    try (SqliteMetadataStore store = SqliteMetadataStore.open(dir.resolve("evergreen.db"))) {
      store.saveTrafficSlots("flights", CANARY, null);

      assertThatThrownBy(
              () ->
                  store.inTransaction(
                      () -> {
                        store.saveTrafficSlots("flights", null, SHADOW);
                        throw new IllegalStateException("recording the event failed");
                      }))
          .hasMessage("recording the event failed");

      assertThat(store.listTrafficSettings())
          .containsExactly(new TrafficSettings("flights", CANARY, null, null));
    }
  }

  @Test
  void renameAndDeleteOfModelMoveItsSettings() {
    Instant at = Instant.parse("2026-01-02T03:04:05Z");
    try (SqliteMetadataStore store = SqliteMetadataStore.open(dir.resolve("evergreen.db"))) {
      store.insertRegisteredModel(new RegisteredModel("old", "", Map.of(), at, at));
      store.saveTrafficSlots("old", CANARY, null);
      store.saveBatching("old", BATCHING);

      store.renameRegisteredModel("old", "new", at);
      assertThat(store.listTrafficSettings())
          .containsExactly(new TrafficSettings("new", CANARY, null, BATCHING));

      store.deleteRegisteredModel("new", at);
      assertThat(store.listTrafficSettings()).isEmpty();
    }
  }

  @Test
  void version6DatabaseUpgradesAndKeepsRows() throws SQLException {
    Path file = dir.resolve("evergreen.db");
    List<Migrations.Migration> version6 = Migrations.bundled().subList(0, 6);
    try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + file)) {
      try (Statement statement = raw.createStatement()) {
        // The table as Migrations creates it.
        statement.executeUpdate(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
                + " description TEXT NOT NULL, applied_at INTEGER NOT NULL,"
                + " checksum TEXT NOT NULL)");
      }
      for (Migrations.Migration migration : version6) {
        try (Statement statement = raw.createStatement()) {
          statement.executeUpdate(migration.sql());
        }
        try (PreparedStatement insert =
            raw.prepareStatement("INSERT INTO schema_migrations VALUES (?, ?, 0, ?)")) {
          insert.setInt(1, migration.version());
          insert.setString(2, migration.description());
          insert.setString(3, migration.checksum());
          insert.executeUpdate();
        }
      }
      try (Statement statement = raw.createStatement()) {
        statement.executeUpdate(
            "INSERT INTO deployment_events (id, model, version, kind, actor, detail, at)"
                + " VALUES ('flights/1', 'flights', 1, 'switch', 'alice', 'switched', 1000)");
      }
    }
    assertThat(countRows(file, "schema_migrations")).isEqualTo(6);

    try (SqliteMetadataStore store = SqliteMetadataStore.open(file)) {
      assertThat(store.listTrafficSettings()).isEmpty();
      store.saveTrafficSlots("flights", CANARY, null);
      assertThat(store.listTrafficSettings())
          .containsExactly(new TrafficSettings("flights", CANARY, null, null));
      assertThat(store.listDeploymentEvents("flights"))
          .extracting(DeploymentEvent::id)
          .containsExactly("flights/1");
    }
    assertThat(countRows(file, "schema_migrations")).isEqualTo(Migrations.bundled().size());
  }

  private static long countRows(Path file, String table) throws SQLException {
    try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = raw.createStatement();
        var rows = statement.executeQuery("SELECT count(*) FROM " + table)) {
      rows.next();
      return rows.getLong(1);
    }
  }
}
