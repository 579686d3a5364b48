package dev.evergreen.api.model;

/** Names of the aliases Evergreen moves itself. */
public final class Aliases {
  /** The version that serves traffic. */
  public static final String CHAMPION = "champion";

  /** The newest version that was evaluated against the champion. */
  public static final String CHALLENGER = "challenger";

  private Aliases() {}
}
