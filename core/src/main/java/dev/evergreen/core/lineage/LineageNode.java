package dev.evergreen.core.lineage;

import java.util.Map;

/** A node of the lineage graph with the facts worth showing about it. */
public record LineageNode(String kind, String id, Map<String, String> facts) {
  public LineageNode {
    facts = Map.copyOf(facts);
  }
}
