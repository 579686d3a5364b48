package dev.evergreen.core.registry;

import dev.evergreen.api.EvergreenException;
import java.util.Locale;

/**
 * MLflow's model version stages, kept for clients written before aliases. Stages are labels only:
 * serving follows the {@code champion} alias, never a stage.
 */
public enum ModelStage {
  NONE("None"),
  STAGING("Staging"),
  PRODUCTION("Production"),
  ARCHIVED("Archived");

  private final String mlflowName;

  ModelStage(String mlflowName) {
    this.mlflowName = mlflowName;
  }

  /** Returns the name MLflow uses, such as {@code Production}. */
  public String mlflowName() {
    return mlflowName;
  }

  /** Returns true for Staging and Production, the stages whose other versions can be archived. */
  public boolean active() {
    return this == STAGING || this == PRODUCTION;
  }

  /**
   * Parses a stage name in any letter case, as MLflow does.
   *
   * @throws EvergreenException INVALID_INPUT naming the valid stages
   */
  public static ModelStage parse(String text) {
    if (text != null) {
      for (ModelStage stage : values()) {
        if (stage.mlflowName.toLowerCase(Locale.ROOT).equals(text.toLowerCase(Locale.ROOT))) {
          return stage;
        }
      }
    }
    throw EvergreenException.invalid(
        "invalid model version stage '"
            + text
            + "'; use one of None, Staging, Production, Archived");
  }
}
