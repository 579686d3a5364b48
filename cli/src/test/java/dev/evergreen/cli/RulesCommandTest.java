package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.pipeline.ConstraintsSpec;
import dev.evergreen.api.pipeline.PipelineSpecs;
import dev.evergreen.api.pipeline.RuleSpec;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.store.PipelineState;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code evergreen rules list, declare and reset} on a data directory where {@code evergreen run}
 * accepted a first batch of flights, inferring {@code min: 0} on distance among other rules.
 */
class RulesCommandTest {
  static final String PIPELINE = "flights-delay";

  /** Rows 1 to 5 of the batch get a negative distance, which the inferred min rejects. */
  static final String NEGATIVE_DISTANCE =
      "CASE WHEN row_number() OVER (ORDER BY date) <= 5 THEN -84 ELSE distance END";

  @TempDir Path work;
  Path home;
  Path pipeline;
  String reference;

  @BeforeEach
  void runFirstBatch() throws Exception {
    home = work.resolve("home");
    pipeline = FlightBatches.pipeline(work.resolve("pipeline"), 5);
    Path january = FlightBatches.month(work.resolve("batches"), 1, 2_000, null);
    assertThat(ContinuousTrainingLoopTest.run(pipeline, january, home))
        .isEqualTo(RunOutcome.PROMOTED.exitCode());
    try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
      reference = evergreen.store().findPipelineState(PIPELINE).orElseThrow().referenceSnapshotId();
    }
  }

  private record Result(int exitCode, String out, String error) {}

  private Result execute(String... args) {
    StringWriter out = new StringWriter();
    StringWriter error = new StringWriter();
    String[] withHome = new String[args.length + 2];
    System.arraycopy(args, 0, withHome, 0, args.length);
    withHome[args.length] = "--home";
    withHome[args.length + 1] = home.toString();
    int code =
        Main.commandLine()
            .setOut(new PrintWriter(out, true))
            .setErr(new PrintWriter(error, true))
            .execute(withHome);
    return new Result(code, out.toString(), error.toString());
  }

  private Path negativeBatch() throws Exception {
    return FlightBatches.month(work.resolve("batches"), 2, 2_000, NEGATIVE_DISTANCE);
  }

  @Test
  void listShowsRulesWithSnapshot() {
    Result result = execute("rules", "list", PIPELINE);

    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).contains("rules inferred from snapshot " + reference);
    assertThat(result.out()).containsPattern("(?m)^column +rule +severity +value$");
    assertThat(result.out()).containsPattern("(?m)^distance +min +error +0$");
    assertThat(result.out()).containsPattern("(?m)^distance +not_null +error +true$");
  }

  @Test
  void rejectionSaysRuleWasInferred() throws Exception {
    int exit = ContinuousTrainingLoopTest.run(pipeline, negativeBatch(), home);

    assertThat(exit).isEqualTo(RunOutcome.REJECTED.exitCode());
    try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
      Run run = evergreen.store().listRuns(PIPELINE, 1).get(0);
      assertThat(run.reason())
          .contains(
              "column 'distance' rule min expected >= 0 (inferred from snapshot "
                  + reference.substring(0, 12)
                  + "), observed min -84 (5 failing rows, 0.25%)");
    }
  }

  @Test
  void declarePrintsRulesForPipelineFile() throws Exception {
    Result result = execute("rules", "declare", PIPELINE);

    assertThat(result.exitCode()).isZero();
    ConstraintsSpec declared =
        PipelineSpecs.parseConstraints(result.out().getBytes(StandardCharsets.UTF_8), "output");
    List<RuleSpec> inferred;
    try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
      inferred = evergreen.store().findPipelineState(PIPELINE).orElseThrow().inferredRules();
    }
    assertThat(declared.validation().rules()).isEqualTo(inferred);
  }

  @Test
  void declaredRuleReplacesInferredOne() throws Exception {
    String yaml = Files.readString(pipeline);
    assertThat(yaml).contains("  inferRules: true\n");
    Files.writeString(
        pipeline,
        yaml.replace(
            "  inferRules: true\n",
            "  inferRules: true\n  rules:\n    - column: distance\n      min: -100\n"));

    int exit = ContinuousTrainingLoopTest.run(pipeline, negativeBatch(), home);

    assertThat(exit).isNotEqualTo(RunOutcome.REJECTED.exitCode());
  }

  @Test
  void resetDeletesRulesAndAudits() throws Exception {
    Result result = execute("rules", "reset", PIPELINE);

    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).contains("inferred from snapshot " + reference);
    try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
      assertThat(evergreen.store().findPipelineState(PIPELINE)).isEmpty();
      List<AuditEntry> entries = evergreen.store().listAuditEntries(0, 10_000);
      AuditEntry last = entries.get(entries.size() - 1);
      assertThat(last.action()).isEqualTo(AuditActions.INFERRED_RULES_RESET);
      assertThat(last.actor()).isEqualTo(Main.actor());
      assertThat(last.targets()).containsEntry("pipeline", PIPELINE);
      assertThat(last.details()).containsEntry("reference_snapshot", reference);
    }
    assertThat(execute("audit", "verify").exitCode()).isZero();
  }

  @Test
  void nextAcceptedBatchInfersAgainAfterReset() throws Exception {
    assertThat(execute("rules", "reset", PIPELINE).exitCode()).isZero();
    assertThat(execute("rules", "list", PIPELINE).out()).contains("has no inferred rules yet");

    int exit = ContinuousTrainingLoopTest.run(pipeline, negativeBatch(), home);

    assertThat(exit).isNotEqualTo(RunOutcome.REJECTED.exitCode());
    try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
      PipelineState state = evergreen.store().findPipelineState(PIPELINE).orElseThrow();
      assertThat(state.referenceSnapshotId()).isNotEqualTo(reference);
      assertThat(state.inferredRules())
          .noneMatch(rule -> rule.column().equals("distance") && rule.min() != null);
    }
  }

  @Test
  void resetTwiceChangesNothingMore() throws Exception {
    assertThat(execute("rules", "reset", PIPELINE).exitCode()).isZero();
    long entries;
    try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
      entries = evergreen.store().listAuditEntries(0, 10_000).size();
    }

    Result second = execute("rules", "reset", PIPELINE);

    assertThat(second.exitCode()).isZero();
    assertThat(second.out()).contains("nothing to reset");
    try (Evergreen evergreen = Home.openExisting(home, new SimpleMeterRegistry())) {
      assertThat(evergreen.store().listAuditEntries(0, 10_000)).hasSize((int) entries);
    }
  }

  @Test
  void unknownPipelineFails() {
    for (String command : new String[] {"list", "declare", "reset"}) {
      Result result = execute("rules", command, "no-such-pipeline");

      assertThat(result.exitCode()).as(command).isEqualTo(Main.EXIT_FAILED);
      assertThat(result.error()).as(command).contains("pipeline 'no-such-pipeline' has no runs");
    }
  }
}
