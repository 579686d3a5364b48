package dev.evergreen.core.lineage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.run.Run;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.testing.TestDuckDb;
import dev.evergreen.core.testing.TestEvergreens;
import dev.evergreen.core.testing.TestPipelines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two runs on files of identical content share one snapshot: the lineage shows each run's own
 * source file on its run node, and the snapshot's first source, labelled as such, on the snapshot
 * node.
 */
class LineageSourceTest {
  @TempDir Path work;

  private Evergreen evergreen;

  @BeforeEach
  void open() throws Exception {
    evergreen = TestEvergreens.open(work);
  }

  @AfterEach
  void close() {
    evergreen.close();
  }

  @Test
  void runNodesShowOwnSourceFiles() throws Exception {
    Path pipeline = Files.createDirectories(work.resolve("pipeline")).resolve("flights.yaml");
    Files.writeString(pipeline, TestPipelines.flightsYaml(""));
    Path first = TestDuckDb.flightsMonth(work.resolve("first.parquet"), 1, 3_000);
    Path second = Files.copy(first, work.resolve("second.parquet"));
    Run firstRun = evergreen.pipelines().run(pipeline, first, "tester");
    Run secondRun = evergreen.pipelines().run(pipeline, second, "tester");
    assertThat(secondRun.snapshotId()).isEqualTo(firstRun.snapshotId());
    // A landing run's source moves with its file after the run.
    Path moved = work.resolve("processed").resolve("second.parquet");
    assertThat(evergreen.pipelines().relocateSource(secondRun.id(), moved)).isTrue();

    LineageGraph graph = evergreen.lineage().forModel("flights-delay", null);

    assertThat(node(graph, LineageService.RUN, firstRun.id()).facts())
        .containsEntry("source", first.toAbsolutePath().toString());
    assertThat(node(graph, LineageService.RUN, secondRun.id()).facts())
        .containsEntry("source", moved.toAbsolutePath().toString());
    LineageNode snapshot = node(graph, LineageService.SNAPSHOT, firstRun.snapshotId());
    assertThat(snapshot.facts())
        .containsEntry(LineageService.FIRST_SOURCE, first.toAbsolutePath().toString());
    assertThat(snapshot.facts()).doesNotContainKey("source");
  }

  private static LineageNode node(LineageGraph graph, String kind, String id) {
    List<LineageNode> matching =
        graph.nodes().stream().filter(n -> n.kind().equals(kind) && n.id().equals(id)).toList();
    assertThat(matching).as("%s node %s in %s", kind, id, graph.nodes()).hasSize(1);
    return matching.get(0);
  }
}
