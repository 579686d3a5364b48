package dev.evergreen.api.run;

/** Run states, spelled as MLflow spells them so MLflow clients read them unchanged. */
public enum RunStatus {
  SCHEDULED,
  RUNNING,
  FINISHED,
  FAILED,
  KILLED;

  public boolean isTerminal() {
    return this == FINISHED || this == FAILED || this == KILLED;
  }
}
