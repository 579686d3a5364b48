package dev.evergreen.core.audit;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.core.store.MetadataStore;
import java.util.List;

/**
 * Walks the audit log and checks its hash chain. It finds an entry that was altered (its hash no
 * longer matches its content), removed (a gap in the sequence, or a previous hash that matches no
 * stored entry) or reordered (the same symptoms at the moved entries).
 */
public final class AuditVerifier {
  private static final int PAGE = 1_000;

  /**
   * Outcome of a verification.
   *
   * @param firstBadSequence sequence of the first entry that fails a check, null when intact
   * @param problem what failed at that entry, null when intact
   * @param head the last stored entry as {@code SEQUENCE:HASH}, null when the log is empty
   */
  public record Result(
      boolean intact, long entries, Long firstBadSequence, String problem, String head) {}

  private AuditVerifier() {}

  /**
   * Checks the chain, and then that {@code expected}, a head reported by an earlier verification,
   * still exists with its hash. Removing entries from the end of the log leaves a valid shorter
   * chain, which only that second check detects.
   *
   * @param expected an earlier head, null to check the chain alone
   */
  public static Result verify(MetadataStore store, AuditHead expected) {
    Result chain = verify(store);
    if (!chain.intact() || expected == null) {
      return chain;
    }
    String problem = expected.check(store);
    return problem == null
        ? chain
        : new Result(false, chain.entries(), expected.sequence(), problem, chain.head());
  }

  /** Checks the chain of the stored log. */
  public static Result verify(MetadataStore store) {
    long expectedSequence = 1;
    String previousHash = AuditLog.GENESIS;
    long after = 0;
    long count = 0;
    while (true) {
      List<AuditEntry> page = store.listAuditEntries(after, PAGE);
      if (page.isEmpty()) {
        return new Result(true, count, null, null, headOf(store));
      }
      for (AuditEntry entry : page) {
        count++;
        if (entry.sequence() != expectedSequence) {
          return new Result(
              false,
              count,
              entry.sequence(),
              "expected entry "
                  + expectedSequence
                  + " but found entry "
                  + entry.sequence()
                  + ": entries were removed or reordered",
              headOf(store));
        }
        if (!entry.previousHash().equals(previousHash)) {
          return new Result(
              false,
              count,
              entry.sequence(),
              "previous hash "
                  + entry.previousHash()
                  + " does not match the hash of entry "
                  + (expectedSequence - 1)
                  + " ("
                  + previousHash
                  + "): the entry before it was altered, removed or reordered",
              headOf(store));
        }
        String actual = AuditLog.hashOf(entry);
        if (!actual.equals(entry.hash())) {
          return new Result(
              false,
              count,
              entry.sequence(),
              "content hash "
                  + actual
                  + " does not match the stored hash "
                  + entry.hash()
                  + ": the entry was altered",
              headOf(store));
        }
        previousHash = entry.hash();
        expectedSequence++;
        after = entry.sequence();
      }
    }
  }

  private static String headOf(MetadataStore store) {
    AuditHead head = AuditHead.of(store);
    return head == null ? null : head.toString();
  }
}
