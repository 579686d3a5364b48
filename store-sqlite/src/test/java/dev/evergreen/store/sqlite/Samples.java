package dev.evergreen.store.sqlite;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.data.Column;
import dev.evergreen.api.data.ColumnProfile;
import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.PersonalDataTag;
import dev.evergreen.api.data.Profile;
import dev.evergreen.api.data.Schema;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.data.ValueCount;
import dev.evergreen.api.lineage.LineageEdge;
import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.RuleSpec;
import dev.evergreen.api.run.Provenance;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.api.security.Role;
import dev.evergreen.api.security.Token;
import dev.evergreen.api.validation.Anomaly;
import dev.evergreen.api.validation.FeatureDrift;
import dev.evergreen.api.validation.Severity;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.core.store.DeploymentEvent;
import dev.evergreen.core.store.PipelineState;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/** Value types filled with realistic, varied field values, including nulls and edge values. */
final class Samples {
  /** A fixed instant with millisecond precision, which the store keeps exactly. */
  static final Instant T0 = Instant.parse("2001-03-04T05:06:07.891Z");

  private Samples() {}

  static String hex(String seed) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(seed.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static String runId(String seed) {
    return hex(seed).substring(0, 32);
  }

  static Schema schema() {
    return new Schema(
        List.of(
            new Column("date", ColumnType.TIMESTAMP),
            new Column("delay", ColumnType.INTEGER),
            new Column("distance", ColumnType.DOUBLE),
            new Column("origin", ColumnType.STRING),
            new Column("cancelled", ColumnType.BOOLEAN),
            new Column("day", ColumnType.DATE)));
  }

  static Profile profile() {
    return new Profile(
        3_000_000L,
        List.of(
            new ColumnProfile(
                "delay",
                ColumnType.INTEGER,
                12,
                "-82",
                "1435",
                7.123456789012345,
                31.5,
                1_400,
                List.of(new ValueCount("0", 400_000), new ValueCount("-5", 100_000))),
            new ColumnProfile(
                "origin", ColumnType.STRING, 0, "ABE", "YUM", null, null, 230, List.of()),
            new ColumnProfile("day", ColumnType.DATE, 5, null, null, null, null, 0, List.of())));
  }

  static Snapshot snapshot(String seed) {
    return new Snapshot(
        hex(seed),
        "/data/landing/flights-" + seed + ".csv",
        "sha256/" + hex("artifact-" + seed),
        schema(),
        profile(),
        Map.of(
            "origin", PersonalDataTag.QUASI_IDENTIFIER, "name", PersonalDataTag.DIRECT_IDENTIFIER),
        T0);
  }

  static Provenance provenance() {
    return new Provenance(
        List.of(hex("s1"), hex("s2")),
        "pipelines/flights.yaml",
        hex("pipeline"),
        "0123456789abcdef0123456789abcdef01234567",
        Boolean.FALSE,
        "xgboost",
        "3.4.0",
        "25.0.1",
        "Linux 6.8 amd64",
        2,
        Map.of("split", 42L, "trainer", Long.MAX_VALUE));
  }

  static Run run(String seed, String pipeline, RunStatus status, Instant startedAt) {
    Map<String, Double> metrics = new HashMap<>();
    metrics.put("auc", 0.7123456789);
    metrics.put("champion_auc", Double.NaN);
    metrics.put("rmse", 1.0e-300);
    return new Run(
        runId(seed),
        pipeline,
        status,
        status.isTerminal() ? RunOutcome.CHAMPION_KEPT : null,
        "/data/landing/batch-" + seed + ".parquet",
        hex(seed),
        status.isTerminal() ? "challenger auc 0.712 is below champion auc 0.715" : null,
        metrics,
        Map.of("snapshot", 1.25, "train", 12.5),
        status == RunStatus.SCHEDULED ? null : provenance(),
        "host-a:4242",
        "alice",
        startedAt,
        status.isTerminal() ? startedAt.plusSeconds(90) : null);
  }

  static ValidationReport report(String snapshotSeed) {
    return new ValidationReport(
        hex(snapshotSeed),
        hex("reference"),
        List.of(
            new Anomaly("delay", "min", Severity.ERROR, "-60", "-82", 3, List.of(1L, 17L, 99L)),
            new Anomaly("origin", "psi", Severity.WARNING, "0.2", "0.31", 0, List.of())),
        List.of(new FeatureDrift("delay", 0.05), new FeatureDrift("origin", 0.31)));
  }

  static PipelineState pipelineState(String pipeline) {
    return new PipelineState(
        pipeline,
        hex("reference"),
        List.of(
            new RuleSpec("delay", true, -60.0, 1500.0, null, null),
            new RuleSpec("origin", null, null, null, List.of("SFO", "LAX"), Severity.WARNING)));
  }

  static ModelVersion modelVersion(String model, String seed) {
    return new ModelVersion(
        model,
        0,
        "sha256/" + hex("bundle-" + seed),
        hex("model-" + seed),
        runId(seed),
        hex("snapshot-" + seed),
        Map.of("auc", 0.75, "log_loss", 0.5),
        provenance(),
        T0);
  }

  static AuditEntry auditEntry(long sequence, String previousHash) {
    return new AuditEntry(
        sequence,
        T0.plusMillis(sequence),
        "alice",
        "alias.moved",
        Map.of("model", "flights-delay"),
        Map.of("alias", "champion", "from", "", "to", "2", "reason", "gate: auc ↑ 0.01"),
        previousHash,
        hex("entry-" + sequence));
  }

  static AliasMove aliasMove(String model, Integer from, Integer to) {
    return new AliasMove(model, "champion", from, to, "alice", "manual promotion", T0);
  }

  static DeploymentEvent deploymentEvent(String model, String id, int version, Integer previous) {
    return new DeploymentEvent(
        model + "/" + id, model, version, previous, "switch", "system", "switched in 12 ms", T0);
  }

  static LineageEdge edge(String fromKind, String fromId, String toKind, String toId) {
    return new LineageEdge(fromKind, fromId, toKind, toId, T0);
  }

  static Token token(String id, Role role) {
    return new Token(id, "ci-" + id, role, hex("secret-" + id), T0);
  }
}
