package dev.evergreen.api.data;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * GDPR classification of a column. Direct identifiers are replaced by a keyed pseudonym before a
 * snapshot is written; no tagged column becomes a feature unless the pipeline allows it by name.
 * Pipeline files and JSON spell a tag in lowercase, such as {@code direct_identifier}, but reading
 * ignores case.
 */
public enum PersonalDataTag {
  /** Identifies a person alone: name, e-mail, customer number. */
  DIRECT_IDENTIFIER,
  /** Identifies a person in combination with other columns: birth date, postcode. */
  QUASI_IDENTIFIER,
  /** A special category under GDPR article 9, such as health or ethnicity. */
  SENSITIVE;

  @JsonValue
  public String text() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a tag in any case; an unknown tag raises an error that lists the allowed ones. */
  @JsonCreator
  public static PersonalDataTag parse(String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "unknown personal-data tag '"
              + text
              + "'; expected one of direct_identifier, quasi_identifier, sensitive");
    }
  }
}
