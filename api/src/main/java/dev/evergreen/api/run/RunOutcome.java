package dev.evergreen.api.run;

/** What a finished run decided. The CLI's exit code for each outcome is fixed and documented. */
public enum RunOutcome {
  /**
   * The challenger was registered and passed the gate: it became champion, or, with the canary or
   * shadow strategy, it started as one or was stored for the serving process to start.
   */
  PROMOTED(0),
  /** The challenger was registered, but the gate kept the champion. */
  CHAMPION_KEPT(4),
  /**
   * The challenger was registered, but the gate did not promote it, for example because it failed a
   * floor, and the model has no champion. No version of the model serves.
   */
  NO_CHAMPION(6),
  /** Validation rejected the batch; nothing was trained. */
  REJECTED(3),
  /** The run failed with an error. */
  FAILED(1);

  private final int exitCode;

  RunOutcome(int exitCode) {
    this.exitCode = exitCode;
  }

  public int exitCode() {
    return exitCode;
  }
}
