package dev.evergreen.core.lineage;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.lineage.LineageEdge;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.run.Run;
import dev.evergreen.core.pipeline.RunOwner;
import dev.evergreen.core.store.DeploymentEvent;
import dev.evergreen.core.store.MetadataStore;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Records and queries the lineage graph: snapshot to run to model version to deployment. */
public final class LineageService {
  public static final String SNAPSHOT = "snapshot";
  public static final String RUN = "run";
  public static final String MODEL_VERSION = "model_version";
  public static final String DEPLOYMENT = "deployment";

  /** Fact of a snapshot node: the path of the file the snapshot was first stored from. */
  public static final String FIRST_SOURCE = "first_source";

  private final MetadataStore store;
  private final Clock clock;

  public LineageService(MetadataStore store, Clock clock) {
    this.store = store;
    this.clock = clock;
  }

  public void record(String fromKind, String fromId, String toKind, String toId) {
    store.insertLineageEdge(
        new LineageEdge(
            fromKind, fromId, toKind, toId, clock.instant().truncatedTo(ChronoUnit.MILLIS)));
  }

  /**
   * Returns the graph around a model: every version when {@code version} is null, else that
   * version, with the runs and snapshots upstream and the deployments downstream.
   */
  public LineageGraph forModel(String model, Integer version) {
    List<ModelVersion> versions =
        version == null
            ? store.listModelVersions(model)
            : store.findModelVersion(model, version).map(List::of).orElse(List.of());
    if (versions.isEmpty()) {
      throw EvergreenException.notFound(
          version == null
              ? "model '" + model + "' is not registered; list models with `evergreen models list`"
              : "model '" + model + "' has no version " + version);
    }
    Map<String, LineageNode> nodes = new LinkedHashMap<>();
    Set<LineageEdge> edges = new LinkedHashSet<>();
    Deque<String[]> upstream = new ArrayDeque<>();
    Deque<String[]> downstream = new ArrayDeque<>();
    for (ModelVersion v : versions) {
      String id = v.model() + ":" + v.version();
      upstream.add(new String[] {MODEL_VERSION, id});
      downstream.add(new String[] {MODEL_VERSION, id});
    }
    while (!upstream.isEmpty()) {
      String[] node = upstream.pop();
      if (nodes.containsKey(node[0] + "/" + node[1])) {
        continue;
      }
      nodes.put(node[0] + "/" + node[1], describe(node[0], node[1]));
      for (LineageEdge edge : store.lineageEdgesTo(node[0], node[1])) {
        edges.add(edge);
        upstream.add(new String[] {edge.fromKind(), edge.fromId()});
      }
    }
    while (!downstream.isEmpty()) {
      String[] node = downstream.pop();
      for (LineageEdge edge : store.lineageEdgesFrom(node[0], node[1])) {
        if (edges.add(edge)) {
          nodes.putIfAbsent(
              edge.toKind() + "/" + edge.toId(), describe(edge.toKind(), edge.toId()));
          downstream.add(new String[] {edge.toKind(), edge.toId()});
        }
      }
    }
    return new LineageGraph(new ArrayList<>(nodes.values()), new ArrayList<>(edges));
  }

  private LineageNode describe(String kind, String id) {
    Map<String, String> facts = new LinkedHashMap<>();
    switch (kind) {
      case SNAPSHOT -> {
        Snapshot snapshot = store.findSnapshot(id).orElse(null);
        if (snapshot != null) {
          // Runs of identical content share one snapshot, and a landing file moves after its run,
          // so this is only where the batch was when the snapshot was first stored. Each run node
          // has its own source.
          facts.put(FIRST_SOURCE, snapshot.source());
          facts.put("rows", Long.toString(snapshot.profile().rowCount()));
          facts.put("created_at", snapshot.createdAt().toString());
        }
      }
      case RUN -> {
        Run run = store.findRun(id).orElse(null);
        if (run != null) {
          describeRun(run, facts);
        }
      }
      case MODEL_VERSION -> {
        int colon = id.lastIndexOf(':');
        store
            .findModelVersion(id.substring(0, colon), Integer.parseInt(id.substring(colon + 1)))
            .ifPresent(
                v -> {
                  facts.put("artifact_sha256", v.artifactSha256());
                  facts.put("created_at", v.createdAt().toString());
                });
      }
      case DEPLOYMENT -> {
        int colon = id.indexOf('/');
        String model = colon > 0 ? id.substring(0, colon) : id;
        for (DeploymentEvent event : store.listDeploymentEvents(model)) {
          if (event.id().equals(id)) {
            facts.put("kind", event.kind());
            facts.put("actor", event.actor());
            facts.put("at", event.at().toString());
            facts.put("detail", event.detail() == null ? "" : event.detail());
          }
        }
      }
      default -> {}
    }
    return new LineageNode(kind, id, facts);
  }

  /**
   * Adds a run's facts, with the file this run read, which may differ from the first source of its
   * snapshot. A run whose process has stopped is shown as FAILED with the interrupted reason, as
   * {@code PipelineService.failInterruptedRuns} would store it, because reading the lineage does
   * not write to the store.
   */
  private static void describeRun(Run stored, Map<String, String> facts) {
    Run run = RunOwner.failedIfInterrupted(stored);
    facts.put("pipeline", run.pipeline());
    facts.put("source", run.source());
    facts.put("status", run.status().name());
    if (run.outcome() != null) {
      facts.put("outcome", run.outcome().name());
    }
    if (run.reason() != null) {
      facts.put("reason", run.reason());
    }
    facts.put("started_at", run.startedAt().toString());
  }
}
