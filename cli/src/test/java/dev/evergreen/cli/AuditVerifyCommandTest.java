package dev.evergreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.evergreen.api.security.Role;
import dev.evergreen.core.Evergreen;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tampers with the audit log in the SQLite file directly, as someone with write access to the file
 * could, and checks that {@code evergreen audit verify} names the first bad entry.
 */
class AuditVerifyCommandTest {
  @TempDir Path home;

  @BeforeEach
  void writeEntries() throws Exception {
    try (Evergreen evergreen = Home.open(home, new SimpleMeterRegistry())) {
      for (int i = 1; i <= 6; i++) {
        evergreen.tokens().create("token-" + i, Role.VIEWER, "alice");
      }
    }
  }

  @Test
  void verifyIntactLogExitsZero() {
    Result result = verify();

    assertThat(result.exitCode()).isZero();
    assertThat(result.output()).contains("intact: 6 entries");
  }

  @Test
  void verifyNamesAlteredEntry() throws Exception {
    sql("UPDATE audit_log SET actor = 'mallory' WHERE sequence = 3");

    Result result = verify();

    assertThat(result.exitCode()).isEqualTo(Main.EXIT_AUDIT_BROKEN);
    assertThat(result.output()).contains("altered at entry 3");
  }

  @Test
  void verifyNamesEntryAfterRemovedOne() throws Exception {
    sql("DELETE FROM audit_log WHERE sequence = 4");

    Result result = verify();

    assertThat(result.exitCode()).isEqualTo(Main.EXIT_AUDIT_BROKEN);
    assertThat(result.output()).contains("altered at entry 5").contains("removed");
  }

  @Test
  void verifyNamesFirstReorderedEntry() throws Exception {
    sql(
        "UPDATE audit_log SET sequence = -2 WHERE sequence = 2",
        "UPDATE audit_log SET sequence = 2 WHERE sequence = 3",
        "UPDATE audit_log SET sequence = 3 WHERE sequence = -2");

    Result result = verify();

    assertThat(result.exitCode()).isEqualTo(Main.EXIT_AUDIT_BROKEN);
    assertThat(result.output()).contains("altered at entry 2");
  }

  @Test
  void verifyWithHeadDetectsRemovedTail() throws Exception {
    String head = headLine(verify().output());
    sql("DELETE FROM audit_log WHERE sequence >= 5");

    Result plain = verify();
    Result anchored = verify("--expect-head", head);

    assertThat(plain.exitCode()).as("a shorter chain alone is still valid").isZero();
    assertThat(anchored.exitCode()).isEqualTo(Main.EXIT_AUDIT_BROKEN);
    assertThat(anchored.output()).contains("altered at entry 6").contains("removed");
  }

  @Test
  void verifyWithHeadDetectsRewrittenTail() throws Exception {
    String head = headLine(verify().output());
    sql("UPDATE audit_log SET hash = replace(hash, substr(hash, 1, 1), 'x') WHERE sequence = 6");

    Result anchored = verify("--expect-head", head);

    assertThat(anchored.exitCode()).isEqualTo(Main.EXIT_AUDIT_BROKEN);
    assertThat(anchored.output()).contains("altered at entry 6");
  }

  @Test
  void verifyWithMatchingHeadExitsZero() {
    String head = headLine(verify().output());

    Result anchored = verify("--expect-head", head);

    assertThat(head).startsWith("6:");
    assertThat(anchored.exitCode()).isZero();
  }

  @Test
  void verifyRejectsMalformedHead() {
    Result result = verify("--expect-head", "six:abc");

    assertThat(result.exitCode()).isEqualTo(Main.EXIT_FAILED);
  }

  private static String headLine(String output) {
    return output
        .lines()
        .filter(line -> line.startsWith("head: "))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no head line in: " + output))
        .substring("head: ".length());
  }

  private void sql(String... statements) throws Exception {
    try (Connection connection =
            DriverManager.getConnection("jdbc:sqlite:" + home.resolve("metadata.db"));
        Statement statement = connection.createStatement()) {
      statement.execute("DROP TRIGGER audit_log_no_update");
      statement.execute("DROP TRIGGER audit_log_no_delete");
      for (String sql : statements) {
        statement.execute(sql);
      }
    }
  }

  private record Result(int exitCode, String output) {}

  private Result verify(String... options) {
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      List<String> args = new ArrayList<>(List.of("audit", "verify", "--home", home.toString()));
      args.addAll(List.of(options));
      int code = Main.execute(args.toArray(String[]::new));
      return new Result(code, captured.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(original);
    }
  }
}
