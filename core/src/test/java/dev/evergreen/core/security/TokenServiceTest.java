package dev.evergreen.core.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.security.Role;
import dev.evergreen.api.security.Token;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.testing.InMemoryMetadataStore;
import java.time.Clock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Token names stay unique for good: a deleted token's name is never given to another token. */
class TokenServiceTest {
  private InMemoryMetadataStore store;
  private TokenService tokens;

  @BeforeEach
  void open() {
    store = new InMemoryMetadataStore();
    tokens = new TokenService(store, new AuditLog(store, Clock.systemUTC()), Clock.systemUTC());
  }

  @Test
  void deletedNameIsNotReused() {
    Token alice = tokens.create("alice", Role.OPERATOR, "root").token();
    tokens.delete(alice.id(), "root");

    assertThatThrownBy(() -> tokens.create("alice", Role.ADMIN, "root"))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.ALREADY_EXISTS))
        .hasMessageContaining("'alice'")
        .hasMessageContaining("token " + alice.id())
        .hasMessageContaining("deleted at ")
        .hasMessageContaining("by root")
        .hasMessageContaining("choose another name");
    assertThat(tokens.list()).isEmpty();
  }

  @Test
  void liveNameIsNotReused() {
    Token bob = tokens.create("bob", Role.VIEWER, "root").token();

    assertThatThrownBy(() -> tokens.create("bob", Role.ADMIN, "root"))
        .isInstanceOfSatisfying(
            EvergreenException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.ALREADY_EXISTS))
        .hasMessageContaining("id " + bob.id());
    assertThat(tokens.list()).hasSize(1);
  }

  @Test
  void otherNameAfterDeleteIsCreated() {
    Token alice = tokens.create("alice", Role.OPERATOR, "root").token();
    tokens.delete(alice.id(), "root");

    IssuedToken second = tokens.create("alice-admin", Role.ADMIN, "root");

    assertThat(second.token().name()).isEqualTo("alice-admin");
    assertThat(tokens.list()).extracting(Token::name).containsExactly("alice-admin");
  }

  @Test
  void newAdminSecretGetsUnusedName() {
    tokens.bootstrapAdmin("evg_first_configured_admin_secret");
    tokens.bootstrapAdmin("evg_second_configured_admin_secret");
    // The same secret again is known and adds no token.
    tokens.bootstrapAdmin("evg_second_configured_admin_secret");

    assertThat(tokens.list())
        .extracting(Token::name)
        .containsExactlyInAnyOrder(TokenService.ADMIN_TOKEN_NAME, "admin-2");
  }

  @Test
  void createdAdminSkipsDeletedAdminName() {
    Token first = tokens.create(TokenService.ADMIN_TOKEN_NAME, Role.ADMIN, "root").token();
    tokens.delete(first.id(), "root");

    assertThat(tokens.bootstrapAdmin(null)).isPresent();

    assertThat(tokens.list()).extracting(Token::name).containsExactly("admin-2");
  }

  @Test
  void systemActorNamesAreRefused() {
    for (String name :
        new String[] {"server", "reconciler", "cli:alice", "system:canary-monitor"}) {
      assertThatThrownBy(() -> tokens.create(name, Role.ADMIN, "root"))
          .as(name)
          .isInstanceOfSatisfying(
              EvergreenException.class,
              e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_INPUT))
          .hasMessage(
              "token name '"
                  + name
                  + "' could be mistaken for one of Evergreen's own actors in the audit log"
                  + " (reconciler, server, or a name with ':'); choose another name, such as"
                  + " 'ci-deployer'");
    }
    assertThat(tokens.list()).isEmpty();
  }

  @Test
  void nameWithOuterWhiteSpaceIsRefused() {
    assertThatThrownBy(() -> tokens.create("rv7a ", Role.VIEWER, "root"))
        .isInstanceOf(EvergreenException.class)
        .hasMessage(
            "token name 'rv7a ' starts or ends with white space, which the audit log would not"
                + " show; pass 'rv7a' or another name without it");
    assertThat(tokens.list()).isEmpty();
  }
}
