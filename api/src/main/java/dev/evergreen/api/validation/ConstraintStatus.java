package dev.evergreen.api.validation;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** Outcome of one constraint on one batch. */
public enum ConstraintStatus {
  PASSED,
  FAILED,
  /** Not evaluated, such as a row-count change without a previous batch. */
  SKIPPED;

  @JsonValue
  public String text() {
    return name().toLowerCase(Locale.ROOT);
  }

  @JsonCreator
  public static ConstraintStatus parse(String text) {
    return valueOf(text.trim().toUpperCase(Locale.ROOT));
  }
}
