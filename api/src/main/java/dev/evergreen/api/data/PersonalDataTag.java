package dev.evergreen.api.data;

/**
 * GDPR classification of a column. Direct identifiers are replaced by a keyed pseudonym before a
 * snapshot is written; no tagged column becomes a feature unless the pipeline allows it by name.
 */
public enum PersonalDataTag {
  /** Identifies a person alone: name, e-mail, customer number. */
  DIRECT_IDENTIFIER,
  /** Identifies a person in combination with other columns: birth date, postcode. */
  QUASI_IDENTIFIER,
  /** A special category under GDPR article 9, such as health or ethnicity. */
  SENSITIVE
}
