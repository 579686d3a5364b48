package dev.evergreen.api.security;

import java.util.Locale;

/** Permission set of a token; each role includes the ones below it. */
public enum Role {
  /** Read models, runs, audit and lineage; call inference. */
  VIEWER,
  /** Also start runs, deploy and roll back. */
  OPERATOR,
  /** Also create and revoke tokens. */
  ADMIN;

  public boolean includes(Role required) {
    return ordinal() >= required.ordinal();
  }

  public static Role parse(String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "unknown role '" + text + "'; expected viewer, operator or admin");
    }
  }
}
