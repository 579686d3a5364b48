package dev.evergreen.api.audit;

import java.time.Instant;
import java.util.Map;

/**
 * One state change in the append-only audit log.
 *
 * @param sequence position in the log, counted from 1 without gaps
 * @param action such as {@code snapshot.created} or {@code alias.moved}
 * @param targets id kind to id, such as {@code model -> flights-delay}
 * @param details further facts about the change
 * @param previousHash hex SHA-256 of the previous entry, 64 zeros for the first
 * @param hash hex SHA-256 of this entry's canonical form, which includes {@code previousHash}
 */
public record AuditEntry(
    long sequence,
    Instant at,
    String actor,
    String action,
    Map<String, String> targets,
    Map<String, String> details,
    String previousHash,
    String hash) {
  public AuditEntry {
    targets = Map.copyOf(targets);
    details = Map.copyOf(details);
  }
}
