package dev.evergreen.cli;

import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.core.Evergreen;
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
      description = "Check the hash chain; name the first entry altered, removed or reordered.",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {"0:the chain is intact", "1:the check failed", "5:the log was altered"})
  static final class Verify implements Callable<Integer> {
    @Mixin HomeOption home;

    @Override
    public Integer call() throws Exception {
      try (Evergreen evergreen = Home.open(home.resolve(), new SimpleMeterRegistry())) {
        AuditVerifier.Result result = evergreen.verifyAudit();
        if (result.intact()) {
          System.out.println("audit log intact: " + result.entries() + " entries");
          return 0;
        }
        System.out.println(
            "audit log altered at entry " + result.firstBadSequence() + ": " + result.problem());
        return Main.EXIT_AUDIT_BROKEN;
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
      try (Evergreen evergreen = Home.open(home.resolve(), new SimpleMeterRegistry())) {
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
