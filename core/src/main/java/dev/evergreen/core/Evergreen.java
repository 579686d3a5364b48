package dev.evergreen.core;

import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.core.audit.AuditHead;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.audit.AuditVerifier;
import dev.evergreen.core.deployment.DeploymentManager;
import dev.evergreen.core.inference.InferenceRouter;
import dev.evergreen.core.lineage.LineageService;
import dev.evergreen.core.pipeline.PipelineService;
import dev.evergreen.core.registry.ModelRegistry;
import dev.evergreen.core.security.TokenService;
import dev.evergreen.core.serving.ModelLoader;
import dev.evergreen.core.snapshot.SnapshotService;
import dev.evergreen.core.store.ArtifactStore;
import dev.evergreen.core.store.MetadataStore;
import dev.evergreen.core.training.DatasetLoader;
import dev.evergreen.core.training.TrainingData;
import dev.evergreen.core.training.XgboostTrainer;
import dev.evergreen.core.validation.Validator;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Clock;

/**
 * One Evergreen instance: the services of the core wired to a metadata store and an artifact store.
 * The server and the CLI each build one; neither reaches the stores any other way.
 */
public final class Evergreen implements AutoCloseable {
  private final MetadataStore store;
  private final ArtifactStore artifacts;
  private final MeterRegistry meters;
  private final Clock clock;
  private final EvergreenSettings settings;
  private final AuditLog audit;
  private final LineageService lineage;
  private final ModelRegistry registry;
  private final TokenService tokens;
  private final SnapshotService snapshots;
  private final Validator validator;
  private final XgboostTrainer trainer;
  private final ModelLoader loader;
  private final DeploymentManager deployments;
  private final InferenceRouter router;
  private final PipelineService pipelines;

  public Evergreen(
      MetadataStore store,
      ArtifactStore artifacts,
      MeterRegistry meters,
      Clock clock,
      EvergreenSettings settings) {
    this.store = store;
    this.artifacts = artifacts;
    this.meters = meters;
    this.clock = clock;
    this.settings = settings;
    this.audit = new AuditLog(store, clock);
    this.lineage = new LineageService(store, clock);
    this.registry = new ModelRegistry(store, audit, lineage, clock);
    this.tokens = new TokenService(store, audit, clock);
    this.snapshots =
        new SnapshotService(
            store, artifacts, audit, clock, settings.pseudonymKey(), settings.threads());
    this.validator = new Validator(settings.threads());
    this.trainer = new XgboostTrainer();
    this.loader = new ModelLoader(artifacts);
    this.deployments =
        new DeploymentManager(
            store,
            registry,
            loader::load,
            audit,
            lineage,
            meters,
            clock,
            settings.checkTolerance());
    this.router = new InferenceRouter(deployments, meters);
    this.pipelines = new PipelineService(this);
  }

  public MetadataStore store() {
    return store;
  }

  public ArtifactStore artifacts() {
    return artifacts;
  }

  public MeterRegistry meters() {
    return meters;
  }

  public Clock clock() {
    return clock;
  }

  public EvergreenSettings settings() {
    return settings;
  }

  public AuditLog audit() {
    return audit;
  }

  public LineageService lineage() {
    return lineage;
  }

  public ModelRegistry registry() {
    return registry;
  }

  public TokenService tokens() {
    return tokens;
  }

  public SnapshotService snapshots() {
    return snapshots;
  }

  public Validator validator() {
    return validator;
  }

  public XgboostTrainer trainer() {
    return trainer;
  }

  public ModelLoader loader() {
    return loader;
  }

  public DeploymentManager deployments() {
    return deployments;
  }

  /** Returns the scoring path that every inference protocol goes through. */
  public InferenceRouter router() {
    return router;
  }

  public PipelineService pipelines() {
    return pipelines;
  }

  /** Reads a snapshot's Parquet file into training and holdout rows as the pipeline says. */
  public TrainingData trainingData(Path snapshotParquet, PipelineSpec spec) {
    return DatasetLoader.load(snapshotParquet, spec, settings.threads());
  }

  public AuditVerifier.Result verifyAudit() {
    return AuditVerifier.verify(store);
  }

  /** Verifies the audit chain and that an earlier head still exists, see {@link AuditVerifier}. */
  public AuditVerifier.Result verifyAudit(AuditHead expected) {
    return AuditVerifier.verify(store, expected);
  }

  @Override
  public void close() {
    pipelines.close();
    router.close();
    deployments.close();
    store.close();
  }
}
