package dev.evergreen.core.pipeline;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.data.Snapshot;
import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.DeploymentSpec;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.RuleSpec;
import dev.evergreen.api.pipeline.ValidationSpec;
import dev.evergreen.api.run.Provenance;
import dev.evergreen.api.run.Run;
import dev.evergreen.api.run.RunOutcome;
import dev.evergreen.api.run.RunStatus;
import dev.evergreen.api.validation.Anomaly;
import dev.evergreen.api.validation.FeatureDrift;
import dev.evergreen.api.validation.ValidationReport;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.deployment.DeploymentResult;
import dev.evergreen.core.evaluation.Gate;
import dev.evergreen.core.evaluation.GateDecision;
import dev.evergreen.core.evaluation.Metrics;
import dev.evergreen.core.lineage.LineageService;
import dev.evergreen.core.profile.DatasetProfile;
import dev.evergreen.core.profile.SnapshotProfiles;
import dev.evergreen.core.serving.InputBatch;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.snapshot.SnapshotResult;
import dev.evergreen.core.store.PipelineState;
import dev.evergreen.core.store.TrafficSettings;
import dev.evergreen.core.training.ModelBundles;
import dev.evergreen.core.training.ModelBundles.StoredBundle;
import dev.evergreen.core.training.TrainedModel;
import dev.evergreen.core.training.TrainingData;
import dev.evergreen.core.validation.RuleInference;
import dev.evergreen.core.validation.ValidationContext;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Executes one run of a pipeline: snapshot, validate, train, evaluate, register, deploy. Each step
 * is timed, logged with the run id and recorded on the run; every state change has its audit entry.
 */
final class PipelineRunner {
  private static final Logger LOG = LoggerFactory.getLogger(PipelineRunner.class);

  static final String STEP_SNAPSHOT = "snapshot";
  static final String STEP_VALIDATE = "validate";
  static final String STEP_TRAIN = "train";
  static final String STEP_EVALUATE = "evaluate";
  static final String STEP_REGISTER = "register";
  static final String STEP_DEPLOY = "deploy";

  private static final int PREVIOUS_RUNS = 50;

  private final Evergreen evergreen;
  private final PipelineMetrics metrics;

  PipelineRunner(Evergreen evergreen, PipelineMetrics metrics) {
    this.evergreen = evergreen;
    this.metrics = metrics;
  }

  /** Set by {@link #stop} when the process shuts down. */
  private volatile boolean stopping;

  /** Runs a pipeline on a data file; the run row must exist in state SCHEDULED or RUNNING. */
  Run execute(RegisteredPipeline pipeline, Path data, Run scheduled) {
    RunRecorder run = new RunRecorder(evergreen.store(), scheduled);
    PipelineSpec spec = pipeline.spec();
    String actor = scheduled.actor();
    LOG.info("run {} of pipeline '{}' started on {}", run.id(), spec.name(), data);
    run.status(RunStatus.RUNNING);
    try {
      Snapshot snapshot = snapshotStep(run, spec, data, actor);
      ValidationReport report = validateStep(run, spec, snapshot, actor);
      if (!report.accepted()) {
        String reason =
            "validation rejected snapshot "
                + snapshot.shortId()
                + ": "
                + report.errors().stream().map(Anomaly::describe).collect(Collectors.joining("; "));
        return finish(run, spec, RunStatus.FAILED, RunOutcome.REJECTED, reason, actor);
      }
      Trained trained = trainStep(run, pipeline, snapshot);
      Evaluation evaluation = evaluateStep(run, spec, trained);
      ModelVersion version = registerStep(run, spec, trained, evaluation, actor);
      if (!evaluation.decision().promote() && evaluation.championVersion() == null) {
        return finish(
            run,
            spec,
            RunStatus.FINISHED,
            RunOutcome.NO_CHAMPION,
            "no version promoted: version "
                + version.version()
                + ", registered as challenger, failed the gate and model '"
                + version.model()
                + "' has no champion, so no version of it serves; gate: "
                + evaluation.decision().reason(),
            actor);
      }
      if (!evaluation.decision().promote()) {
        return finish(
            run,
            spec,
            RunStatus.FINISHED,
            RunOutcome.CHAMPION_KEPT,
            "version "
                + version.version()
                + " registered as challenger; champion kept: "
                + evaluation.decision().reason(),
            actor);
      }
      String rollout;
      try {
        rollout = deployStep(run, spec, version, evaluation, actor);
      } catch (ChampionMoved moved) {
        return finish(
            run,
            spec,
            RunStatus.FINISHED,
            RunOutcome.CHAMPION_KEPT,
            "version "
                + version.version()
                + " registered as challenger; it passed the gate against "
                + (evaluation.championVersion() == null
                    ? "no champion"
                    : "version " + evaluation.championVersion())
                + ", but the champion moved while this run trained: "
                + moved.getMessage()
                + "; run the pipeline again to compare it with the new champion",
            actor);
      }
      return finish(
          run,
          spec,
          RunStatus.FINISHED,
          RunOutcome.PROMOTED,
          "version " + version.version() + " " + rollout + ": " + evaluation.decision().reason(),
          actor);
    } catch (RuntimeException | IOException e) {
      if (!stopping) {
        return failed(run, spec, actor, e);
      }
      // The process shuts down and interrupted the run, so whatever the step reported is a
      // consequence of the interruption, not of the data or the platform.
      LOG.warn("run {} of pipeline '{}' interrupted by shutdown: {}", run.id(), spec.name(), e);
      return finish(
          run,
          spec,
          RunStatus.FAILED,
          RunOutcome.FAILED,
          "interrupted: the process that executed this run shut down during it; a landing file"
              + " runs again when the server starts, and a run submitted over HTTP must be"
              + " submitted again",
          actor);
    } catch (LinkageError e) {
      // A native library (XGBoost, DuckDB) that fails to load.
      LOG.error("run {} of pipeline '{}' failed", run.id(), spec.name(), e);
      String message = e.getMessage() == null ? e.getClass().getName() : e.getMessage();
      return finish(run, spec, RunStatus.FAILED, RunOutcome.FAILED, message, actor);
    }
  }

  /** Marks this runner as stopping: failures of runs it interrupts are recorded as such. */
  void stop() {
    stopping = true;
  }

  private Run failed(RunRecorder run, PipelineSpec spec, String actor, Exception failure) {
    if (failure instanceof EvergreenException e) {
      LOG.warn("run {} of pipeline '{}' failed: {}", run.id(), spec.name(), e.getMessage());
      // Unreadable or malformed data is a verdict on the batch, not a fault of the platform.
      RunOutcome outcome =
          e.kind() == ErrorKind.INVALID_INPUT ? RunOutcome.REJECTED : RunOutcome.FAILED;
      return finish(run, spec, RunStatus.FAILED, outcome, e.getMessage(), actor);
    }
    LOG.error("run {} of pipeline '{}' failed", run.id(), spec.name(), failure);
    String message =
        failure.getMessage() == null ? failure.getClass().getName() : failure.getMessage();
    return finish(run, spec, RunStatus.FAILED, RunOutcome.FAILED, message, actor);
  }

  private Snapshot snapshotStep(RunRecorder run, PipelineSpec spec, Path data, String actor) {
    long start = System.nanoTime();
    SnapshotResult result = evergreen.snapshots().ingest(data, spec, actor);
    Snapshot snapshot = result.snapshot();
    evergreen
        .store()
        .inTransaction(
            () -> {
              run.snapshotId(snapshot.id());
              evergreen
                  .lineage()
                  .record(LineageService.SNAPSHOT, snapshot.id(), LineageService.RUN, run.id());
            });
    stepDone(run, spec, STEP_SNAPSHOT, start);
    LOG.info(
        "run {}: snapshot {} ({} rows, {})",
        run.id(),
        snapshot.shortId(),
        snapshot.profile().rowCount(),
        result.created() ? "new" : "already stored");
    return snapshot;
  }

  private ValidationReport validateStep(
      RunRecorder run, PipelineSpec spec, Snapshot snapshot, String actor) throws IOException {
    long start = System.nanoTime();
    Optional<PipelineState> state = evergreen.store().findPipelineState(spec.name());
    Snapshot reference =
        state.flatMap(s -> evergreen.store().findSnapshot(s.referenceSnapshotId())).orElse(null);
    List<RuleSpec> inferred = state.map(PipelineState::inferredRules).orElse(List.of());
    Path referenceParquet = reference == null ? null : evergreen.snapshots().parquetOf(reference);
    List<Snapshot> recent =
        recentAccepted(spec.name(), run.id(), spec.validation().history().window());
    ValidationContext context =
        new ValidationContext(
                ValidationSpec.TRAINING,
                evergreen.clock().instant(),
                recent.isEmpty() ? null : recent.get(0).profile().rowCount())
            .withHistory(recent.stream().map(Snapshot::profile).toList());
    if (reference != null) {
      context =
          context.withProfiles(
              storedProfile(run, reference).orElse(null),
              storedProfile(run, snapshot).orElse(null));
    }
    ValidationReport report =
        evergreen
            .validator()
            .check(
                snapshot,
                evergreen.snapshots().parquetOf(snapshot),
                reference,
                referenceParquet,
                spec,
                inferred,
                context)
            .report();
    evergreen
        .store()
        .inTransaction(
            () -> {
              evergreen.store().saveValidationReport(run.id(), report);
              Map<String, String> details = new LinkedHashMap<>();
              details.put("verdict", report.accepted() ? "accepted" : "rejected");
              details.put("errors", Integer.toString(report.errors().size()));
              details.put("warnings", Integer.toString(report.warnings().size()));
              report
                  .largestDrift()
                  .ifPresent(d -> details.put("largest_psi", d.feature() + "=" + format(d.psi())));
              evergreen
                  .audit()
                  .append(
                      actor,
                      AuditActions.VALIDATION_VERDICT,
                      Map.of("run", run.id(), "snapshot", snapshot.id()),
                      details);
              if (report.accepted() && state.isEmpty()) {
                List<RuleSpec> rules =
                    spec.validation().inferRules()
                        ? RuleInference.infer(
                            snapshot,
                            evergreen.snapshots().parquetOf(snapshot),
                            spec,
                            evergreen.settings().threads())
                        : List.of();
                evergreen
                    .store()
                    .savePipelineState(new PipelineState(spec.name(), snapshot.id(), rules));
              }
            });
    for (Anomaly anomaly : report.anomalies()) {
      metrics.validationFailure(spec.name(), anomaly);
    }
    for (FeatureDrift drift : report.drift()) {
      metrics.drift(spec.name(), drift);
    }
    report.largestDrift().ifPresent(d -> run.metrics(Map.of("largest_psi", d.psi())));
    stepDone(run, spec, STEP_VALIDATE, start);
    LOG.info(
        "run {}: validation {} with {} errors and {} warnings",
        run.id(),
        report.accepted() ? "accepted" : "rejected",
        report.errors().size(),
        report.warnings().size());
    return report;
  }

  /**
   * Returns the snapshots of the pipeline's newest earlier batches that validation accepted, newest
   * first, at most {@code limit} of them, among its last {@value #PREVIOUS_RUNS} runs.
   */
  private List<Snapshot> recentAccepted(String pipeline, String currentRunId, int limit) {
    List<Snapshot> snapshots = new ArrayList<>();
    for (Run earlier : evergreen.store().listRuns(pipeline, PREVIOUS_RUNS)) {
      if (snapshots.size() >= Math.max(1, limit)) {
        break;
      }
      if (earlier.id().equals(currentRunId)
          || earlier.snapshotId() == null
          || earlier.outcome() == null
          || earlier.outcome() == RunOutcome.REJECTED) {
        continue;
      }
      evergreen.store().findSnapshot(earlier.snapshotId()).ifPresent(snapshots::add);
    }
    return snapshots;
  }

  /**
   * Reads the stored binary profile of a snapshot. It is empty for a snapshot stored before
   * profiles were kept, or when the profile cannot be read, and then drift is measured from the
   * rows.
   */
  private Optional<DatasetProfile> storedProfile(RunRecorder run, Snapshot snapshot) {
    try {
      return SnapshotProfiles.read(evergreen.artifacts(), snapshot);
    } catch (EvergreenException e) {
      LOG.warn("run {}: measuring drift from rows because {}", run.id(), e.getMessage());
      return Optional.empty();
    }
  }

  /** A trained challenger and the data it was trained on. */
  private record Trained(TrainingData data, TrainedModel model, Provenance provenance) {}

  private Trained trainStep(RunRecorder run, RegisteredPipeline pipeline, Snapshot snapshot)
      throws IOException {
    PipelineSpec spec = pipeline.spec();
    long start = System.nanoTime();
    TrainingData data = evergreen.trainingData(evergreen.snapshots().parquetOf(snapshot), spec);
    Provenances.GitState git = Provenances.gitState(pipeline.file());
    TrainedModel model =
        evergreen.trainer().train(data, spec.trainer(), spec.deployment().checkRows());
    Provenance provenance =
        new Provenance(
            List.of(snapshot.id()),
            pipeline.file().toAbsolutePath().toString(),
            pipeline.sourceSha256(),
            git.commit(),
            git.dirty(),
            "xgboost",
            model.engineVersion(),
            Runtime.version().toString(),
            System.getProperty("os.name")
                + " "
                + System.getProperty("os.version")
                + " "
                + System.getProperty("os.arch"),
            Runtime.getRuntime().availableProcessors(),
            Map.of("split", spec.split().seed(), "trainer", spec.trainer().seed()));
    run.provenance(provenance);
    stepDone(run, spec, STEP_TRAIN, start);
    return new Trained(data, model, provenance);
  }

  /** Holdout metrics of both models, the gate's decision and the stored bundle. */
  private record Evaluation(
      Map<String, Double> challenger,
      Map<String, Double> champion,
      Integer championVersion,
      GateDecision decision,
      StoredBundle bundle) {}

  private Evaluation evaluateStep(RunRecorder run, PipelineSpec spec, Trained trained)
      throws IOException {
    long start = System.nanoTime();
    String model = spec.deployment().model();
    StoredBundle bundle =
        ModelBundles.store(evergreen.artifacts(), trained.model(), trained.data(), spec.trainer());
    ModelVersion draft = draft(run, spec, trained, bundle, Map.of());
    ServableModel challengerModel = evergreen.loader().load(draft);
    InputBatch holdout = trained.data().holdout().inputs();
    double[] labels = trained.data().holdout().labels();
    String objective = spec.trainer().objective();
    Map<String, Double> challenger =
        Metrics.evaluate(
            objective, labels, challengerModel.predict(holdout), challengerModel.outputWidth());
    Optional<ModelVersion> championVersion = evergreen.registry().byAlias(model, Aliases.CHAMPION);
    Map<String, Double> champion = null;
    if (championVersion.isPresent()) {
      ServableModel championModel = evergreen.loader().load(championVersion.get());
      champion =
          Metrics.evaluate(
              objective, labels, championModel.predict(holdout), championModel.outputWidth());
    }
    GateDecision decision = Gate.decide(spec.evaluation(), challenger, champion);
    Map<String, Double> recorded = new LinkedHashMap<>(challenger);
    if (champion != null) {
      champion.forEach((name, value) -> recorded.put("champion_" + name, value));
    }
    recorded.put("train_rows", (double) trained.data().trainRows());
    recorded.put("holdout_rows", (double) holdout.rows());
    recorded.put("train_seconds", trained.model().trainSeconds());
    run.metrics(recorded);
    stepDone(run, spec, STEP_EVALUATE, start);
    LOG.info(
        "run {}: challenger {} {}, champion {}; {}",
        run.id(),
        spec.evaluation().metric(),
        format(challenger.get(spec.evaluation().metric())),
        champion == null ? "none" : format(champion.get(spec.evaluation().metric())),
        decision.promote() ? "promote" : "keep champion");
    return new Evaluation(
        challenger,
        champion,
        championVersion.map(ModelVersion::version).orElse(null),
        decision,
        bundle);
  }

  private ModelVersion draft(
      RunRecorder run,
      PipelineSpec spec,
      Trained trained,
      StoredBundle bundle,
      Map<String, Double> metrics) {
    return new ModelVersion(
        spec.deployment().model(),
        0,
        bundle.manifestKey(),
        bundle.modelSha256(),
        run.id(),
        trained.provenance().snapshotIds().get(0),
        metrics,
        trained.provenance(),
        evergreen.clock().instant().truncatedTo(ChronoUnit.MILLIS));
  }

  private ModelVersion registerStep(
      RunRecorder run, PipelineSpec spec, Trained trained, Evaluation evaluation, String actor) {
    long start = System.nanoTime();
    Map<String, Double> metrics = new LinkedHashMap<>(evaluation.challenger());
    ModelVersion version =
        evergreen
            .store()
            .inTransaction(
                () -> {
                  ModelVersion stored =
                      evergreen
                          .registry()
                          .register(draft(run, spec, trained, evaluation.bundle(), metrics), actor);
                  evergreen
                      .registry()
                      .moveAlias(
                          stored.model(),
                          Aliases.CHALLENGER,
                          stored.version(),
                          actor,
                          "trained by run " + run.id());
                  return stored;
                });
    stepDone(run, spec, STEP_REGISTER, start);
    LOG.info("run {}: registered {} version {}", run.id(), version.model(), version.version());
    return version;
  }

  /**
   * Deploys a version that passed the gate with the pipeline's strategy.
   *
   * @return what the rollout did, to follow "version N" in the run's reason
   */
  private String deployStep(
      RunRecorder run,
      PipelineSpec spec,
      ModelVersion version,
      Evaluation evaluation,
      String actor) {
    long start = System.nanoTime();
    String model = version.model();
    Integer previous = evaluation.championVersion();
    DeploymentSpec deployment = spec.deployment();
    boolean serving = evergreen.deployments().serving(model).isPresent();
    if (serving && !deployment.strategy().equals(DeploymentSpec.BLUE_GREEN)) {
      // A canary or shadow is compared with the serving champion, so the alias stays until the
      // canary is promoted.
      DeploymentResult result =
          deployment.strategy().equals(DeploymentSpec.CANARY)
              ? evergreen
                  .deployments()
                  .startCanary(model, version.version(), deployment.canary(), actor)
              : evergreen
                  .deployments()
                  .startShadow(model, version.version(), deployment.shadow(), actor);
      LOG.info("run {}: {}", run.id(), result.detail());
      stepDone(run, spec, STEP_DEPLOY, start);
      return "passed the gate and started as a " + deployment.strategy();
    }
    if (previous != null && !deployment.strategy().equals(DeploymentSpec.BLUE_GREEN)) {
      // No version serves in this process, which is a CLI run beside a server. The canary or
      // shadow is stored for the server's reconciler to start, and the alias stays until a promote.
      String detail =
          deployment.strategy().equals(DeploymentSpec.CANARY)
              ? evergreen
                  .deployments()
                  .requestCanary(model, version.version(), deployment.canary(), previous, actor)
              : evergreen
                  .deployments()
                  .requestShadow(model, version.version(), deployment.shadow(), previous, actor);
      LOG.info("run {}: {}", run.id(), detail);
      stepDone(run, spec, STEP_DEPLOY, start);
      return "passed the gate and is stored as a "
          + deployment.strategy()
          + " for the server that serves the model to start";
    }
    requireNoStoredCanary(model, version.version(), previous);
    // The alias moves before the switch, so a server restarted after a crash loads the new
    // champion. A version that fails its check moves the alias back. It moves only from the
    // version the gate compared with: another run, in this process or another, may have moved it
    // since, and this version was never compared with that one.
    try {
      evergreen
          .registry()
          .moveAliasFrom(
              model,
              Aliases.CHAMPION,
              previous,
              version.version(),
              actor,
              "run " + run.id() + ": " + evaluation.decision().reason());
    } catch (EvergreenException e) {
      if (e.kind() == ErrorKind.CONFLICT) {
        throw new ChampionMoved(e.getMessage());
      }
      throw e;
    }
    try {
      if (evergreen.deployments().servesTraffic()) {
        DeploymentResult result = evergreen.deployments().deploy(model, version.version(), actor);
        LOG.info(
            "run {}: {} version {} serving ({})",
            run.id(),
            model,
            version.version(),
            result.detail());
      } else {
        // This process serves no requests, so a switch here would record one that no request
        // reaches. The server that serves the home deploys the new champion and records the
        // switch.
        evergreen.deployments().checkVersion(model, version.version(), actor);
        LOG.info(
            "run {}: {} version {} passed its check; the server that serves this home switches to"
                + " it",
            run.id(),
            model,
            version.version());
      }
    } catch (RuntimeException e) {
      try {
        evergreen
            .registry()
            .moveAliasFrom(
                model,
                Aliases.CHAMPION,
                version.version(),
                previous,
                actor,
                "version " + version.version() + " failed to deploy: " + e.getMessage());
      } catch (EvergreenException moved) {
        if (moved.kind() != ErrorKind.CONFLICT) {
          throw moved;
        }
        // Another run promoted its own version meanwhile; moving the alias back would undo that.
        LOG.warn("run {}: champion not moved back: {}", run.id(), moved.getMessage());
      }
      throw e;
    }
    stepDone(run, spec, STEP_DEPLOY, start);
    return "promoted to champion";
  }

  /**
   * Rejects a blue-green switch while the store contains a canary of the model. The server that
   * runs the canary compares it with the champion and aborts it when the alias moves, and a deploy
   * in that server is rejected while the canary runs. Reading the store makes a run in any process,
   * such as {@code evergreen run} beside the server, end the same way before the alias moves.
   *
   * @throws EvergreenException CONFLICT naming the canary version and what to do next
   */
  private void requireNoStoredCanary(String model, int version, Integer champion) {
    TrafficSettings.CanarySetting canary =
        evergreen.store().trafficSettings(model).map(TrafficSettings::canary).orElse(null);
    if (canary == null || canary.version() == version) {
      return;
    }
    throw new EvergreenException(
        ErrorKind.CONFLICT,
        "version "
            + canary.version()
            + " of model '"
            + model
            + "' runs or is stored as a canary, so version "
            + version
            + ", registered as the challenger, was not deployed"
            + (champion == null ? "" : " and the champion stays version " + champion)
            + "; promote or abort the canary (evergreen traffic promote or abort "
            + model
            + "), then deploy version "
            + version
            + " (POST /api/v1/models/"
            + model
            + "/deploy)");
  }

  private Run finish(
      RunRecorder run,
      PipelineSpec spec,
      RunStatus status,
      RunOutcome outcome,
      String reason,
      String actor) {
    Instant at = evergreen.clock().instant().truncatedTo(ChronoUnit.MILLIS);
    Run finished = run.finish(status, outcome, reason, at);
    evergreen
        .store()
        .inTransaction(
            () -> {
              evergreen.store().updateRun(finished);
              evergreen
                  .audit()
                  .append(
                      actor,
                      AuditActions.RUN_FINISHED,
                      Map.of("run", run.id(), "pipeline", spec.name()),
                      Map.of("status", status.name(), "outcome", outcome.name()));
            });
    metrics.runFinished(spec.name(), outcome);
    LOG.info("run {} of pipeline '{}' finished: {} ({})", run.id(), spec.name(), outcome, reason);
    return finished;
  }

  private void stepDone(RunRecorder run, PipelineSpec spec, String step, long startNanos) {
    long nanos = System.nanoTime() - startNanos;
    run.step(step, nanos / 1e9);
    metrics.step(spec.name(), step, nanos);
    LOG.info("run {}: step {} took {} ms", run.id(), step, nanos / 1_000_000);
  }

  private static String format(Double value) {
    return value == null ? "n/a" : String.format(java.util.Locale.ROOT, "%.4f", value);
  }

  /** The champion alias moved after the gate compared with it, so this version was not compared. */
  private static final class ChampionMoved extends RuntimeException {
    ChampionMoved(String message) {
      super(message, null, false, false);
    }
  }
}
