package dev.evergreen.store.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.lineage.LineageEdge;
import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.core.lineage.LineageService;
import dev.evergreen.core.registry.ModelStage;
import dev.evergreen.core.registry.RegisteredModel;
import dev.evergreen.core.registry.VersionMetadata;
import dev.evergreen.core.store.DeploymentEvent;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Registry metadata of the SQLite store: descriptions, tags, stages, renames and deletions. */
class SqliteRegistryMetadataTest {
  private static final Instant T1 = Instant.ofEpochMilli(1_000);
  private static final Instant T2 = Instant.ofEpochMilli(2_000);
  private static final Instant T3 = Instant.ofEpochMilli(3_000);

  @TempDir Path dir;

  private SqliteMetadataStore store;

  @BeforeEach
  void openStore() {
    store = SqliteMetadataStore.open(dir.resolve("evergreen.db"));
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  @Test
  void registeredModelRoundTripsWithTags() {
    store.insertRegisteredModel(new RegisteredModel("m", "about m", Map.of("a", "1"), T1, T1));

    RegisteredModel found = store.findRegisteredModel("m").orElseThrow();

    assertThat(found.name()).isEqualTo("m");
    assertThat(found.description()).isEqualTo("about m");
    assertThat(found.tags()).containsExactly(Map.entry("a", "1"));
    assertThat(found.createdAt()).isEqualTo(T1);
    assertThat(found.updatedAt()).isEqualTo(T1);
    assertThat(store.listModels()).containsExactly("m");
    assertThat(store.listModelVersions("m")).isEmpty();
  }

  @Test
  void insertRegisteredModelTwiceIsAlreadyExists() {
    store.insertRegisteredModel(new RegisteredModel("m", "", Map.of(), T1, T1));

    assertThatThrownBy(
            () -> store.insertRegisteredModel(new RegisteredModel("m", "", Map.of(), T2, T2)))
        .isInstanceOfSatisfying(
            EvergreenException.class,
            e -> assertThat(e.kind()).isEqualTo(ErrorKind.ALREADY_EXISTS));
  }

  @Test
  void newVersionUpdatesModelTime() {
    store.insertRegisteredModel(new RegisteredModel("m", "", Map.of(), T1, T1));

    store.insertModelVersion(version("m", T3));

    assertThat(store.findRegisteredModel("m").orElseThrow().updatedAt()).isEqualTo(T3);
    assertThat(store.findRegisteredModel("m").orElseThrow().createdAt()).isEqualTo(T1);
  }

  @Test
  void versionMetadataDefaultsAndUpdates() {
    ModelVersion v1 = store.insertModelVersion(version("m", T1));

    VersionMetadata initial = store.findVersionMetadata("m", v1.version()).orElseThrow();
    assertThat(initial.description()).isEmpty();
    assertThat(initial.stage()).isEqualTo(ModelStage.NONE);
    assertThat(initial.source()).isNull();
    assertThat(initial.tags()).isEmpty();
    assertThat(initial.updatedAt()).isEqualTo(T1);

    store.updateVersionMetadata(
        "m", 1, new VersionMetadata("d", ModelStage.STAGING, "s3://x", Map.of("k", "v"), T2));

    VersionMetadata updated = store.findVersionMetadata("m", 1).orElseThrow();
    assertThat(updated.description()).isEqualTo("d");
    assertThat(updated.stage()).isEqualTo(ModelStage.STAGING);
    assertThat(updated.source()).isEqualTo("s3://x");
    assertThat(updated.tags()).containsExactly(Map.entry("k", "v"));
    assertThat(updated.updatedAt()).isEqualTo(T2);
    assertThatThrownBy(
            () ->
                store.updateVersionMetadata(
                    "m", 9, new VersionMetadata("", ModelStage.NONE, null, Map.of(), T2)))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.NOT_FOUND));
  }

  @Test
  void deletedVersionNumberIsNotReused() {
    store.insertModelVersion(version("m", T1));
    store.insertModelVersion(version("m", T1));

    store.deleteModelVersion("m", 2, T2);
    ModelVersion next = store.insertModelVersion(version("m", T3));

    assertThat(next.version()).isEqualTo(3);
    assertThat(store.findModelVersion("m", 2)).isEmpty();
    assertThat(store.findVersionMetadata("m", 2)).isEmpty();
    assertThat(store.listModelVersions("m"))
        .extracting(ModelVersion::version)
        .containsExactly(1, 3);
    assertThatThrownBy(() -> store.deleteModelVersion("m", 2, T3))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.NOT_FOUND));
  }

  @Test
  void deleteVersionWithAliasesNamesThem() {
    store.insertModelVersion(version("m", T1));
    store.moveAlias(new AliasMove("m", "champion", null, 1, "t", "r", T1));
    store.moveAlias(new AliasMove("m", "blue", null, 1, "t", "r", T1));

    assertThatThrownBy(() -> store.deleteModelVersion("m", 1, T2))
        .isInstanceOfSatisfying(
            EvergreenException.class,
            e -> {
              assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT);
              assertThat(e.getMessage()).contains("'blue', 'champion'");
            });
    assertThat(store.findModelVersion("m", 1)).isPresent();
  }

  @Test
  void deletedModelIsHiddenAndRestoredByInsert() {
    store.insertRegisteredModel(new RegisteredModel("m", "old", Map.of("a", "1"), T1, T1));
    store.insertModelVersion(version("m", T1));

    store.deleteRegisteredModel("m", T2);

    assertThat(store.findRegisteredModel("m")).isEmpty();
    assertThat(store.listModels()).isEmpty();
    assertThat(store.findModelVersion("m", 1)).isEmpty();
    store.insertRegisteredModel(new RegisteredModel("m", "new", Map.of(), T3, T3));
    RegisteredModel restored = store.findRegisteredModel("m").orElseThrow();
    assertThat(restored.description()).isEqualTo("new");
    assertThat(restored.tags()).isEmpty();
    assertThat(restored.createdAt()).isEqualTo(T3);
    assertThat(store.listModelVersions("m")).isEmpty();
    assertThat(store.insertModelVersion(version("m", T3)).version()).isEqualTo(2);
  }

  @Test
  void deleteModelWithAliasIsRejected() {
    store.insertModelVersion(version("m", T1));
    store.moveAlias(new AliasMove("m", "blue", null, 1, "t", "r", T1));

    assertThatThrownBy(() -> store.deleteRegisteredModel("m", T2))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT));
    assertThat(store.findRegisteredModel("m")).isPresent();
  }

  @Test
  void renameMovesVersionsAliasesHistoryAndLineage() {
    store.insertModelVersion(version("old", T1));
    store.updateVersionMetadata(
        "old", 1, new VersionMetadata("d", ModelStage.NONE, null, Map.of("k", "v"), T1));
    store.moveAlias(new AliasMove("old", "blue", null, 1, "t", "r", T1));
    store.insertDeploymentEvent(new DeploymentEvent("e1", "old", 1, null, "switch", "t", "", T1));
    store.insertLineageEdge(
        new LineageEdge(LineageService.RUN, "run1", LineageService.MODEL_VERSION, "old:1", T1));
    store.insertLineageEdge(
        new LineageEdge(LineageService.RUN, "run2", LineageService.MODEL_VERSION, "older:1", T1));

    store.renameRegisteredModel("old", "new", T2);

    assertThat(store.findRegisteredModel("old")).isEmpty();
    assertThat(store.findRegisteredModel("new").orElseThrow().updatedAt()).isEqualTo(T2);
    assertThat(store.findModelVersion("new", 1)).isPresent();
    assertThat(store.findVersionMetadata("new", 1).orElseThrow().tags())
        .containsExactly(Map.entry("k", "v"));
    assertThat(store.aliases("new")).containsExactly(Map.entry("blue", 1));
    assertThat(store.aliasHistory("new")).hasSize(1);
    assertThat(store.listDeploymentEvents("new")).hasSize(1);
    assertThat(store.lineageEdgesTo(LineageService.MODEL_VERSION, "new:1")).hasSize(1);
    assertThat(store.lineageEdgesTo(LineageService.MODEL_VERSION, "older:1"))
        .as("a model whose name starts with the old name keeps its lineage")
        .hasSize(1);
    assertThat(store.lineageEdgesTo(LineageService.MODEL_VERSION, "old:1")).isEmpty();
  }

  @Test
  void renameToTakenOrDeletedNameAlreadyExists() {
    store.insertModelVersion(version("a", T1));
    store.insertModelVersion(version("b", T1));
    store.insertRegisteredModel(new RegisteredModel("gone", "", Map.of(), T1, T1));
    store.deleteRegisteredModel("gone", T2);

    for (String taken : new String[] {"b", "gone"}) {
      assertThatThrownBy(() -> store.renameRegisteredModel("a", taken, T2))
          .as(taken)
          .isInstanceOfSatisfying(
              EvergreenException.class,
              e -> assertThat(e.kind()).isEqualTo(ErrorKind.ALREADY_EXISTS));
    }
    assertThat(store.findModelVersion("a", 1)).isPresent();
  }

  private static ModelVersion version(String model, Instant at) {
    return new ModelVersion(model, 0, "key", "ab".repeat(32), null, null, Map.of(), null, at);
  }
}
