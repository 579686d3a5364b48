package dev.evergreen.cli;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.lineage.LineageEdge;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.lineage.LineageGraph;
import dev.evergreen.core.lineage.LineageNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** Prints the lineage of a model or one of its versions. */
@Command(
    name = "lineage",
    mixinStandardHelpOptions = true,
    description = "Show snapshot -> run -> model version -> deployment for MODEL[:VERSION].")
final class LineageCommand implements Callable<Integer> {
  @Parameters(paramLabel = "MODEL[:VERSION]")
  String target;

  @Mixin HomeOption home;

  @Override
  public Integer call() throws Exception {
    String model = target;
    Integer version = null;
    int colon = target.lastIndexOf(':');
    if (colon > 0) {
      model = target.substring(0, colon);
      try {
        version = Integer.parseInt(target.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw EvergreenException.invalid(
            "version '"
                + target.substring(colon + 1)
                + "' in '"
                + target
                + "' is not a number;"
                + " write MODEL or MODEL:VERSION, such as flights-delay:3");
      }
    }
    try (Evergreen evergreen = Home.openExisting(home.resolve(), new SimpleMeterRegistry())) {
      LineageGraph graph = evergreen.lineage().forModel(model, version);
      System.out.println("nodes:");
      for (LineageNode node : graph.nodes()) {
        System.out.println("  " + node.kind() + " " + node.id() + "  " + node.facts());
      }
      System.out.println("edges:");
      for (LineageEdge edge : graph.edges()) {
        System.out.println(
            "  "
                + edge.fromKind()
                + " "
                + edge.fromId()
                + " -> "
                + edge.toKind()
                + " "
                + edge.toId());
      }
    }
    return 0;
  }
}
