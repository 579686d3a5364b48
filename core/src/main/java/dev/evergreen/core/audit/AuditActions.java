package dev.evergreen.core.audit;

/** Action names written to the audit log. */
public final class AuditActions {
  public static final String SNAPSHOT_CREATED = "snapshot.created";
  public static final String VALIDATION_VERDICT = "validation.verdict";
  public static final String INFERRED_RULES_RESET = "validation.inferred_rules_reset";
  public static final String RUN_STARTED = "run.started";
  public static final String RUN_FINISHED = "run.finished";
  public static final String MODEL_REGISTERED = "model.registered";
  public static final String ALIAS_MOVED = "alias.moved";
  public static final String DEPLOYMENT_SWITCHED = "deployment.switched";
  public static final String DEPLOYMENT_FAILED = "deployment.failed";
  public static final String ROLLBACK = "deployment.rollback";
  public static final String CANARY_STARTED = "canary.started";
  public static final String CANARY_PROMOTED = "canary.promoted";
  public static final String CANARY_PERCENT_CHANGED = "canary.percent_changed";
  public static final String CANARY_ABORTED = "canary.aborted";
  public static final String CANARY_ROLLED_BACK = "canary.rolled_back";
  public static final String CANARY_NOT_RESTORED = "canary.not_restored";
  public static final String CANARY_REQUESTED = "canary.requested";
  public static final String SHADOW_STARTED = "shadow.started";
  public static final String SHADOW_STOPPED = "shadow.stopped";
  public static final String SHADOW_NOT_RESTORED = "shadow.not_restored";
  public static final String SHADOW_REQUESTED = "shadow.requested";
  public static final String BATCHING_CONFIGURED = "batching.configured";
  public static final String TOKEN_CREATED = "token.created";
  public static final String TOKEN_DELETED = "token.deleted";

  private AuditActions() {}
}
