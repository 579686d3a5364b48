package dev.evergreen.cli;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.core.Evergreen;
import dev.evergreen.core.audit.AuditHead;
import dev.evergreen.core.audit.AuditVerifier;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Reads and verifies the audit log. */
@Command(
    name = "audit",
    mixinStandardHelpOptions = true,
    description = "Read or verify the append-only audit log.",
    subcommands = {AuditCommand.Verify.class, AuditCommand.ListEntries.class})
final class AuditCommand {
  @Command(
      name = "verify",
      mixinStandardHelpOptions = true,
      description = {
        "Check the hash chain; name the first entry altered, removed or reordered.",
        "Entries cut off the end leave a shorter chain that is still valid. To detect that, keep"
            + " the head this command prints somewhere the data directory's owner cannot write,"
            + " and pass it back with --expect-head."
      },
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {
        "0:the chain is intact",
        "1:the check failed, for example because --home has no metadata database",
        "5:the log was altered"
      })
  static final class Verify implements Callable<Integer> {
    @Mixin HomeOption home;

    @Option(
        names = "--expect-head",
        paramLabel = "SEQUENCE:HASH",
        description =
            "A head printed by an earlier verify: that entry must still exist with that hash.")
    String expectedHead;

    @Override
    public Integer call() throws Exception {
      AuditHead expected =
          expectedHead == null ? null : AuditHead.parse(expectedHead, "--expect-head");
      try (Evergreen evergreen = Home.openExisting(home.resolve(), new SimpleMeterRegistry())) {
        AuditVerifier.Result result = evergreen.verifyAudit(expected);
        if (!result.intact()) {
          System.out.println(
              "audit log altered at entry " + result.firstBadSequence() + ": " + result.problem());
          return Main.EXIT_AUDIT_BROKEN;
        }
        System.out.println("audit log intact: " + result.entries() + " entries");
        if (result.head() != null) {
          System.out.println("head: " + result.head());
        }
        return 0;
      }
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "Print audit entries.")
  static final class ListEntries implements Callable<Integer> {
    @Mixin HomeOption home;

    @Option(
        names = "--after",
        defaultValue = "0",
        description = "Print entries after this sequence number (default: ${DEFAULT-VALUE}).")
    long after;

    @Option(
        names = "--limit",
        defaultValue = "100",
        description = "Maximum entries to print (default: ${DEFAULT-VALUE}).")
    int limit;

    @Override
    public Integer call() throws Exception {
      try (Evergreen evergreen = Home.openExisting(home.resolve(), new SimpleMeterRegistry())) {
        for (AuditEntry entry : evergreen.store().listAuditEntries(after, limit)) {
          System.out.printf(
              "%d  %s  %-20s %-22s %s %s%n",
              entry.sequence(),
              entry.at(),
              entry.actor(),
              entry.action(),
              entry.targets(),
              entry.details());
        }
      }
      return 0;
    }
  }
}
