package dev.evergreen.api.validation;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** Severity of a constraint: an error stops the run before training, a warning is recorded. */
public enum Severity {
  ERROR,
  WARNING;

  @JsonValue
  public String text() {
    return name().toLowerCase(Locale.ROOT);
  }

  @JsonCreator
  public static Severity parse(String text) {
    return valueOf(text.trim().toUpperCase(Locale.ROOT));
  }
}
