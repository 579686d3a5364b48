package dev.evergreen.core.validation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.validation.Anomaly;
import dev.evergreen.api.validation.ConstraintResult;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.api.validation.ValidationResult;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.snapshot.SnapshotService;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import dev.evergreen.core.testing.TempDirArtifactStore;
import dev.evergreen.core.testing.TestPipelines;
import dev.evergreen.core.training.DatasetLoader;
import java.io.IOException;
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
 * The label check of validation: a binary:logistic label other than 0 or 1 rejects the batch with
 * the file, the 1-based row, the value as written and the classes, and training reports the same
 * rule in the same terms.
 */
class LabelClassesTest {
  static final String SOURCE = "source:\n  landing: landing\n";
  static final String BINARY_LABEL = "label:\n  column: label\n";
  static final String FEATURES = "features:\n  numeric: [amount]\n";

  @TempDir Path dir;
  SnapshotService snapshots;
  Validator validator = new Validator(1);

  @BeforeEach
  void setUp() throws IOException {
    InMemoryMetadataStore store = new InMemoryMetadataStore();
    Clock clock = Clock.systemUTC();
    snapshots =
        new SnapshotService(
            store,
            new TempDirArtifactStore(dir.resolve("artifacts")),
            new AuditLog(store, clock),
            clock,
            null,
            1);
  }

  static PipelineSpec binary() {
    return TestPipelines.of(SOURCE, "", BINARY_LABEL, FEATURES, "");
  }

  /** Returns a pipeline with {@code objective} and {@code label} in place of the fixed ones. */
  static PipelineSpec withObjective(String label, String objective, String validation) {
    return TestPipelines.parse(
        "name: test\n"
            + SOURCE
            + label
            + FEATURES
            + validation
            + "trainer:\n  objective: \""
            + objective
            + "\"\n  rounds: 5\n  threads: 1\n"
            + "evaluation:\n  metric: "
            + (objective.startsWith("reg:") ? "rmse" : "auc")
            + "\ndeployment:\n  model: test\n");
  }

  Snapshot ingest(String name, String csv, PipelineSpec spec) throws IOException {
    Path file = Files.writeString(dir.resolve(name), csv);
    return snapshots.ingest(file, spec, "test").snapshot();
  }

  ValidationResult validate(Snapshot batch, PipelineSpec spec, String environment) {
    return validator
        .check(
            batch,
            snapshots.parquetOf(batch),
            null,
            null,
            spec,
            List.of(),
            new ValidationContext(environment, Instant.now(), null))
        .result();
  }

  static Optional<ConstraintResult> labelCheck(ValidationResult result) {
    return result.constraints().stream()
        .filter(c -> c.name().equals(LabelClasses.RULE))
        .findFirst();
  }

  @Test
  void integerLabelTwoRejected() throws IOException {
    PipelineSpec spec = binary();
    Snapshot batch = ingest("batch.csv", "amount,label\n1.5,0\n2.5,1\n3.5,2\n4.5,1\n", spec);

    ValidationReport report =
        validator.validate(batch, snapshots.parquetOf(batch), null, null, spec, List.of());

    assertThat(report.accepted()).isFalse();
    Anomaly anomaly =
        report.errors().stream()
            .filter(a -> a.rule().equals(LabelClasses.RULE))
            .findFirst()
            .orElseThrow();
    assertThat(anomaly.column()).isEqualTo("label");
    assertThat(anomaly.describe())
        .isEqualTo(
            "error: column 'label' rule label_classes expected one of 0, 1 (the classes of"
                + " binary:logistic), observed value 2, first in row 3 of "
                + dir.resolve("batch.csv").toAbsolutePath()
                + " (1 failing row, 25%), example rows [3]");
  }

  @Test
  void doubleLabelWrittenWithoutTrailingZero() throws IOException {
    PipelineSpec spec = binary();
    Snapshot batch =
        ingest("batch.csv", "amount,label\n1.5,0.0\n2.5,2.0\n3.5,2.0\n4.5,0.5\n", spec);

    ConstraintResult check = labelCheck(validate(batch, spec, "training")).orElseThrow();

    assertThat(check.failed()).isTrue();
    assertThat(check.observed()).startsWith("values 2, 0.5, first in row 2 of ");
    assertThat(check.observed()).doesNotContain("2.0");
    assertThat(check.failingRows()).isEqualTo(3);
    assertThat(check.examples()).extracting(e -> e.row()).containsExactly(2L, 3L, 4L);
  }

  @Test
  void textLabelQuoted() throws IOException {
    PipelineSpec spec = binary();
    Snapshot batch = ingest("batch.csv", "amount,label\n1.5,1\n2.5,yes\n", spec);

    ConstraintResult check = labelCheck(validate(batch, spec, "training")).orElseThrow();

    assertThat(check.failed()).isTrue();
    assertThat(check.observed()).startsWith("value 'yes', first in row 2 of ");
  }

  @Test
  void nullLabelsPass() throws IOException {
    PipelineSpec spec = binary();
    Snapshot batch = ingest("batch.csv", "amount,label\n1.5,1\n2.5,\n3.5,0\n", spec);

    ConstraintResult check = labelCheck(validate(batch, spec, "training")).orElseThrow();

    assertThat(check.failed()).isFalse();
    assertThat(check.expected()).isEqualTo("one of 0, 1 (the classes of binary:logistic)");
  }

  @Test
  void greaterThanLabelNotChecked() throws IOException {
    PipelineSpec spec =
        withObjective("label:\n  column: label\n  greaterThan: 1\n", "binary:logistic", "");
    Snapshot batch = ingest("batch.csv", "amount,label\n1.5,0\n2.5,7\n", spec);

    assertThat(labelCheck(validate(batch, spec, "training"))).isEmpty();
  }

  @Test
  void regressionLabelNotChecked() throws IOException {
    PipelineSpec spec = withObjective(BINARY_LABEL, "reg:squarederror", "");
    Snapshot batch = ingest("batch.csv", "amount,label\n1.5,0\n2.5,7\n", spec);

    assertThat(labelCheck(validate(batch, spec, "training"))).isEmpty();
  }

  @Test
  void multiClassLabelNotChecked() throws IOException {
    PipelineSpec spec = withObjective(BINARY_LABEL, "multi:softprob", "");
    Snapshot batch = ingest("batch.csv", "amount,label\n1.5,0\n2.5,7\n3.5,2\n", spec);

    assertThat(labelCheck(validate(batch, spec, "training"))).isEmpty();
  }

  @Test
  void excludedLabelNotChecked() throws IOException {
    PipelineSpec spec =
        withObjective(
            BINARY_LABEL,
            "binary:logistic",
            "validation:\n  environments:\n    serving:\n      exclude: [label]\n");
    Snapshot batch = ingest("batch.csv", "amount,label\n1.5,0\n2.5,2\n", spec);

    assertThat(labelCheck(validate(batch, spec, "serving"))).isEmpty();
    assertThat(labelCheck(validate(batch, spec, "training"))).isPresent();
  }

  @Test
  void trainingNamesOneBasedRowAndValue() throws IOException {
    PipelineSpec spec = binary();
    Snapshot batch = ingest("batch.csv", "amount,label\n1.5,0\n2.5,1\n3.5,2\n4.5,1\n", spec);

    assertThatThrownBy(() -> DatasetLoader.load(snapshots.parquetOf(batch), spec, 1))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("row 3: label 2 is not one of 0, 1 (the classes of binary:logistic)")
        .hasMessageContaining("set label.greaterThan");
  }
}
