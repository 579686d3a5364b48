package dev.evergreen.core.audit;

import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.core.store.MetadataStore;
import java.util.List;

/**
 * An audit entry's sequence number and hash, written {@code SEQUENCE:HASH}. Entries cut off the end
 * of the log leave a shorter chain that is still valid. A head kept where the data directory's
 * owner cannot write, and passed to a later verification, detects them.
 */
public record AuditHead(long sequence, String hash) {

  /**
   * Parses {@code SEQUENCE:HASH}.
   *
   * @param source the option or parameter that gave the text, for the message
   * @throws EvergreenException INVALID_INPUT when the text has another form
   */
  public static AuditHead parse(String text, String source) {
    int colon = text.indexOf(':');
    try {
      if (colon > 0) {
        long sequence = Long.parseLong(text.substring(0, colon));
        String hash = text.substring(colon + 1);
        if (sequence > 0 && hash.matches("[0-9a-f]{64}")) {
          return new AuditHead(sequence, hash);
        }
      }
    } catch (NumberFormatException e) {
      // Reported below with the expected form.
    }
    throw EvergreenException.invalid(
        source
            + " '"
            + text
            + "' is invalid; pass SEQUENCE:HASH as printed by an earlier audit verification,"
            + " such as 42:<64 hex digits>");
  }

  /** Returns the head of a stored log, null when the log is empty. */
  static AuditHead of(MetadataStore store) {
    return store
        .lastAuditEntry()
        .map(last -> new AuditHead(last.sequence(), last.hash()))
        .orElse(null);
  }

  /** Returns what is wrong with the stored entry at this head, or null when it matches. */
  String check(MetadataStore store) {
    List<AuditEntry> found = store.listAuditEntries(sequence - 1, 1);
    if (found.isEmpty() || found.get(0).sequence() != sequence) {
      return "the entry is missing: entries from "
          + sequence
          + " on were removed from the end of the log";
    }
    if (!found.get(0).hash().equals(hash)) {
      return "its hash "
          + found.get(0).hash()
          + " differs from the expected "
          + hash
          + ": the log was rewritten from this entry on";
    }
    return null;
  }

  @Override
  public String toString() {
    return sequence + ":" + hash;
  }
}
