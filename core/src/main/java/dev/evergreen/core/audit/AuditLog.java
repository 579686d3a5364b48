package dev.evergreen.core.audit;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.core.store.MetadataStore;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * Append-only audit log whose entries form a hash chain: each entry stores the SHA-256 of the
 * previous one, and its own hash covers that value, so altering, removing or reordering an entry
 * breaks the chain from that point on.
 */
public final class AuditLog {
  /** Previous hash of the first entry. */
  public static final String GENESIS = "0".repeat(64);

  private final MetadataStore store;
  private final Clock clock;

  public AuditLog(MetadataStore store, Clock clock) {
    this.store = store;
    this.clock = clock;
  }

  /**
   * Appends an entry. Call it inside the same {@link MetadataStore#inTransaction} as the change it
   * records, so the change and its entry are stored together or not at all.
   */
  public AuditEntry append(
      String actor, String action, Map<String, String> targets, Map<String, String> details) {
    return store.inTransaction(
        () -> {
          AuditEntry last = store.lastAuditEntry().orElse(null);
          long sequence = last == null ? 1 : last.sequence() + 1;
          String previous = last == null ? GENESIS : last.hash();
          // Millisecond precision, because that is what every store keeps.
          Instant at = clock.instant().truncatedTo(ChronoUnit.MILLIS);
          String hash = hash(sequence, at, actor, action, targets, details, previous);
          AuditEntry entry =
              new AuditEntry(sequence, at, actor, action, targets, details, previous, hash);
          store.insertAuditEntry(entry);
          return entry;
        });
  }

  /** Computes the hash of an entry from its fields, ignoring its stored hash. */
  public static String hashOf(AuditEntry entry) {
    return hash(
        entry.sequence(),
        entry.at(),
        entry.actor(),
        entry.action(),
        entry.targets(),
        entry.details(),
        entry.previousHash());
  }

  private static String hash(
      long sequence,
      Instant at,
      String actor,
      String action,
      Map<String, String> targets,
      Map<String, String> details,
      String previousHash) {
    StringBuilder canonical = new StringBuilder();
    field(canonical, Long.toString(sequence));
    field(canonical, at.toString());
    field(canonical, actor);
    field(canonical, action);
    map(canonical, targets);
    map(canonical, details);
    field(canonical, previousHash);
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of()
          .formatHex(digest.digest(canonical.toString().getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }

  // Length-prefixed fields, so that no two different entries share a canonical form.
  private static void field(StringBuilder out, String value) {
    String text = value == null ? "" : value;
    out.append(text.length()).append(':').append(text).append(';');
  }

  private static void map(StringBuilder out, Map<String, String> values) {
    TreeMap<String, String> sorted = new TreeMap<>(values);
    field(out, Integer.toString(sorted.size()));
    sorted.forEach(
        (key, value) -> {
          field(out, key);
          field(out, value);
        });
  }
}
