package dev.evergreen.core.deployment;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.model.AliasMove;
import dev.evergreen.api.model.Aliases;
import dev.evergreen.api.model.ModelVersion;
import dev.evergreen.api.pipeline.CanarySpec;
import dev.evergreen.api.pipeline.RollbackSpec;
import dev.evergreen.api.pipeline.ShadowSpec;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.lineage.LineageService;
import dev.evergreen.core.registry.ModelRegistry;
import dev.evergreen.core.serving.CheckSet;
import dev.evergreen.core.serving.ServableModel;
import dev.evergreen.core.serving.TensorSpec;
import dev.evergreen.core.store.DeploymentEvent;
import dev.evergreen.core.store.MetadataStore;
import dev.evergreen.core.store.TrafficSettings;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.NoSuchFileException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Blue-green deployment of model versions. Each model has an active slot, which takes all traffic,
 * and a standby slot with the previous version, kept loaded so that a rollback is one reference
 * swap.
 *
 * <p>A new version is loaded, warmed by scoring its check set, and checked: its scores on the check
 * rows must be finite and match the scores recorded at training time. Only then does it replace the
 * active slot, in one atomic write of an immutable {@link ServingState}. A version that fails to
 * load or fails its check never receives traffic. Readers never block: {@link #serving} is one read
 * of a concurrent map. Deploys and rollbacks of one model are serialized by a per-model lock.
 *
 * <p>The {@code champion} alias and the active slot are kept equal: a deploy moves the alias to the
 * deployed version, a rollback moves it back, and {@link #reconcile} deploys the alias target when
 * something else (a pipeline run, a CLI command in another process) moved it.
 *
 * <p>When a version leaves every slot, every meter of the meter registry tagged with its {@code
 * model} and {@code version} is removed, and each {@link ServingListener} is notified, so the
 * metrics of a platform that promotes versions automatically do not grow without bound.
 */
public final class DeploymentManager implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DeploymentManager.class);

  /** Times the check set is scored before the scored check, so the JIT compiles the scoring. */
  private static final int WARM_UP_ROUNDS = 3;

  /** Reconciler failures logged at ERROR: the first, then one in this many. */
  private static final int RECONCILE_FAILURE_LOG_EVERY = 60;

  private static final SecureRandom RANDOM = new SecureRandom();

  static final String KIND_SWITCH = "switch";
  static final String KIND_ROLLBACK = "rollback";
  static final String KIND_FAILED = "failed";
  static final String KIND_CANARY = "canary";
  static final String KIND_PROMOTE = "canary_promote";
  static final String KIND_CANARY_PERCENT = "canary_percent";
  static final String KIND_ABORT = "canary_abort";
  static final String KIND_AUTO_ROLLBACK = "canary_rollback";
  static final String KIND_SHADOW = "shadow";
  static final String KIND_SHADOW_STOP = "shadow_stop";
  static final String KIND_CANARY_NOT_RESTORED = "canary_not_restored";
  static final String KIND_SHADOW_NOT_RESTORED = "shadow_not_restored";
  static final String KIND_CANARY_REQUESTED = "canary_requested";
  static final String KIND_SHADOW_REQUESTED = "shadow_requested";

  /** Actor recorded for rollbacks that the canary monitor decides. */
  public static final String AUTO_ROLLBACK_ACTOR = "system:canary-monitor";

  /**
   * Actor recorded for the canaries and shadows that the reconciler starts from the store, whatever
   * actor {@link #startReconciler} was given for its deploys. The servers also pass it as that
   * actor and audit the batching settings they restore under it, so everything the reconciler does
   * has one actor.
   */
  public static final String RECONCILER_ACTOR = "reconciler";

  /** Origin of a stored setting that ran before this process started. */
  private static final String STORED_RESTART = "restored after restart";

  /** Origin of a stored setting that another process requested while this one serves. */
  private static final String STORED_REQUEST = "started as requested in the store";

  private final MetadataStore store;
  private final ModelRegistry registry;
  private final Function<ModelVersion, ServableModel> loader;
  private final AuditLog audit;
  private final LineageService lineage;
  private final MeterRegistry meters;
  private final Clock clock;
  private final double checkTolerance;

  private final ConcurrentHashMap<String, ServingState> serving = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();
  private final List<ServingListener> listeners = new CopyOnWriteArrayList<>();

  /** First wait before the reconciler loads a champion again after a read error, in ms. */
  static final long RETRY_FIRST_MILLIS = 5_000;

  /** Maximum wait between the reconciler's attempts at a champion that hit read errors, in ms. */
  static final long RETRY_MAX_MILLIS = 300_000;

  /**
   * Versions whose last deploy failed, by {@code model:version} key. The reconciler does not retry
   * a version that failed its check, was altered or is missing, so a broken champion does not cause
   * a failed deploy on every poll. An explicit deploy does retry it. A version that failed because
   * its artifact could not be read may pass later (a network store, a full disk), so it is retried
   * after {@link #RETRY_FIRST_MILLIS}, doubling up to {@link #RETRY_MAX_MILLIS}.
   */
  private final ConcurrentHashMap<String, FailedDeploy> failedVersions = new ConcurrentHashMap<>();

  /**
   * @param attempts failed deploys in a row
   * @param retryAtMillis when the reconciler may try again, or {@link Long#MAX_VALUE} for never
   */
  private record FailedDeploy(int attempts, long retryAtMillis) {}

  private final Object reconcilerLock = new Object();
  private ScheduledExecutorService reconciler;

  /** False in a process that serves no requests, as {@link #serveNoTraffic} describes. */
  private volatile boolean servesTraffic = true;

  /**
   * @param loader loads a registered version into memory, such as {@code new
   *     ModelLoader(artifacts)::load}
   * @param checkTolerance largest allowed difference between a check score and its expected value,
   *     scaled by {@code max(1, |expected|)} so large regression outputs get a relative tolerance
   */
  public DeploymentManager(
      MetadataStore store,
      ModelRegistry registry,
      Function<ModelVersion, ServableModel> loader,
      AuditLog audit,
      LineageService lineage,
      MeterRegistry meters,
      Clock clock,
      double checkTolerance) {
    if (!(checkTolerance >= 0) || Double.isInfinite(checkTolerance)) {
      throw EvergreenException.invalid(
          "check tolerance must be a finite number of at least 0, got " + checkTolerance);
    }
    this.store = store;
    this.registry = registry;
    this.loader = loader;
    this.audit = audit;
    this.lineage = lineage;
    this.meters = meters;
    this.clock = clock;
    this.checkTolerance = checkTolerance;
    registry.setDeleteGuard(this::requireNotLoaded);
  }

  /**
   * Rejects deleting a version that is in a serving slot of this process, or a model with any
   * version serving. A deleted version would keep scoring requests, and a later promote or rollback
   * could not be recorded.
   *
   * @param version the version to delete, or null for the whole model
   * @throws EvergreenException CONFLICT naming the slot and what to do first
   */
  void requireNotLoaded(String model, Integer version) {
    ServingState current = serving.get(model);
    if (current == null) {
      return;
    }
    if (version == null) {
      throw new EvergreenException(
          ErrorKind.CONFLICT,
          "model '"
              + model
              + "' is serving version "
              + current.active().version()
              + " in this server, so it cannot be deleted; move its 'champion' alias away and"
              + " restart the server first");
    }
    String slot = current.slotOf(version);
    if (slot == null || registry.aliases(model).containsValue(version)) {
      // The store rejects deleting a version an alias points to, with a message naming the alias.
      return;
    }
    String next =
        switch (slot) {
          case "canary" -> "abort or promote the canary first";
          case "shadow" -> "stop the shadow first";
          case "standby" -> "deploy another version first, which replaces the standby";
          default -> "deploy other versions until it leaves the active and standby slots";
        };
    throw new EvergreenException(
        ErrorKind.CONFLICT,
        "version "
            + version
            + " of model '"
            + model
            + "' is loaded as the "
            + slot
            + " version, so it cannot be deleted; "
            + next);
  }

  /** Returns what serves a model now, empty when no version was deployed in this process. */
  public Optional<ServingState> serving(String model) {
    return Optional.ofNullable(serving.get(model));
  }

  /**
   * Returns the loaded version of a model, from the active or the standby slot.
   *
   * @throws EvergreenException UNAVAILABLE when no version of the model serves, NOT_FOUND naming
   *     the loaded versions when neither slot contains {@code version}
   */
  public ServableModel servingVersion(String model, int version) {
    ServingState state = serving.get(model);
    if (state == null) {
      throw new EvergreenException(
          ErrorKind.UNAVAILABLE,
          "model '" + model + "' has no version serving; deploy one or move its champion alias");
    }
    ServableModel loaded = state.loaded(version);
    if (loaded != null) {
      return loaded;
    }
    throw EvergreenException.notFound(
        "version "
            + version
            + " of model '"
            + model
            + "' is not loaded; loaded versions: "
            + loadedVersions(state));
  }

  /** Describes the loaded versions of a state, such as {@code 4 (active), 3 (standby)}. */
  public static String loadedVersions(ServingState state) {
    String text = state.active().version() + " (active)";
    if (state.canary() != null) {
      text += ", " + state.canary().model().version() + " (canary)";
    }
    if (state.standby() != null) {
      text += ", " + state.standby().version() + " (standby)";
    }
    if (state.shadow() != null) {
      text += ", " + state.shadow().model().version() + " (shadow)";
    }
    return text;
  }

  /**
   * Marks this process as one that serves no requests, such as {@code evergreen run} beside a
   * server. Pipeline runs in it then check a new champion with {@link #checkVersion} instead of
   * deploying it, and the serving process's reconciler deploys it and records the switch.
   */
  public void serveNoTraffic() {
    servesTraffic = false;
  }

  /** Returns false after {@link #serveNoTraffic}. */
  public boolean servesTraffic() {
    return servesTraffic;
  }

  /**
   * Loads, warms and checks a version without serving it. A failure is logged and recorded as a
   * failed deployment, as by {@link #deploy}.
   *
   * @throws EvergreenException NOT_FOUND when the version is not registered, the loader's kind when
   *     it fails to load, and INTERNAL when its check fails
   */
  public void checkVersion(String model, int version, String actor) {
    ReentrantLock lock = lockFor(model);
    lock.lock();
    try {
      loadAndCheck(registry.require(model, version), serving.get(model), actor);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Loads, warms and checks a version, then switches all traffic of its model to it and points the
   * {@code champion} alias at it. The previous active version becomes the standby and any older
   * standby is dropped. Deploying the active version changes nothing.
   *
   * @throws EvergreenException NOT_FOUND when the version is not registered, the loader's kind
   *     (usually INTERNAL) when it fails to load, and INTERNAL when its check fails or the switch
   *     cannot be recorded. In each failure case the version that served before keeps serving.
   */
  public DeploymentResult deploy(String model, int version, String actor) {
    return deploy(model, version, actor, true);
  }

  /**
   * Deploys as {@link #deploy(String, int, String)} does. With {@code moveChampion} false the
   * {@code champion} alias is left as it is, because the reconciler deploys the version the alias
   * named when it read it, and another process may have moved the alias since.
   */
  private DeploymentResult deploy(String model, int version, String actor, boolean moveChampion) {
    ReentrantLock lock = lockFor(model);
    lock.lock();
    try {
      ModelVersion target = registry.require(model, version);
      ServingState current = serving.get(model);
      if (current != null && current.canary() != null) {
        if (current.canary().model().version() == version) {
          return promoteCanary(model, actor);
        }
        throw new EvergreenException(
            ErrorKind.CONFLICT,
            "version "
                + current.canary().model().version()
                + " of model '"
                + model
                + "' runs as a canary; promote or abort it before deploying version "
                + version);
      }
      if (current != null && current.active().version() == version) {
        return new DeploymentResult(
            model,
            version,
            version,
            false,
            "version " + version + " of model '" + model + "' already serves",
            Duration.ZERO);
      }
      long started = System.nanoTime();
      ServableModel candidate;
      if (current != null && current.loaded(version) != null) {
        // The standby or shadow passed its check when it was loaded and is immutable, so it is
        // reused.
        candidate = current.loaded(version);
        LOG.info("Deploying model {} version {} from a loaded slot", model, version);
      } else {
        candidate = loadAndCheck(target, current, actor);
      }
      Duration preparation = Duration.ofNanos(System.nanoTime() - started);
      DeploymentResult result = switchTo(current, candidate, actor, preparation, moveChampion);
      failedVersions.remove(key(model, version));
      return result;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Switches traffic back to the standby version, which becomes active, while the active version
   * becomes the standby; the {@code champion} alias moves to the standby's version.
   *
   * @throws EvergreenException CONFLICT when the model has no standby version loaded
   */
  public DeploymentResult rollback(String model, String actor) {
    ReentrantLock lock = lockFor(model);
    lock.lock();
    try {
      ServingState current = serving.get(model);
      if (current == null || current.standby() == null) {
        throw new EvergreenException(
            ErrorKind.CONFLICT,
            "no previous version loaded for model '"
                + model
                + "'; a rollback needs a standby version, kept from an earlier deploy in this"
                + " server or loaded at its start, so deploy the wanted version explicitly, or run"
                + " evergreen rollback, which moves the champion alias back");
      }
      ServableModel from = current.active();
      ServableModel to = current.standby();
      // A canary of the version rolled back to would take a share of the traffic that version
      // already takes whole, so it ends here, as a shadow of that version does.
      Canary canary = current.canary();
      Canary keptCanary =
          canary == null || canary.model().version() == to.version() ? null : canary;
      ServingState next =
          new ServingState(
              to, from, System.nanoTime(), keptCanary, keepShadow(current, to.version()));
      String eventId = newEventId(model);
      String detail =
          "rolled back from version "
              + from.version()
              + " to version "
              + to.version()
              + (canary != null && keptCanary == null
                  ? "; canary version " + to.version() + " ended, as it now takes all traffic"
                  : "")
              + (keptCanary != null
                  ? "; canary version "
                      + keptCanary.model().version()
                      + " keeps its share and is now compared with version "
                      + to.version()
                  : "");
      try {
        store.inTransaction(
            () -> {
              registry.moveAlias(
                  model,
                  Aliases.CHAMPION,
                  to.version(),
                  actor,
                  "rollback from version " + from.version());
              saveSlotsIfChanged(current, next);
              store.insertDeploymentEvent(
                  event(
                      eventId, model, to.version(), from.version(), KIND_ROLLBACK, actor, detail));
              Map<String, String> details = new LinkedHashMap<>();
              details.put("event", eventId);
              details.put("from_version", Integer.toString(from.version()));
              if (canary != null && keptCanary == null) {
                details.put("canary_stopped", Integer.toString(canary.model().version()));
              }
              if (keptCanary != null) {
                details.put("canary_version", Integer.toString(keptCanary.model().version()));
                details.put("canary_stable_version", Integer.toString(to.version()));
              }
              audit.append(actor, AuditActions.ROLLBACK, targets(model, to.version()), details);
              lineage.record(
                  LineageService.MODEL_VERSION,
                  model + ":" + to.version(),
                  LineageService.DEPLOYMENT,
                  eventId);
            });
      } catch (RuntimeException e) {
        LOG.error(
            "Rollback of model {} from version {} to {} could not be recorded, so version {} keeps"
                + " serving",
            model,
            from.version(),
            to.version(),
            from.version(),
            e);
        throw new EvergreenException(
            ErrorKind.INTERNAL,
            "rollback of model '"
                + model
                + "' to version "
                + to.version()
                + " could not be recorded in the metadata store, so version "
                + from.version()
                + " keeps serving: "
                + e.getMessage(),
            e);
      }
      Duration switchTime = publish(model, next);
      switches(model, KIND_ROLLBACK).increment();
      LOG.info(
          "Rolled back model {} from version {} to version {} in {} ms (event {})",
          model,
          from.version(),
          to.version(),
          millis(switchTime),
          eventId);
      return new DeploymentResult(model, to.version(), from.version(), true, detail, switchTime);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Deploys the {@code champion} version of every registered model whose champion differs from what
   * serves. A running canary of another version is aborted first, because the version it was
   * compared with no longer serves. A version whose deploy failed before is skipped until it is
   * deployed explicitly. Failures of single models are logged and do not stop the others.
   */
  public void reconcile(String actor) {
    for (String model : registry.models()) {
      try {
        reconcileModel(model, actor);
      } catch (EvergreenException e) {
        // The failed deploy was already logged and recorded as a deployment event.
        LOG.warn("Reconciling model {} failed: {}", model, e.getMessage());
      }
    }
  }

  private void reconcileModel(String model, String actor) {
    ReentrantLock lock = lockFor(model);
    lock.lock();
    try {
      // Read the alias under the lock, so a concurrent explicit deploy, which moves the alias, is
      // not undone with the alias value read before it.
      Integer champion = registry.aliases(model).get(Aliases.CHAMPION);
      if (champion == null) {
        return;
      }
      ServingState current = serving.get(model);
      if (current != null && current.active().version() == champion) {
        return;
      }
      FailedDeploy failed = failedVersions.get(key(model, champion));
      if (failed != null && clock.millis() < failed.retryAtMillis()) {
        LOG.debug(
            "Champion version {} of model {} failed to deploy before; not retrying it yet",
            champion,
            model);
        return;
      }
      if (failed != null) {
        LOG.info(
            "Retrying champion version {} of model {} after {} failed deploys",
            champion,
            model,
            failed.attempts());
      }
      LOG.info(
          "Champion of model {} is version {} but {} serves; deploying it",
          model,
          champion,
          current == null ? "no version" : "version " + current.active().version());
      Canary canary = current == null ? null : current.canary();
      if (canary != null && canary.model().version() != champion) {
        // Another process moved the alias (a rollback or an alias command). The canary was
        // judged against the version that served, so it ends before the new champion serves.
        abortCanary(
            model,
            actor,
            "the champion alias moved from version "
                + current.active().version()
                + " to version "
                + champion
                + " outside this server, so the canary lost its stable version");
      }
      deploy(model, champion, actor, false);
      if (current == null) {
        restoreStandby(model, champion);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Loads the version that was champion before {@code champion} into the standby slot of a model
   * that this process just began to serve, as after a restart, so that a rollback switches to a
   * loaded version as it does after a deploy in the same process. That version is the one the alias
   * pointed at before its latest move to {@code champion}. Nothing is loaded when there is none, it
   * is no longer registered, or it fails to load or its check; the failure is logged, and a
   * rollback then needs {@code evergreen rollback}, which moves the alias and loads the version. No
   * traffic changes, so nothing is audited.
   */
  private void restoreStandby(String model, int champion) {
    Integer previous = null;
    List<AliasMove> history = registry.aliasHistory(model);
    for (int i = history.size() - 1; i >= 0; i--) {
      AliasMove move = history.get(i);
      if (move.alias().equals(Aliases.CHAMPION)) {
        previous = Objects.equals(move.toVersion(), champion) ? move.fromVersion() : null;
        break;
      }
    }
    ServingState current = serving.get(model);
    if (previous == null
        || previous == champion
        || current == null
        || current.active().version() != champion
        || current.standby() != null) {
      return;
    }
    Optional<ModelVersion> target = registry.version(model, previous);
    if (target.isEmpty()) {
      return;
    }
    long started = System.nanoTime();
    try {
      ServableModel standby = loader.apply(target.get());
      String problem = check(target.get(), standby);
      if (problem != null) {
        LOG.warn(
            "Previous champion version {} of model {} failed its check and is not kept as the"
                + " standby: {}",
            previous,
            model,
            problem);
        return;
      }
      publish(
          model,
          new ServingState(
              current.active(),
              standby,
              current.switchedAtNanos(),
              current.canary(),
              current.shadow()));
      LOG.info(
          "Loaded previous champion version {} of model {} as the standby in {} ms, ready for a"
              + " rollback",
          previous,
          model,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    } catch (RuntimeException e) {
      LOG.warn(
          "Previous champion version {} of model {} could not be loaded as the standby: {}",
          previous,
          model,
          e.toString());
    }
  }

  /**
   * Starts daemon threads: one calls {@link #reconcile} at once, followed by {@link
   * #restoreTraffic}, and then calls {@link #reconcile} whenever {@link
   * MetadataStore#changeCounter()} changed, checking every {@code interval}; the other calls {@link
   * #checkCanaries} every second. {@link #close} stops them.
   *
   * @param actor recorded for the reconciler's deploys. Restored canaries and shadows are recorded
   *     as {@link #RECONCILER_ACTOR}.
   * @throws IllegalStateException when the reconciler was already started
   */
  public void startReconciler(Duration interval, String actor) {
    if (interval.isNegative() || interval.isZero()) {
      throw EvergreenException.invalid("reconcile interval must be positive, got " + interval);
    }
    synchronized (reconcilerLock) {
      if (reconciler != null) {
        throw new IllegalStateException("the deployment reconciler is already running");
      }
      ScheduledThreadPoolExecutor executor =
          new ScheduledThreadPoolExecutor(
              // One thread reconciles, which may take seconds to load a model, and one judges
              // canaries every second meanwhile.
              2,
              runnable -> {
                Thread thread = new Thread(runnable, "evergreen-reconciler");
                thread.setDaemon(true);
                return thread;
              });
      ReconcileTask task = new ReconcileTask(actor);
      executor.scheduleWithFixedDelay(task, 0, interval.toNanos(), TimeUnit.NANOSECONDS);
      executor.scheduleWithFixedDelay(this::checkCanariesQuietly, 1, 1, TimeUnit.SECONDS);
      reconciler = executor;
      LOG.info("Started the deployment reconciler, polling every {} ms", interval.toMillis());
    }
  }

  /** Stops the reconciler; loaded versions stay in memory until this object is collected. */
  @Override
  public void close() {
    ScheduledExecutorService executor;
    synchronized (reconcilerLock) {
      executor = reconciler;
      reconciler = null;
    }
    if (executor == null) {
      return;
    }
    executor.shutdownNow();
    try {
      if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
        LOG.warn("The deployment reconciler did not stop within 10 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    LOG.info("Stopped the deployment reconciler");
  }

  private void checkCanariesQuietly() {
    try {
      checkCanaries();
    } catch (RuntimeException e) {
      LOG.error("Checking canaries failed", e);
    }
  }

  /** Polls the change counter and reconciles when it moved; the first run always reconciles. */
  private final class ReconcileTask implements Runnable {
    private final String actor;
    private Long lastCounter;
    private long failures;
    private boolean restored;

    ReconcileTask(String actor) {
      this.actor = actor;
    }

    @Override
    public void run() {
      try {
        long counter = store.changeCounter();
        if (lastCounter != null && lastCounter == counter && !retryDue()) {
          return;
        }
        reconcile(actor);
        // The first pass restores what ran before a restart. Later passes start what another
        // process stored since, such as a canary requested by a pipeline run in a CI job.
        startStoredTraffic(RECONCILER_ACTOR, restored ? STORED_REQUEST : STORED_RESTART);
        restored = true;
        // Only a completed pass records the counter, so a failed pass is retried on the next poll.
        lastCounter = counter;
        failures = 0;
      } catch (RuntimeException e) {
        failures++;
        if (failures == 1 || failures % RECONCILE_FAILURE_LOG_EVERY == 0) {
          LOG.error("Reconciling deployments failed ({} times in a row)", failures, e);
        }
      }
    }
  }

  /**
   * Loads and checks a version and starts it as the canary of a model: it takes {@code
   * spec.percent()} of the requests, chosen by request key, while the active version takes the
   * rest. The {@code champion} alias stays on the active version until {@link #promoteCanary}.
   *
   * @throws EvergreenException CONFLICT when no version serves, the version already serves, or a
   *     canary runs; NOT_FOUND when the version is not registered; INTERNAL when it fails to load
   *     or fails its check, in which case it never receives traffic
   */
  public DeploymentResult startCanary(String model, int version, CanarySpec spec, String actor) {
    return startCanary(model, version, spec, actor, null);
  }

  private DeploymentResult startCanary(
      String model, int version, CanarySpec spec, String actor, String origin) {
    checkCanarySpec(spec);
    ReentrantLock lock = lockFor(model);
    lock.lock();
    try {
      ModelVersion target = registry.require(model, version);
      ServingState current = serving.get(model);
      if (current == null) {
        throw new EvergreenException(
            ErrorKind.CONFLICT,
            "model '"
                + model
                + "' has no version serving, so there is nothing to compare a canary with;"
                + " deploy a first version instead");
      }
      requireNotActive(current, version);
      if (current.canary() != null) {
        throw new EvergreenException(
            ErrorKind.CONFLICT,
            "version "
                + current.canary().model().version()
                + " of model '"
                + model
                + "' already runs as a canary; promote or abort it first");
      }
      if (current.shadow() != null && current.shadow().model().version() == version) {
        throw new EvergreenException(
            ErrorKind.CONFLICT,
            "version "
                + version
                + " of model '"
                + model
                + "' runs as a shadow; stop the shadow before starting it as a canary");
      }
      ServableModel candidate = loadedOrChecked(target, current, actor);
      checkSameInputs("canary", current.active(), candidate);
      checkKeyInput(spec, current.active(), candidate);
      Canary canary =
          new Canary(
              candidate,
              new TrafficSplit(spec.percent()),
              spec,
              new CanaryWindow(spec.rollback().windowSeconds()),
              clock.millis());
      String detail =
          String.format(
              Locale.ROOT,
              "%sversion %d takes %.2f%% of requests as a canary, version %d the rest",
              origin == null ? "" : origin + ": ",
              version,
              canary.split().percent(),
              current.active().version());
      Map<String, String> details = new LinkedHashMap<>();
      if (origin != null) {
        details.put(origin.equals(STORED_RESTART) ? "restored" : "requested", "true");
      }
      details.put("percent", Double.toString(canary.split().percent()));
      details.put("stable_version", Integer.toString(current.active().version()));
      details.put("key_header", spec.keyHeader());
      details.put("key_input", spec.keyInput() == null ? "" : spec.keyInput());
      details.put("max_error_rate", Double.toString(spec.rollback().maxErrorRate()));
      details.put(
          "max_p99_ms",
          spec.rollback().maxP99Millis() == null ? "" : spec.rollback().maxP99Millis().toString());
      details.put("window_seconds", Integer.toString(spec.rollback().windowSeconds()));
      details.put("min_requests", Integer.toString(spec.rollback().minRequests()));
      registerPercentGauge("evergreen.canary.percent", model, "canary");
      return commit(
          current,
          current.withCanary(canary),
          version,
          KIND_CANARY,
          AuditActions.CANARY_STARTED,
          actor,
          detail,
          details,
          null);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Sends all traffic to the canary: it becomes the active version, the active version becomes the
   * standby, and the {@code champion} alias moves to it.
   *
   * @throws EvergreenException CONFLICT when no canary runs
   */
  public DeploymentResult promoteCanary(String model, String actor) {
    ReentrantLock lock = lockFor(model);
    lock.lock();
    try {
      ServingState current = requireCanary(model);
      ServableModel promoted = current.canary().model();
      ServableModel previous = current.active();
      Shadow shadow = current.shadow();
      if (shadow != null && shadow.model().version() == promoted.version()) {
        shadow = null;
      }
      ServingState next = new ServingState(promoted, previous, System.nanoTime(), null, shadow);
      String detail =
          "promoted canary version "
              + promoted.version()
              + " to take all traffic; version "
              + previous.version()
              + " is the standby";
      Map<String, String> details = new LinkedHashMap<>();
      details.put("previous_version", Integer.toString(previous.version()));
      details.put("canary_requests", Long.toString(current.canary().window().summary().requests()));
      DeploymentResult result =
          commit(
              current,
              next,
              promoted.version(),
              KIND_PROMOTE,
              AuditActions.CANARY_PROMOTED,
              actor,
              detail,
              details,
              "promoted canary version " + promoted.version());
      switches(model, KIND_PROMOTE).increment();
      return result;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Stops the canary, so all traffic returns to the active version. The canary version stays
   * registered and can be started again.
   *
   * @param reason why, recorded in the deployment event and the audit log; null for none given
   * @throws EvergreenException CONFLICT when no canary runs
   */
  /**
   * Changes the share of requests that the running canary takes, as when ramping it up. Its key
   * settings, rollback limits and rollback window stay. Keyed callers on the canary stay there when
   * the share grows, because a key's place in the split does not change.
   *
   * @throws EvergreenException CONFLICT when no canary runs; INVALID_INPUT for a percent outside
   *     0.01 to 99.99
   */
  public DeploymentResult setCanaryPercent(String model, double percent, String actor) {
    ReentrantLock lock = lockFor(model);
    lock.lock();
    try {
      ServingState current = requireCanary(model);
      Canary canary = current.canary();
      CanarySpec spec =
          new CanarySpec(
              percent,
              canary.spec().keyHeader(),
              canary.spec().keyInput(),
              canary.spec().rollback());
      checkCanarySpec(spec);
      Canary next =
          new Canary(
              canary.model(),
              new TrafficSplit(percent),
              spec,
              canary.window(),
              canary.startedAtMillis());
      int version = canary.model().version();
      String detail =
          String.format(
              Locale.ROOT,
              "canary version %d takes %.2f%% of requests instead of %.2f%%",
              version,
              next.split().percent(),
              canary.split().percent());
      Map<String, String> details = new LinkedHashMap<>();
      details.put("percent", Double.toString(next.split().percent()));
      details.put("previous_percent", Double.toString(canary.split().percent()));
      return commit(
          current,
          current.withCanary(next),
          version,
          KIND_CANARY_PERCENT,
          AuditActions.CANARY_PERCENT_CHANGED,
          actor,
          detail,
          details,
          null);
    } finally {
      lock.unlock();
    }
  }

  public DeploymentResult abortCanary(String model, String actor, String reason) {
    ReentrantLock lock = lockFor(model);
    lock.lock();
    try {
      ServingState current = requireCanary(model);
      return abort(current, actor, reason, false);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Loads and checks a version and starts it as the shadow of a model: {@code spec.percent()} of
   * the requests are also scored by it in the background and the two scores compared. Callers only
   * receive the active version's scores.
   *
   * @throws EvergreenException CONFLICT when no version serves, the version is the active one, or a
   *     shadow runs; NOT_FOUND when the version is not registered; INTERNAL when it fails to load
   *     or fails its check
   */
  public DeploymentResult startShadow(String model, int version, ShadowSpec spec, String actor) {
    return startShadow(model, version, spec, actor, null);
  }

  private DeploymentResult startShadow(
      String model, int version, ShadowSpec spec, String actor, String origin) {
    checkShadowSpec(spec);
    ReentrantLock lock = lockFor(model);
    lock.lock();
    try {
      ModelVersion target = registry.require(model, version);
      ServingState current = serving.get(model);
      if (current == null) {
        throw new EvergreenException(
            ErrorKind.CONFLICT,
            "model '" + model + "' has no version serving, so no requests can be shadowed");
      }
      requireNotActive(current, version);
      if (current.shadow() != null) {
        throw new EvergreenException(
            ErrorKind.CONFLICT,
            "version "
                + current.shadow().model().version()
                + " of model '"
                + model
                + "' already runs as a shadow; stop it first");
      }
      if (current.canary() != null && current.canary().model().version() == version) {
        throw new EvergreenException(
            ErrorKind.CONFLICT,
            "version "
                + version
                + " of model '"
                + model
                + "' runs as a canary, so it already scores real requests; abort the canary"
                + " before starting it as a shadow");
      }
      ServableModel candidate = loadedOrChecked(target, current, actor);
      checkSameInputs("shadow", current.active(), candidate);
      Shadow shadow = new Shadow(candidate, new TrafficSplit(spec.percent()), spec, clock.millis());
      String detail =
          String.format(
              Locale.ROOT,
              "%sversion %d scores a copy of %.2f%% of requests as a shadow of version %d",
              origin == null ? "" : origin + ": ",
              version,
              shadow.split().percent(),
              current.active().version());
      Map<String, String> details = new LinkedHashMap<>();
      if (origin != null) {
        details.put(origin.equals(STORED_RESTART) ? "restored" : "requested", "true");
      }
      details.put("percent", Double.toString(shadow.split().percent()));
      details.put("tolerance", Double.toString(shadow.spec().tolerance()));
      details.put("serving_version", Integer.toString(current.active().version()));
      registerPercentGauge("evergreen.shadow.percent", model, "shadow");
      return commit(
          current,
          current.withShadow(shadow),
          version,
          KIND_SHADOW,
          AuditActions.SHADOW_STARTED,
          actor,
          detail,
          details,
          null);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Stores a canary for the process that serves the model to start, from a process that does not
   * serve it, such as {@code evergreen run} in a CI job. The serving process's reconciler notices
   * the stored change, then loads, checks and starts the version as {@link #startCanary} does,
   * unless the version that serves is no longer {@code stableVersion}. The request is recorded as a
   * {@code canary_requested} deployment event and audit entry.
   *
   * @param stableVersion the version that serves now, which the canary is to be compared with
   * @return what happened, in one sentence
   * @throws EvergreenException CONFLICT when the model already has a stored canary, which keeps
   *     running, as {@link #startCanary} does when a canary runs
   */
  public String requestCanary(
      String model, int version, CanarySpec spec, int stableVersion, String actor) {
    checkCanarySpec(spec);
    registry.require(model, version);
    String detail =
        String.format(
            Locale.ROOT,
            "version %d is stored as a canary for %.2f%% of requests, compared with version %d;"
                + " the server that serves the model starts it",
            version,
            spec.percent(),
            stableVersion);
    Map<String, String> details = new LinkedHashMap<>();
    details.put("percent", Double.toString(spec.percent()));
    details.put("stable_version", Integer.toString(stableVersion));
    return storeRequest(
        model,
        stableVersion,
        new TrafficSettings.CanarySetting(version, spec),
        null,
        actor,
        detail,
        details);
  }

  /**
   * Stores a shadow for the process that serves the model to start, as {@link #requestCanary} does
   * for a canary.
   *
   * @param servingVersion the version that serves now
   * @return what happened, in one sentence
   * @throws EvergreenException CONFLICT when the model already has a stored shadow
   */
  public String requestShadow(
      String model, int version, ShadowSpec spec, int servingVersion, String actor) {
    checkShadowSpec(spec);
    registry.require(model, version);
    String detail =
        String.format(
            Locale.ROOT,
            "version %d is stored as a shadow of %.2f%% of requests; the server that serves the"
                + " model starts it",
            version,
            spec.percent());
    Map<String, String> details = new LinkedHashMap<>();
    details.put("percent", Double.toString(spec.percent()));
    details.put("serving_version", Integer.toString(servingVersion));
    return storeRequest(
        model,
        servingVersion,
        null,
        new TrafficSettings.ShadowSetting(version, spec),
        actor,
        detail,
        details);
  }

  /**
   * Stores the requested canary or shadow, whichever is not null, keeps the other stored slot, and
   * records the request, in one transaction.
   *
   * @throws EvergreenException CONFLICT when that slot already has a stored setting
   */
  private String storeRequest(
      String model,
      int servingVersion,
      TrafficSettings.CanarySetting canary,
      TrafficSettings.ShadowSetting shadow,
      String actor,
      String detail,
      Map<String, String> details) {
    boolean canarySlot = canary != null;
    int version = canarySlot ? canary.version() : shadow.version();
    return store.inTransaction(
        () -> {
          TrafficSettings stored = storedSettings(model);
          Integer storedVersion = storedVersion(stored, canarySlot);
          if (storedVersion != null) {
            throw new EvergreenException(
                ErrorKind.CONFLICT,
                (canarySlot ? "canary" : "shadow")
                    + " version "
                    + storedVersion
                    + " of model '"
                    + model
                    + "' is already stored, so version "
                    + version
                    + " was not stored; "
                    + (canarySlot
                        ? "promote or abort that canary first"
                        : "stop that shadow first"));
          }
          TrafficSettings.CanarySetting keptCanary = stored == null ? null : stored.canary();
          TrafficSettings.ShadowSetting keptShadow = stored == null ? null : stored.shadow();
          if (canarySlot) {
            store.saveTrafficSlots(model, canary, keptShadow);
          } else {
            store.saveTrafficSlots(model, keptCanary, shadow);
          }
          recordRequest(
              model,
              version,
              servingVersion,
              canarySlot ? KIND_CANARY_REQUESTED : KIND_SHADOW_REQUESTED,
              canarySlot ? AuditActions.CANARY_REQUESTED : AuditActions.SHADOW_REQUESTED,
              actor,
              detail,
              details);
          return detail;
        });
  }

  /** Returns the version stored in the canary or the shadow slot, or null when it is empty. */
  private static Integer storedVersion(TrafficSettings stored, boolean canarySlot) {
    if (stored == null) {
      return null;
    }
    if (canarySlot) {
      return stored.canary() == null ? null : stored.canary().version();
    }
    return stored.shadow() == null ? null : stored.shadow().version();
  }

  /**
   * Withdraws a canary that is stored but runs in no process, such as one that {@code evergreen
   * run} requested while no server ran or one whose server stopped, so that no server starts it.
   * Clears it from the store and records a {@code canary_abort} deployment event and a {@code
   * canary.aborted} audit entry with {@code stored=true}, in one transaction. Call it only while no
   * server serves from this store: a canary that runs is aborted with {@link #abortCanary} by the
   * process that runs it.
   *
   * @param reason why, recorded in the event and the audit entry; may be null
   * @return what happened, in one sentence
   * @throws EvergreenException NOT_FOUND when no canary is stored for the model, CONFLICT when this
   *     process runs it
   */
  public String withdrawStoredCanary(String model, String actor, String reason) {
    return withdrawStored(
        model, "canary", KIND_ABORT, AuditActions.CANARY_ABORTED, actor, reason, "abort");
  }

  /**
   * Withdraws a shadow that is stored but runs in no process, as {@link #withdrawStoredCanary} does
   * for a canary, with a {@code shadow_stop} event and a {@code shadow.stopped} audit entry.
   */
  public String withdrawStoredShadow(String model, String actor) {
    return withdrawStored(
        model, "shadow", KIND_SHADOW_STOP, AuditActions.SHADOW_STOPPED, actor, null, "stop");
  }

  private String withdrawStored(
      String model,
      String slot,
      String kind,
      String auditAction,
      String actor,
      String reason,
      String verb) {
    boolean canarySlot = slot.equals("canary");
    ReentrantLock lock = lockFor(model);
    lock.lock();
    try {
      ServingState current = serving.get(model);
      if (current != null && (canarySlot ? current.canary() : current.shadow()) != null) {
        throw new EvergreenException(
            ErrorKind.CONFLICT,
            "the " + slot + " of model '" + model + "' runs in this process; " + verb + " it here");
      }
      return store.inTransaction(
          () -> {
            TrafficSettings stored = storedSettings(model);
            Integer version = storedVersion(stored, canarySlot);
            if (version == null && registry.versions(model).isEmpty()) {
              throw EvergreenException.notFound(
                  "model '"
                      + model
                      + "' has no registered version; list models with `evergreen models list`");
            }
            if (version == null) {
              throw EvergreenException.notFound(
                  "model '"
                      + model
                      + "' has no stored "
                      + slot
                      + ", so there is nothing to withdraw; a server that runs the "
                      + slot
                      + " can "
                      + verb
                      + " it with --url");
            }
            store.saveTrafficSlots(
                model, canarySlot ? null : stored.canary(), canarySlot ? stored.shadow() : null);
            String detail =
                "withdrew stored "
                    + slot
                    + " version "
                    + version
                    + ", which no server runs"
                    + (reason == null || reason.isBlank() ? "" : ": " + reason);
            Map<String, String> details = new LinkedHashMap<>();
            details.put("stored", "true");
            if (reason != null && !reason.isBlank()) {
              details.put("reason", reason);
            }
            recordRequest(
                model,
                version,
                registry.aliases(model).get(Aliases.CHAMPION),
                kind,
                auditAction,
                actor,
                detail,
                details);
            return detail;
          });
    } finally {
      lock.unlock();
    }
  }

  /**
   * Records a change to the stored settings as a deployment event and an audit entry; runs in a
   * transaction.
   */
  private void recordRequest(
      String model,
      int version,
      Integer servingVersion,
      String kind,
      String auditAction,
      String actor,
      String detail,
      Map<String, String> details) {
    String eventId = newEventId(model);
    store.insertDeploymentEvent(
        event(eventId, model, version, servingVersion, kind, actor, detail));
    Map<String, String> all = new LinkedHashMap<>();
    all.put("event", eventId);
    all.putAll(details);
    audit.append(actor, auditAction, targets(model, version), all);
    lineage.record(
        LineageService.MODEL_VERSION, model + ":" + version, LineageService.DEPLOYMENT, eventId);
    LOG.info("Model {}: {} (event {})", model, detail, eventId);
  }

  private static void checkShadowSpec(ShadowSpec spec) {
    if (!(spec.percent() >= CanarySpec.PERCENT_STEP && spec.percent() <= 100)) {
      throw EvergreenException.invalid(
          "shadow percent must be from 0.01 to 100, because traffic splits in steps of 0.01, got "
              + spec.percent());
    }
    if (!(spec.tolerance() >= 0) || Double.isInfinite(spec.tolerance())) {
      throw EvergreenException.invalid(
          "shadow tolerance must be a finite number of at least 0, got " + spec.tolerance());
    }
  }

  /**
   * Stops the shadow of a model.
   *
   * @throws EvergreenException CONFLICT when no shadow runs
   */
  public DeploymentResult stopShadow(String model, String actor) {
    ReentrantLock lock = lockFor(model);
    lock.lock();
    try {
      ServingState current = serving.get(model);
      if (current == null || current.shadow() == null) {
        throw new EvergreenException(
            ErrorKind.CONFLICT, "model '" + model + "' has no shadow version running");
      }
      int version = current.shadow().model().version();
      Map<String, Long> counts = current.shadow().tally().counts();
      Map<String, String> details = new LinkedHashMap<>();
      counts.forEach((outcome, count) -> details.put(outcome, Long.toString(count)));
      return commit(
          current,
          current.withShadow(null),
          version,
          KIND_SHADOW_STOP,
          AuditActions.SHADOW_STOPPED,
          actor,
          String.format(
              Locale.ROOT,
              "stopped shadow version %d after %d agreeing, %d disagreeing, %d failed and %d"
                  + " dropped copies",
              version,
              counts.get("agree"),
              counts.get("disagree"),
              counts.get("error"),
              counts.get("dropped")),
          details,
          null);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Starts again the canaries and shadows that the store lists, so they survive a restart. Each
   * version is loaded and checked as by {@link #startCanary} and {@link #startShadow}, and the
   * start is recorded and audited as {@code actor}. A setting is not restored when its version
   * fails to load or check, was deleted, or no version of its model serves. A canary is also not
   * restored when the version that serves differs from the stable version it was last compared
   * with, because the {@code champion} alias moved, for example by a command in another process.
   * Such a setting is cleared, logged, recorded as a deployment event and audited with the reason.
   * A model that already runs a canary or shadow in this process keeps it. A restored canary starts
   * with an empty rollback window, so its limits are judged again only after {@code min_requests}
   * new requests. The reconciler calls this after its first pass has deployed the champions, and
   * starts settings stored later by other processes ({@link #requestCanary}) the same way.
   */
  public void restoreTraffic(String actor) {
    startStoredTraffic(actor, STORED_RESTART);
  }

  /**
   * Starts the stored canaries and shadows that do not run in this process, as {@link
   * #restoreTraffic} describes, with {@code origin} ({@link #STORED_RESTART} or {@link
   * #STORED_REQUEST}) at the start of each recorded detail.
   */
  private void startStoredTraffic(String actor, String origin) {
    for (TrafficSettings listed : store.listTrafficSettings()) {
      String model = listed.model();
      ReentrantLock lock = lockFor(model);
      lock.lock();
      try {
        // Read again under the lock: a promote or abort since the listing cleared its setting,
        // and that setting must not start again.
        TrafficSettings settings = storedSettings(model);
        if (settings == null) {
          continue;
        }
        if (settings.canary() != null) {
          String canaryOrigin =
              originOf(
                  model, settings.canary().version(), KIND_CANARY_REQUESTED, KIND_CANARY, origin);
          restoreCanary(model, settings.canary(), settings.shadow(), actor, canaryOrigin);
        }
        if (settings.shadow() != null) {
          String shadowOrigin =
              originOf(
                  model, settings.shadow().version(), KIND_SHADOW_REQUESTED, KIND_SHADOW, origin);
          restoreShadow(model, settings.shadow(), actor, shadowOrigin);
        }
      } finally {
        lock.unlock();
      }
    }
  }

  /**
   * Returns {@link #STORED_REQUEST} for a stored setting whose version was requested and has not
   * started since, so that its first start is not recorded as a restore, and {@code origin}
   * otherwise.
   */
  private String originOf(
      String model, int version, String requestedKind, String startedKind, String origin) {
    if (!origin.equals(STORED_RESTART)) {
      return origin;
    }
    String last = null;
    for (DeploymentEvent event : store.listDeploymentEvents(model)) {
      boolean relevant = event.kind().equals(requestedKind) || event.kind().equals(startedKind);
      if (relevant && event.version() == version) {
        last = event.kind();
      }
    }
    return requestedKind.equals(last) ? STORED_REQUEST : origin;
  }

  private TrafficSettings storedSettings(String model) {
    return store.trafficSettings(model).orElse(null);
  }

  private void restoreCanary(
      String model,
      TrafficSettings.CanarySetting stored,
      TrafficSettings.ShadowSetting storedShadow,
      String actor,
      String origin) {
    ServingState current = serving.get(model);
    if (current != null && current.canary() != null) {
      // A canary started in this process after the settings were read, and its start stored it.
      return;
    }
    // The stored shadow has not been restored yet, so a canary that is not restored keeps it.
    Runnable clearCanary = () -> store.saveTrafficSlots(model, null, storedShadow);
    Integer stable = current == null ? null : lastStableVersion(model, stored.version());
    if (stable != null && stable != current.active().version()) {
      int serving = current.active().version();
      String reason =
          "the champion alias moved from version "
              + stable
              + ", the stable version that canary version "
              + stored.version()
              + " was compared with, to version "
              + serving
              + ", so the canary would now be judged against another version; start it again to"
              + " compare it with version "
              + serving;
      recordNotRestored(
          model,
          stored.version(),
          "canary",
          KIND_CANARY_NOT_RESTORED,
          AuditActions.CANARY_NOT_RESTORED,
          actor,
          reason,
          origin,
          Map.of("stored_stable_version", Integer.toString(stable)),
          clearCanary);
      return;
    }
    if (current != null && stable == null) {
      LOG.warn(
          "No deployment event shows the stable version of stored canary version {} of model {},"
              + " so it is restored against version {}",
          stored.version(),
          model,
          current.active().version());
    }
    try {
      startCanary(model, stored.version(), stored.spec(), actor, origin);
      LOG.info(
          "Started stored canary version {} of model {} ({})", stored.version(), model, origin);
    } catch (EvergreenException e) {
      recordNotRestored(
          model,
          stored.version(),
          "canary",
          KIND_CANARY_NOT_RESTORED,
          AuditActions.CANARY_NOT_RESTORED,
          actor,
          e.getMessage(),
          origin,
          Map.of(),
          clearCanary);
    }
  }

  /**
   * Returns the stable version that a canary version was last compared with, from the deployment
   * events: the version that served when the canary last started, or the target of a later
   * rollback, which keeps the canary. Returns null when no event records the canary's start.
   */
  private Integer lastStableVersion(String model, int canaryVersion) {
    Integer stable = null;
    for (DeploymentEvent event : store.listDeploymentEvents(model)) {
      boolean started =
          event.kind().equals(KIND_CANARY) || event.kind().equals(KIND_CANARY_REQUESTED);
      if (started && event.version() == canaryVersion) {
        stable = event.previousVersion();
      } else if (stable != null && event.kind().equals(KIND_ROLLBACK)) {
        stable = event.version();
      }
    }
    return stable;
  }

  private void restoreShadow(
      String model, TrafficSettings.ShadowSetting stored, String actor, String origin) {
    ServingState current = serving.get(model);
    if (current != null && current.shadow() != null) {
      // A shadow started in this process after the settings were read, and its start stored it.
      return;
    }
    try {
      startShadow(model, stored.version(), stored.spec(), actor, origin);
      LOG.info(
          "Started stored shadow version {} of model {} ({})", stored.version(), model, origin);
    } catch (EvergreenException e) {
      ServingState now = serving.get(model);
      Canary canary = now == null ? null : now.canary();
      TrafficSettings.CanarySetting keptCanary =
          canary == null
              ? null
              : new TrafficSettings.CanarySetting(canary.model().version(), canary.spec());
      recordNotRestored(
          model,
          stored.version(),
          "shadow",
          KIND_SHADOW_NOT_RESTORED,
          AuditActions.SHADOW_NOT_RESTORED,
          actor,
          e.getMessage(),
          origin,
          Map.of(),
          () -> store.saveTrafficSlots(model, keptCanary, null));
    }
  }

  /**
   * Clears a stored slot that could not be restored and records why, in one transaction.
   *
   * @param extraDetails audit details added to the reason and the serving version
   */
  private void recordNotRestored(
      String model,
      int version,
      String slot,
      String kind,
      String auditAction,
      String actor,
      String reason,
      String origin,
      Map<String, String> extraDetails,
      Runnable clear) {
    LOG.error(
        "Stored {} version {} of model {} was not started ({}) and is cleared: {}",
        slot,
        version,
        model,
        origin,
        reason);
    ServingState current = serving.get(model);
    Integer servingVersion = current == null ? null : current.active().version();
    String eventId = newEventId(model);
    String outcome =
        origin.equals(STORED_RESTART) ? "was not restored after restart" : "was not started";
    String detail = "stored " + slot + " version " + version + " " + outcome + ": " + reason;
    try {
      store.inTransaction(
          () -> {
            clear.run();
            store.insertDeploymentEvent(
                event(eventId, model, version, servingVersion, kind, actor, detail));
            Map<String, String> details = new LinkedHashMap<>();
            details.put("event", eventId);
            details.put("reason", reason);
            details.put("serving_version", servingVersion == null ? "" : servingVersion.toString());
            details.putAll(extraDetails);
            audit.append(actor, auditAction, targets(model, version), details);
            lineage.record(
                LineageService.MODEL_VERSION,
                model + ":" + version,
                LineageService.DEPLOYMENT,
                eventId);
          });
    } catch (RuntimeException e) {
      LOG.error(
          "Recording that {} version {} of model {} was not restored failed",
          slot,
          version,
          model,
          e);
    }
  }

  /**
   * Rolls back every canary whose window breaks a limit of its spec: an error rate above {@code
   * maxErrorRate} or a p99 latency above {@code maxP99Millis}, judged once the window contains
   * {@code minRequests} requests. Called every second by the monitor that {@link #startReconciler}
   * starts.
   *
   * @return the models whose canary was rolled back
   */
  public List<String> checkCanaries() {
    List<String> rolledBack = new ArrayList<>();
    for (Map.Entry<String, ServingState> entry : serving.entrySet()) {
      Canary canary = entry.getValue().canary();
      if (canary == null) {
        continue;
      }
      String breach = breach(canary);
      if (breach == null) {
        continue;
      }
      String model = entry.getKey();
      ReentrantLock lock = lockFor(model);
      lock.lock();
      try {
        ServingState current = serving.get(model);
        // A promote or abort may have ended this canary since the map was read.
        if (current == null || current.canary() != canary) {
          continue;
        }
        LOG.warn(
            "Rolling back canary version {} of model {}: {}",
            canary.model().version(),
            model,
            breach);
        abort(current, AUTO_ROLLBACK_ACTOR, breach, true);
        rolledBack.add(model);
      } catch (RuntimeException e) {
        LOG.error("Automatic rollback of the canary of model {} failed", model, e);
      } finally {
        lock.unlock();
      }
    }
    return rolledBack;
  }

  /** Returns the limit a canary's window breaks, or null. */
  static String breach(Canary canary) {
    RollbackSpec limits = canary.spec().rollback();
    CanaryWindow.Summary summary = canary.window().summary();
    if (summary.requests() < limits.minRequests()) {
      return null;
    }
    if (summary.errorRate() > limits.maxErrorRate()) {
      return String.format(
          Locale.ROOT,
          "error rate %.2f%% (%d of %d requests) over the last %d s exceeds the limit %s%%",
          summary.errorRate() * 100,
          summary.errors(),
          summary.requests(),
          limits.windowSeconds(),
          asSet(BigDecimal.valueOf(limits.maxErrorRate()).movePointRight(2)));
    }
    if (limits.maxP99Millis() != null && summary.p99Millis() > limits.maxP99Millis()) {
      return String.format(
          Locale.ROOT,
          "p99 latency %.3f ms over the last %d s (%d requests) exceeds the limit %s ms",
          summary.p99Millis(),
          limits.windowSeconds(),
          summary.requests(),
          asSet(BigDecimal.valueOf(limits.maxP99Millis())));
    }
    return null;
  }

  /**
   * Writes a limit as its spec gave it, without rounding, so that a small limit never shows as 0.
   */
  private static String asSet(BigDecimal limit) {
    return limit.stripTrailingZeros().toPlainString();
  }

  private DeploymentResult abort(
      ServingState current, String actor, String reason, boolean automatic) {
    Canary canary = current.canary();
    int version = canary.model().version();
    CanaryWindow.Summary summary = canary.window().summary();
    String detail =
        (automatic ? "rolled back canary version " : "aborted canary version ")
            + version
            + "; version "
            + current.active().version()
            + " takes all traffic"
            + (reason == null || reason.isBlank() ? "" : ": " + reason);
    Map<String, String> details = new LinkedHashMap<>();
    details.put("stable_version", Integer.toString(current.active().version()));
    details.put("reason", reason == null ? "" : reason);
    details.put("window_requests", Long.toString(summary.requests()));
    details.put("window_errors", Long.toString(summary.errors()));
    details.put("window_p99_ms", String.format(Locale.ROOT, "%.3f", summary.p99Millis()));
    DeploymentResult result =
        commit(
            current,
            current.withCanary(null),
            version,
            automatic ? KIND_AUTO_ROLLBACK : KIND_ABORT,
            automatic ? AuditActions.CANARY_ROLLED_BACK : AuditActions.CANARY_ABORTED,
            actor,
            detail,
            details,
            null);
    switches(current.active().model(), automatic ? KIND_AUTO_ROLLBACK : KIND_ABORT).increment();
    return result;
  }

  private ServingState requireCanary(String model) {
    ServingState current = serving.get(model);
    if (current == null || current.canary() == null) {
      throw new EvergreenException(
          ErrorKind.CONFLICT,
          "model '"
              + model
              + "' has no canary running; start one with evergreen traffic canary "
              + model
              + " VERSION --percent P, or POST /api/v1/models/"
              + model
              + "/canary");
    }
    return current;
  }

  /** Registers, once per model, a gauge of the share of requests its canary or shadow takes. */
  private void registerPercentGauge(String name, String model, String slot) {
    if (meters.find(name).tag("model", model).gauge() != null) {
      // Registered by an earlier deploy; registering again would only log a warning.
      return;
    }
    Gauge.builder(
            name,
            serving,
            map -> {
              ServingState state = map.get(model);
              if (state == null) {
                return 0;
              }
              if (slot.equals("canary")) {
                return state.canary() == null ? 0 : state.canary().split().percent();
              }
              return state.shadow() == null ? 0 : state.shadow().split().percent();
            })
        .description("Percent of requests the " + slot + " version takes, 0 when none runs")
        .tags("model", model)
        .register(meters);
  }

  /** Rejects a version that already takes all traffic as a canary or shadow. */
  private static void requireNotActive(ServingState current, int version) {
    if (current.active().version() == version) {
      throw new EvergreenException(
          ErrorKind.CONFLICT,
          "version "
              + version
              + " of model '"
              + current.active().model()
              + "' already takes all traffic");
    }
  }

  /**
   * Returns the version from a slot when it is loaded already, since it passed its check then, else
   * loads and checks it.
   */
  private ServableModel loadedOrChecked(ModelVersion target, ServingState current, String actor) {
    ServableModel loaded = current.loaded(target.version());
    return loaded != null ? loaded : loadAndCheck(target, current, actor);
  }

  /** Rejects a routing input that the stable or the canary version does not take. */
  /**
   * Requires a canary or shadow to take the inputs that the stable version takes, with the same
   * names, datatypes and shapes. Requests are bound to the stable version's inputs and rejected
   * when they name another input, so a version with other inputs would fail every request that the
   * stable version serves.
   *
   * @param role {@code canary} or {@code shadow}, for the message
   * @throws EvergreenException INVALID_INPUT naming the inputs that differ
   */
  static void checkSameInputs(String role, ServableModel stable, ServableModel candidate) {
    Map<String, TensorSpec> stableInputs = inputsByName(stable);
    Map<String, TensorSpec> candidateInputs = inputsByName(candidate);
    if (stableInputs.equals(candidateInputs)) {
      return;
    }
    List<String> differences = new ArrayList<>();
    for (TensorSpec input : stableInputs.values()) {
      TensorSpec other = candidateInputs.get(input.name());
      if (other == null) {
        differences.add("version " + candidate.version() + " lacks " + describe(input));
      } else if (!other.equals(input)) {
        differences.add(
            "version "
                + stable.version()
                + " takes "
                + describe(input)
                + ", version "
                + candidate.version()
                + " takes "
                + describe(other));
      }
    }
    for (TensorSpec input : candidateInputs.values()) {
      if (!stableInputs.containsKey(input.name())) {
        differences.add("version " + candidate.version() + " also needs " + describe(input));
      }
    }
    throw EvergreenException.invalid(
        "version "
            + candidate.version()
            + " cannot run as a "
            + role
            + " of version "
            + stable.version()
            + " of model '"
            + stable.model()
            + "' because their inputs differ ("
            + String.join("; ", differences)
            + "), so it would fail the requests that version "
            + stable.version()
            + " serves; deploy it blue-green instead, or register a version with the same inputs");
  }

  private static Map<String, TensorSpec> inputsByName(ServableModel model) {
    Map<String, TensorSpec> inputs = new LinkedHashMap<>();
    for (TensorSpec input : model.signature().inputs()) {
      inputs.put(input.name(), input);
    }
    return inputs;
  }

  private static String describe(TensorSpec input) {
    return input.name() + " " + input.datatype() + " " + input.shape();
  }

  private static void checkKeyInput(
      CanarySpec spec, ServableModel stable, ServableModel candidate) {
    String input = spec.keyInput();
    if (input == null) {
      return;
    }
    for (ServableModel model : List.of(stable, candidate)) {
      boolean known =
          model.signature().inputs().stream().anyMatch(tensor -> tensor.name().equals(input));
      if (!known) {
        throw EvergreenException.invalid(
            "canary key_input '"
                + input
                + "' is not an input of version "
                + model.version()
                + "; its inputs are "
                + String.join(
                    ", ",
                    model.signature().inputs().stream().map(tensor -> tensor.name()).toList()));
      }
    }
  }

  private static void checkCanarySpec(CanarySpec spec) {
    if (!(spec.percent() >= CanarySpec.PERCENT_STEP
        && spec.percent() <= 100 - CanarySpec.PERCENT_STEP)) {
      throw EvergreenException.invalid(
          "canary percent must be from 0.01 to 99.99, because traffic splits in steps of 0.01, got "
              + spec.percent()
              + "; for all traffic deploy the version blue-green");
    }
    if (spec.keyHeader().isBlank()) {
      throw EvergreenException.invalid("canary key_header must not be blank");
    }
    if (!CanarySpec.isHeaderName(spec.keyHeader())) {
      throw EvergreenException.invalid(
          CanarySpec.invalidHeaderMessage("canary key_header", spec.keyHeader()));
    }
    RollbackSpec limits = spec.rollback();
    if (!(limits.maxErrorRate() >= 0 && limits.maxErrorRate() <= 1)) {
      throw EvergreenException.invalid(
          "canary rollback max_error_rate must be between 0 and 1, got " + limits.maxErrorRate());
    }
    if (limits.maxP99Millis() != null && !(limits.maxP99Millis() > 0)) {
      throw EvergreenException.invalid(
          "canary rollback max_p99_millis must be above 0, got " + limits.maxP99Millis());
    }
    if (!RollbackSpec.WINDOW_SECONDS.contains(limits.windowSeconds())) {
      throw EvergreenException.invalid(
          "canary rollback window_seconds must be between 1 and 3600, got "
              + limits.windowSeconds());
    }
    if (limits.minRequests() < 1) {
      throw EvergreenException.invalid(
          "canary rollback min_requests must be at least 1, got " + limits.minRequests());
    }
  }

  /**
   * Records the change, its audit entry, the stored canary and shadow and, when {@code
   * championReason} is set, the move of the {@code champion} alias to {@code version}, in one
   * transaction, and then publishes {@code next} as the serving state. When recording fails, {@code
   * current} keeps serving.
   */
  private DeploymentResult commit(
      ServingState current,
      ServingState next,
      int version,
      String kind,
      String auditAction,
      String actor,
      String detail,
      Map<String, String> details,
      String championReason) {
    String model = current.active().model();
    Integer previous = current.active().version();
    String eventId = newEventId(model);
    try {
      store.inTransaction(
          () -> {
            if (championReason != null) {
              registry.moveAlias(model, Aliases.CHAMPION, version, actor, championReason);
            }
            saveSlotsIfChanged(current, next);
            store.insertDeploymentEvent(
                event(eventId, model, version, previous, kind, actor, detail));
            Map<String, String> all = new LinkedHashMap<>();
            all.put("event", eventId);
            all.putAll(details);
            audit.append(actor, auditAction, targets(model, version), all);
            lineage.record(
                LineageService.MODEL_VERSION,
                model + ":" + version,
                LineageService.DEPLOYMENT,
                eventId);
          });
    } catch (RuntimeException e) {
      LOG.error(
          "Change of model {} ({}) could not be recorded, so it was not made", model, kind, e);
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "the change of model '"
              + model
              + "' ("
              + detail
              + ") could not be recorded in the metadata store, so it was not made: "
              + e.getMessage(),
          e);
    }
    Duration switchTime = publish(model, next);
    LOG.info("Model {}: {} (event {})", model, detail, eventId);
    return new DeploymentResult(model, version, previous, true, detail, switchTime);
  }

  private ServableModel loadAndCheck(ModelVersion target, ServingState current, String actor) {
    String model = target.model();
    int version = target.version();
    long started = System.nanoTime();
    LOG.info("Loading model {} version {}", model, version);
    ServableModel candidate;
    try {
      candidate = loader.apply(target);
    } catch (RuntimeException e) {
      recordLoad(model, version, "load_failed", started);
      LOG.error("Loading model {} version {} failed", model, version, e);
      throw fail(target, current, actor, "failed to load: " + e.getMessage(), e);
    }
    String problem;
    try {
      problem = check(target, candidate);
    } catch (RuntimeException e) {
      problem = "scoring its check set failed: " + e.getMessage();
    }
    if (problem != null) {
      recordLoad(model, version, "check_failed", started);
      LOG.error("Model {} version {} failed its check: {}", model, version, problem);
      throw fail(target, current, actor, "failed its check: " + problem, null);
    }
    Duration took = recordLoad(model, version, "ok", started);
    LOG.info("Loaded and checked model {} version {} in {} ms", model, version, millis(took));
    return candidate;
  }

  /**
   * Warms a loaded version up and compares its scores on the check rows with the expected ones.
   * Returns what is wrong, or null when the version passes.
   */
  private String check(ModelVersion target, ServableModel candidate) {
    if (!candidate.model().equals(target.model()) || candidate.version() != target.version()) {
      return "the loader returned model '" + candidate.model() + "' version " + candidate.version();
    }
    CheckSet checkSet = candidate.checkSet();
    if (checkSet == null || checkSet.inputs().rows() == 0) {
      return "it has no check rows, so its scores cannot be verified";
    }
    for (int round = 0; round < WARM_UP_ROUNDS; round++) {
      candidate.predict(checkSet.inputs());
    }
    double[] scores = candidate.predict(checkSet.inputs());
    double[] expected = checkSet.expected();
    if (scores.length != expected.length) {
      return "it returned " + scores.length + " scores for " + expected.length + " expected ones";
    }
    int width = Math.max(1, candidate.outputWidth());
    for (int i = 0; i < scores.length; i++) {
      String where = "row " + (i / width) + (width > 1 ? " output " + (i % width) : "");
      if (!Double.isFinite(scores[i])) {
        return where + " scored " + scores[i] + ", which is not a finite number";
      }
      double difference = Math.abs(scores[i] - expected[i]);
      double allowed = checkTolerance * Math.max(1.0, Math.abs(expected[i]));
      // A NaN expected value makes the comparison false, so it fails as well.
      if (!(difference <= allowed)) {
        return String.format(
            Locale.ROOT,
            "%s scored %.9g but %.9g was recorded at training time; the difference %.3g exceeds"
                + " the tolerance %.3g",
            where,
            scores[i],
            expected[i],
            difference,
            allowed);
      }
    }
    return null;
  }

  /**
   * Returns whether a failure came from reading an artifact, which may pass on a later attempt, as
   * opposed to a missing or altered artifact or a failed check, which need a person.
   */
  static boolean isReadError(Throwable failure) {
    for (Throwable at = failure; at != null; at = at.getCause()) {
      if (at instanceof IOException && !(at instanceof NoSuchFileException)) {
        return true;
      }
    }
    return false;
  }

  /** Returns whether some champion that hit a read error may be tried again now. */
  private boolean retryDue() {
    long now = clock.millis();
    for (FailedDeploy failed : failedVersions.values()) {
      if (failed.retryAtMillis() <= now) {
        return true;
      }
    }
    return false;
  }

  /** Records a failed deploy and returns the exception to throw. */
  private EvergreenException fail(
      ModelVersion target, ServingState current, String actor, String reason, Throwable cause) {
    String model = target.model();
    int version = target.version();
    failedVersions.compute(
        key(model, version),
        (key, before) -> {
          int attempts = before == null ? 1 : before.attempts() + 1;
          if (!isReadError(cause)) {
            return new FailedDeploy(attempts, Long.MAX_VALUE);
          }
          long wait = RETRY_FIRST_MILLIS << Math.min(attempts - 1, 16);
          return new FailedDeploy(attempts, clock.millis() + Math.min(wait, RETRY_MAX_MILLIS));
        });
    Integer previous = current == null ? null : current.active().version();
    String eventId = newEventId(model);
    EvergreenException error =
        new EvergreenException(
            cause instanceof EvergreenException e ? e.kind() : ErrorKind.INTERNAL,
            "deployment of model '"
                + model
                + "' version "
                + version
                + " "
                + reason
                + "; "
                + (previous == null
                    ? "no version of the model serves"
                    : "version " + previous + " keeps serving"),
            cause);
    try {
      store.inTransaction(
          () -> {
            store.insertDeploymentEvent(
                event(eventId, model, version, previous, KIND_FAILED, actor, reason));
            Map<String, String> details = new LinkedHashMap<>();
            details.put("event", eventId);
            details.put("reason", reason);
            details.put("serving_version", previous == null ? "" : previous.toString());
            audit.append(actor, AuditActions.DEPLOYMENT_FAILED, targets(model, version), details);
          });
    } catch (RuntimeException e) {
      LOG.error("Recording the failed deployment of model {} version {} failed", model, version, e);
      error.addSuppressed(e);
    }
    return error;
  }

  private DeploymentResult switchTo(
      ServingState current,
      ServableModel candidate,
      String actor,
      Duration preparation,
      boolean moveChampion) {
    String model = candidate.model();
    int version = candidate.version();
    Integer previous = current == null ? null : current.active().version();
    ServingState next =
        new ServingState(
            candidate,
            current == null ? null : current.active(),
            System.nanoTime(),
            null,
            current == null ? null : keepShadow(current, version));
    String eventId = newEventId(model);
    String detail =
        (previous == null
                ? "switched to version " + version
                : "switched from version " + previous + " to version " + version)
            + " after "
            + millis(preparation)
            + " ms of loading and checking";
    try {
      store.inTransaction(
          () -> {
            if (moveChampion) {
              registry.moveAlias(
                  model, Aliases.CHAMPION, version, actor, "deployed version " + version);
            }
            saveSlotsIfChanged(current, next);
            store.insertDeploymentEvent(
                event(eventId, model, version, previous, KIND_SWITCH, actor, detail));
            Map<String, String> details = new LinkedHashMap<>();
            details.put("event", eventId);
            details.put("previous_version", previous == null ? "" : previous.toString());
            if (current != null && current.shadow() != null && next.shadow() == null) {
              // The shadow's version now takes all traffic, so it is no longer a shadow.
              details.put("shadow_stopped", Integer.toString(current.shadow().model().version()));
            }
            audit.append(actor, AuditActions.DEPLOYMENT_SWITCHED, targets(model, version), details);
            lineage.record(
                LineageService.MODEL_VERSION,
                model + ":" + version,
                LineageService.DEPLOYMENT,
                eventId);
          });
    } catch (RuntimeException e) {
      LOG.error(
          "Switching model {} to version {} could not be recorded, so the switch was not made",
          model,
          version,
          e);
      throw new EvergreenException(
          ErrorKind.INTERNAL,
          "switching model '"
              + model
              + "' to version "
              + version
              + " could not be recorded in the metadata store, so "
              + (previous == null ? "no version serves" : "version " + previous + " keeps serving")
              + ": "
              + e.getMessage(),
          e);
    }
    Duration switchTime = publish(model, next);
    if (current == null) {
      // Every serving model exports both gauges from its first deploy, as 0 until a canary or
      // shadow runs, so dashboards and alerts see the series before the first rollout.
      registerPercentGauge("evergreen.canary.percent", model, "canary");
      registerPercentGauge("evergreen.shadow.percent", model, "shadow");
    }
    switches(model, KIND_SWITCH).increment();
    LOG.info(
        "Switched model {} from {} to version {} in {} ms (event {})",
        model,
        previous == null ? "no version" : "version " + previous,
        version,
        millis(switchTime),
        eventId);
    return new DeploymentResult(model, version, previous, true, detail, switchTime);
  }

  /**
   * Makes {@code next} the serving state of {@code model} and returns how long the swap took.
   * Called only after the change is recorded, so no request reaches a version whose start the audit
   * log and the deployment events do not show yet.
   */
  private Duration publish(String model, ServingState next) {
    ServingState previous = serving.get(model);
    for (ServingListener listener : listeners) {
      try {
        listener.servingChanging(previous, next);
      } catch (RuntimeException e) {
        LOG.error("Serving listener {} failed on a change of model {}", listener, model, e);
      }
    }
    long swapStart = System.nanoTime();
    serving.put(model, next);
    Duration took = Duration.ofNanos(System.nanoTime() - swapStart);
    if (previous != null) {
      unloadLeaving(previous, next);
    }
    return took;
  }

  /**
   * Removes the meters of the versions of {@code previous} that {@code next} no longer holds, and
   * notifies the listeners.
   */
  private void unloadLeaving(ServingState previous, ServingState next) {
    List<ServableModel> remaining = next.models();
    List<ServableModel> left = new ArrayList<>();
    for (ServableModel model : previous.models()) {
      if (remaining.stream().noneMatch(kept -> kept == model)
          && left.stream().noneMatch(leaving -> leaving == model)) {
        left.add(model);
      }
    }
    for (ServableModel model : left) {
      if (next.loaded(model.version()) == null) {
        removeMeters(model.model(), model.version());
        LOG.info("Unloaded model {} version {}", model.model(), model.version());
      }
      for (ServingListener listener : listeners) {
        try {
          listener.versionUnloaded(model);
        } catch (RuntimeException e) {
          LOG.error(
              "Serving listener {} failed on unloading model {} version {}",
              listener,
              model.model(),
              model.version(),
              e);
        }
      }
    }
  }

  private void removeMeters(String model, int version) {
    String versionTag = Integer.toString(version);
    List<Meter> removed = new ArrayList<>();
    for (Meter meter : meters.getMeters()) {
      Meter.Id id = meter.getId();
      if (model.equals(id.getTag("model")) && versionTag.equals(id.getTag("version"))) {
        removed.add(meter);
      }
    }
    removed.forEach(meters::remove);
  }

  /**
   * Adds a listener of serving changes and calls its {@link ServingListener#servingChanging} once
   * for each model that serves now, with {@code previous} null.
   */
  public void addServingListener(ServingListener listener) {
    listeners.add(listener);
    for (String model : List.copyOf(serving.keySet())) {
      ReentrantLock lock = lockFor(model);
      lock.lock();
      try {
        ServingState current = serving.get(model);
        if (current != null) {
          listener.servingChanging(null, current);
        }
      } finally {
        lock.unlock();
      }
    }
  }

  /** Removes a listener that {@link #addServingListener} added. An unknown listener is ignored. */
  public void removeServingListener(ServingListener listener) {
    listeners.remove(listener);
  }

  /**
   * Stores the canary and shadow of {@code next} when they differ from those of {@code current}.
   * Called inside the transaction that records the change, so the stored slots always match the
   * deployment events. A process that started no canary or shadow, such as a CLI command that
   * deploys, never writes, so it cannot clear the slots that a server stored.
   */
  private void saveSlotsIfChanged(ServingState current, ServingState next) {
    if (current == null
        || (current.canary() == next.canary() && current.shadow() == next.shadow())) {
      return;
    }
    Canary canary = next.canary();
    Shadow shadow = next.shadow();
    store.saveTrafficSlots(
        current.active().model(),
        canary == null
            ? null
            : new TrafficSettings.CanarySetting(canary.model().version(), canary.spec()),
        shadow == null
            ? null
            : new TrafficSettings.ShadowSetting(shadow.model().version(), shadow.spec()));
  }

  /** Returns the shadow of a state unless it is the version that now takes all traffic. */
  private static Shadow keepShadow(ServingState state, int activeVersion) {
    Shadow shadow = state.shadow();
    return shadow == null || shadow.model().version() == activeVersion ? null : shadow;
  }

  private ReentrantLock lockFor(String model) {
    return locks.computeIfAbsent(model, name -> new ReentrantLock());
  }

  private Duration recordLoad(String model, int version, String outcome, long startedNanos) {
    Duration took = Duration.ofNanos(System.nanoTime() - startedNanos);
    Timer.builder("evergreen.model.load.duration")
        .description("Time to load, warm and check a model version")
        .tags("model", model, "version", Integer.toString(version), "outcome", outcome)
        .register(meters)
        .record(took);
    return took;
  }

  private Counter switches(String model, String kind) {
    return Counter.builder("evergreen.deployment.switches")
        .description("Switches of the version that serves a model")
        .tags("model", model, "kind", kind)
        .register(meters);
  }

  private DeploymentEvent event(
      String id,
      String model,
      int version,
      Integer previousVersion,
      String kind,
      String actor,
      String detail) {
    return new DeploymentEvent(
        id,
        model,
        version,
        previousVersion,
        kind,
        actor,
        detail,
        clock.instant().truncatedTo(ChronoUnit.MILLIS));
  }

  private static Map<String, String> targets(String model, int version) {
    Map<String, String> targets = new LinkedHashMap<>();
    targets.put("model", model);
    targets.put("version", Integer.toString(version));
    return targets;
  }

  private static String key(String model, int version) {
    return model + ":" + version;
  }

  private static String newEventId(String model) {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return model + "/" + HexFormat.of().formatHex(bytes);
  }

  private static String millis(Duration duration) {
    return String.format(Locale.ROOT, "%.3f", duration.toNanos() / 1e6);
  }
}
