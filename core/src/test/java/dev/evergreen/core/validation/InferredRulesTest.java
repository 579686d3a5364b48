package dev.evergreen.core.validation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.ConstraintsSpec;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.PipelineSpecs;
import dev.evergreen.api.pipeline.RuleSpec;
import dev.evergreen.api.validation.Anomaly;
import dev.evergreen.api.validation.ConstraintResult;
import dev.evergreen.api.validation.Severity;
import dev.evergreen.api.validation.ValidationResult;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.snapshot.SnapshotService;
import dev.evergreen.core.store.PipelineState;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import dev.evergreen.core.testing.TempDirArtifactStore;
import dev.evergreen.core.testing.TestPipelines;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rules inferred from a reference snapshot: their results name that snapshot, a declared rule of
 * the same column and kind replaces them, and they can be listed, written as declared rules and
 * reset with an audit entry.
 */
class InferredRulesTest {
  static final String SOURCE = "source:\n  landing: landing\n";
  static final String LABEL = "label:\n  column: label\n  greaterThan: 0\n";
  static final String FEATURES = "features:\n  numeric: [income]\n  categorical: [city]\n";

  static final String REFERENCE_CSV = "income,city,label\n10.5,a,0\n20,b,1\n30,a,1\n";

  /** Row 2 breaks the inferred min of income, row 3 the inferred allowed values of city. */
  static final String CURRENT_CSV = "income,city,label\n11,a,0\n-84.34,b,1\n12,c,0\n";

  @TempDir Path dir;
  InMemoryMetadataStore store;
  AuditLog audit;
  SnapshotService snapshots;
  Validator validator = new Validator(1);

  @BeforeEach
  void setUp() throws IOException {
    store = new InMemoryMetadataStore();
    Clock clock = Clock.systemUTC();
    audit = new AuditLog(store, clock);
    snapshots =
        new SnapshotService(
            store, new TempDirArtifactStore(dir.resolve("artifacts")), audit, clock, null, 1);
  }

  static PipelineSpec spec(String validation) {
    return TestPipelines.of(SOURCE, "", LABEL, FEATURES, validation);
  }

  Snapshot ingest(String csv, PipelineSpec spec) throws IOException {
    Path file = Files.writeString(Files.createTempFile(dir, "batch-", ".csv"), csv);
    return snapshots.ingest(file, spec, "test").snapshot();
  }

  List<RuleSpec> infer(Snapshot reference, PipelineSpec spec) {
    return RuleInference.infer(reference, snapshots.parquetOf(reference), spec, 1);
  }

  ValidationResult validate(
      Snapshot current, Snapshot reference, PipelineSpec spec, List<RuleSpec> inferred) {
    return validator
        .check(
            current,
            snapshots.parquetOf(current),
            reference,
            snapshots.parquetOf(reference),
            spec,
            inferred,
            ValidationContext.training(Instant.now()))
        .result();
  }

  static Optional<ConstraintResult> find(ValidationResult result, String column, String name) {
    return result.constraints().stream()
        .filter(c -> c.column().equals(column) && c.name().equals(name))
        .findFirst();
  }

  @Test
  void inferredMinFailureNamesSnapshot() throws IOException {
    PipelineSpec spec = spec("");
    Snapshot reference = ingest(REFERENCE_CSV, spec);
    Snapshot current = ingest(CURRENT_CSV, spec);

    ValidationResult result = validate(current, reference, spec, infer(reference, spec));

    ConstraintResult min = find(result, "income", "min").orElseThrow();
    assertThat(min.failed()).isTrue();
    assertThat(min.expected())
        .isEqualTo(">= 0 (inferred from snapshot " + reference.shortId() + ")");
    Anomaly anomaly = min.toAnomaly();
    assertThat(anomaly.describe())
        .isEqualTo(
            "error: column 'income' rule min expected >= 0 (inferred from snapshot "
                + reference.shortId()
                + "), observed min -84.34 (1 failing row, 33.3333%), example rows [2]");
    assertThat(result.accepted()).isFalse();
  }

  @Test
  void inferredAllowedValuesWarningNamesSnapshot() throws IOException {
    PipelineSpec spec = spec("");
    Snapshot reference = ingest(REFERENCE_CSV, spec);
    Snapshot current = ingest(CURRENT_CSV, spec);

    ValidationResult result = validate(current, reference, spec, infer(reference, spec));

    ConstraintResult allowed = find(result, "city", "allowed_values").orElseThrow();
    assertThat(allowed.failed()).isTrue();
    assertThat(allowed.severity()).isEqualTo(Severity.WARNING);
    assertThat(allowed.expected())
        .isEqualTo("one of 'a', 'b' (inferred from snapshot " + reference.shortId() + ")");
    assertThat(allowed.toAnomaly().describe()).startsWith("warning: column 'city'");
  }

  @Test
  void passedInferredRuleNamesSnapshotToo() throws IOException {
    PipelineSpec spec = spec("");
    Snapshot reference = ingest(REFERENCE_CSV, spec);
    Snapshot current = ingest(CURRENT_CSV, spec);

    ValidationResult result = validate(current, reference, spec, infer(reference, spec));

    ConstraintResult notNull = find(result, "income", "not_null").orElseThrow();
    assertThat(notNull.failed()).isFalse();
    assertThat(notNull.expected()).endsWith("(inferred from snapshot " + reference.shortId() + ")");
  }

  @Test
  void declaredRuleCarriesNoInferredNote() throws IOException {
    PipelineSpec spec =
        spec("validation:\n  inferRules: false\n  rules:\n    - column: income\n      min: 0\n");
    Snapshot reference = ingest(REFERENCE_CSV, spec);
    Snapshot current = ingest(CURRENT_CSV, spec);

    ValidationResult result = validate(current, reference, spec, List.of());

    assertThat(find(result, "income", "min").orElseThrow().expected()).isEqualTo(">= 0");
  }

  @Test
  void declaredRuleReplacesInferredOfSameKind() throws IOException {
    PipelineSpec first = spec("");
    Snapshot reference = ingest(REFERENCE_CSV, first);
    List<RuleSpec> inferred = infer(reference, first);
    PipelineSpec declared = spec("validation:\n  rules:\n    - column: income\n      min: -100\n");
    Snapshot current = ingest(CURRENT_CSV, declared);

    ValidationResult result = validate(current, reference, declared, inferred);

    List<ConstraintResult> mins =
        result.constraints().stream()
            .filter(c -> c.column().equals("income") && c.name().equals("min"))
            .toList();
    assertThat(mins).hasSize(1);
    assertThat(mins.get(0).expected()).isEqualTo(">= -100");
    assertThat(mins.get(0).failed()).isFalse();
    assertThat(find(result, "income", "not_null").orElseThrow().expected())
        .contains("inferred from snapshot");
    assertThat(result.accepted()).isTrue();
  }

  @Test
  void inferRulesFalseSkipsStoredRules() throws IOException {
    PipelineSpec first = spec("");
    Snapshot reference = ingest(REFERENCE_CSV, first);
    List<RuleSpec> inferred = infer(reference, first);
    PipelineSpec off = spec("validation:\n  inferRules: false\n");
    Snapshot current = ingest(CURRENT_CSV, off);

    ValidationResult result = validate(current, reference, off, inferred);

    assertThat(result.constraints()).noneMatch(c -> c.expected().contains("inferred from"));
    assertThat(result.accepted()).isTrue();
  }

  @Test
  void entriesListEveryInferredConstraint() throws IOException {
    PipelineSpec spec = spec("");
    Snapshot reference = ingest(REFERENCE_CSV, spec);

    List<InferredRules.Entry> entries = InferredRules.entries(infer(reference, spec));

    assertThat(entries)
        .contains(
            new InferredRules.Entry("income", "not_null", "true", Severity.ERROR),
            new InferredRules.Entry("income", "min", "0", Severity.ERROR),
            new InferredRules.Entry("city", "allowed_values", "'a', 'b'", Severity.WARNING),
            new InferredRules.Entry("label", "not_null", "true", Severity.ERROR));
  }

  @Test
  void declarationYamlReadsBackAsSameRules() throws IOException {
    PipelineSpec spec = spec("");
    Snapshot reference = ingest(REFERENCE_CSV, spec);
    List<RuleSpec> inferred = infer(reference, spec);
    PipelineState state = new PipelineState("test", reference.id(), inferred);

    String yaml = InferredRules.declarationYaml("test", state);
    ConstraintsSpec parsed =
        PipelineSpecs.parseConstraints(yaml.getBytes(StandardCharsets.UTF_8), "declared");

    assertThat(yaml).contains("inferred from snapshot " + reference.id());
    assertThat(parsed.validation().rules()).isEqualTo(inferred);
  }

  @Test
  void declarationYamlWithoutRulesIsEmptyList() throws IOException {
    PipelineState state = new PipelineState("test", "ab".repeat(32), List.of());

    String yaml = InferredRules.declarationYaml("test", state);
    ConstraintsSpec parsed =
        PipelineSpecs.parseConstraints(yaml.getBytes(StandardCharsets.UTF_8), "declared");

    assertThat(parsed.validation().rules()).isEmpty();
  }

  @Test
  void resetDeletesStateAndAudits() throws IOException {
    PipelineSpec spec = spec("");
    Snapshot reference = ingest(REFERENCE_CSV, spec);
    List<RuleSpec> inferred = infer(reference, spec);
    store.savePipelineState(new PipelineState("test", reference.id(), inferred));
    long entriesBefore = store.listAuditEntries(0, 1000).size();

    Optional<PipelineState> deleted = InferredRules.reset(store, audit, "test", "cli:alice");

    assertThat(deleted).isPresent();
    assertThat(deleted.get().inferredRules()).isEqualTo(inferred);
    assertThat(store.findPipelineState("test")).isEmpty();
    List<AuditEntry> entries = store.listAuditEntries(0, 1000);
    assertThat(entries).hasSize((int) entriesBefore + 1);
    AuditEntry last = entries.get(entries.size() - 1);
    assertThat(last.action()).isEqualTo(AuditActions.INFERRED_RULES_RESET);
    assertThat(last.actor()).isEqualTo("cli:alice");
    assertThat(last.targets()).containsEntry("pipeline", "test");
    assertThat(last.details())
        .containsEntry("reference_snapshot", reference.id())
        .containsEntry("inferred_rules", Integer.toString(InferredRules.entries(inferred).size()));
  }

  @Test
  void resetWithoutStateAuditsNothing() {
    long entriesBefore = store.listAuditEntries(0, 1000).size();

    Optional<PipelineState> deleted = InferredRules.reset(store, audit, "test", "cli:alice");

    assertThat(deleted).isEmpty();
    assertThat(store.listAuditEntries(0, 1000)).hasSize((int) entriesBefore);
  }
}
