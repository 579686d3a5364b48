package dev.evergreen.core.lineage;

import dev.evergreen.api.lineage.LineageEdge;
import java.util.List;

/** Nodes and edges reachable from one model version, upstream and downstream. */
public record LineageGraph(List<LineageNode> nodes, List<LineageEdge> edges) {
  public LineageGraph {
    nodes = List.copyOf(nodes);
    edges = List.copyOf(edges);
  }
}
