package dev.evergreen.store.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.data.Profile;
import dev.evergreen.api.data.Schema;
import dev.evergreen.api.pipeline.RuleSpec;
import dev.evergreen.api.run.Provenance;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.api.security.Role;
import dev.evergreen.api.validation.ValidationReport;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class JsonTest {
  static Stream<Named<Object>> values() {
    return Stream.of(
        Named.of("Schema", Samples.schema()),
        Named.of("Profile", Samples.profile()),
        Named.of("Snapshot", Samples.snapshot("a")),
        Named.of("Provenance", Samples.provenance()),
        Named.of("Run running", Samples.run("r", "flights", RunStatus.RUNNING, Samples.T0)),
        Named.of("Run scheduled", Samples.run("s", "flights", RunStatus.SCHEDULED, Samples.T0)),
        Named.of("Run finished", Samples.run("f", "flights", RunStatus.FINISHED, Samples.T0)),
        Named.of("ValidationReport", Samples.report("a")),
        Named.of("PipelineState", Samples.pipelineState("flights")),
        Named.of("RuleSpec", new RuleSpec("x", null, null, null, null, null)),
        Named.of("ModelVersion", Samples.modelVersion("flights-delay", "a")),
        Named.of("AuditEntry", Samples.auditEntry(7, Samples.hex("six"))),
        Named.of("AliasMove", Samples.aliasMove("flights-delay", null, 3)),
        Named.of("DeploymentEvent", Samples.deploymentEvent("m", "e1", 2, null)),
        Named.of("LineageEdge", Samples.edge("run", "r1", "model_version", "m:1")),
        Named.of("Token", Samples.token("t1", Role.OPERATOR)));
  }

  @ParameterizedTest
  @MethodSource("values")
  void recordRoundTripsThroughJson(Object value) {
    String text = Json.write(value);

    Object read = Json.read(text, value.getClass(), "test");

    assertThat(read).isEqualTo(value);
    assertThat(Json.write(read)).isEqualTo(text);
  }

  @Test
  void instantKeepsNanosecondsInJson() {
    AuditEntry entry = Samples.auditEntry(1, Samples.hex("x"));
    AuditEntry precise =
        new AuditEntry(
            1,
            entry.at().plusNanos(123_456),
            entry.actor(),
            entry.action(),
            entry.targets(),
            entry.details(),
            entry.previousHash(),
            entry.hash());

    AuditEntry read = Json.read(Json.write(precise), AuditEntry.class, "test");

    assertThat(read.at()).isEqualTo(precise.at());
  }

  @Test
  void nonFiniteMetricsRoundTrip() {
    Map<String, Double> metrics =
        Map.of(
            "nan",
            Double.NaN,
            "up",
            Double.POSITIVE_INFINITY,
            "down",
            Double.NEGATIVE_INFINITY,
            "negative_zero",
            -0.0,
            "tiny",
            Double.MIN_VALUE);

    Map<String, Double> read =
        Json.read(Json.write(metrics), new TypeReference<Map<String, Double>>() {}, "test");

    assertThat(read).isEqualTo(metrics);
  }

  @Test
  void mapEntriesWrittenInKeyOrder() {
    Map<String, Double> forward = new LinkedHashMap<>();
    forward.put("a", 1.0);
    forward.put("b", 2.0);
    forward.put("c", 3.0);
    Map<String, Double> backward = new LinkedHashMap<>();
    backward.put("c", 3.0);
    backward.put("b", 2.0);
    backward.put("a", 1.0);

    assertThat(Json.write(backward)).isEqualTo(Json.write(forward));
    assertThat(Json.write(forward)).isEqualTo("{\"a\":1.0,\"b\":2.0,\"c\":3.0}");
  }

  @Test
  void genericListOfRulesRoundTrips() {
    List<RuleSpec> rules = Samples.pipelineState("p").inferredRules();

    List<RuleSpec> read =
        Json.read(Json.write(rules), new TypeReference<List<RuleSpec>>() {}, "test");

    assertThat(read).isEqualTo(rules);
  }

  @Test
  void nullWritesSqlNull() {
    assertThat(Json.write(null)).isNull();
    assertThat(Json.read(null, Provenance.class, "test")).isNull();
  }

  @Test
  void unknownPropertiesAreIgnored() {
    String text = Json.write(Samples.schema());
    String extended = "{\"addedLater\":1," + text.substring(1);

    assertThat(Json.read(extended, Schema.class, "test")).isEqualTo(Samples.schema());
  }

  @Test
  void invalidJsonNamesColumn() {
    assertThatThrownBy(() -> Json.read("{not json", ValidationReport.class, "runs.metrics_json"))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INTERNAL))
        .hasMessageContaining("runs.metrics_json");
  }

  @Test
  void derivedMethodsAreNotSerialized() {
    String report = Json.write(Samples.report("a"));
    String profile = Json.write(Samples.profile());
    String run = Json.write(Samples.run("r", "p", RunStatus.FINISHED, Samples.T0));

    assertThat(report).doesNotContain("\"accepted\"").doesNotContain("\"errors\"");
    assertThat(profile).doesNotContain("\"numeric\"");
    assertThat(run).contains("\"stepSeconds\"");
    assertThat(Json.read(run, Run.class, "test").metrics()).containsKey("champion_auc");
    assertThat(Json.read(profile, Profile.class, "test").rowCount()).isEqualTo(3_000_000L);
  }
}
