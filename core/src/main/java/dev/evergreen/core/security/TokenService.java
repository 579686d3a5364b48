package dev.evergreen.core.security;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.security.Role;
import dev.evergreen.api.security.Token;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.store.MetadataStore;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Bearer tokens. Only the SHA-256 of a secret is stored; a secret is 32 random bytes in hex with
 * the prefix {@code evg_}, so an unsalted hash is safe against guessing.
 */
public final class TokenService {
  /** Name of the token created on first start. */
  public static final String ADMIN_TOKEN_NAME = "admin";

  private static final SecureRandom RANDOM = new SecureRandom();

  private final MetadataStore store;
  private final AuditLog audit;
  private final Clock clock;

  public TokenService(MetadataStore store, AuditLog audit, Clock clock) {
    this.store = store;
    this.audit = audit;
    this.clock = clock;
  }

  /**
   * Creates a token with a random secret.
   *
   * @throws EvergreenException CONFLICT when a token of that name exists, because the audit log
   *     names a token's actions by its name
   */
  public IssuedToken create(String name, Role role, String actor) {
    return store.inTransaction(
        () -> {
          for (Token existing : store.listTokens()) {
            if (existing.name().equals(name)) {
              throw new EvergreenException(
                  ErrorKind.ALREADY_EXISTS,
                  "a token named '"
                      + name
                      + "' exists (id "
                      + existing.id()
                      + "), and the audit log names each token's actions by its name; choose"
                      + " another name, or delete that token first");
            }
          }
          return create(name, role, actor, "evg_" + randomHex(32));
        });
  }

  private IssuedToken create(String name, Role role, String actor, String secret) {
    if (name == null || name.isBlank()) {
      throw EvergreenException.invalid("token name is missing; pass a name such as 'ci-deployer'");
    }
    Token token =
        new Token(
            randomHex(8),
            name,
            role,
            sha256(secret),
            clock.instant().truncatedTo(ChronoUnit.MILLIS));
    store.inTransaction(
        () -> {
          store.insertToken(token);
          audit.append(
              actor,
              AuditActions.TOKEN_CREATED,
              Map.of("token", token.id()),
              Map.of("name", name, "role", role.name().toLowerCase()));
        });
    return new IssuedToken(token, secret);
  }

  /**
   * Ensures an admin token exists. When {@code configuredSecret} is set (from {@code
   * EVERGREEN_ADMIN_TOKEN}), that secret is registered as an admin token unless already known, and
   * empty is returned. Otherwise, when no admin token exists yet, one is created and its secret
   * returned so the caller can print it once.
   */
  public Optional<String> bootstrapAdmin(String configuredSecret) {
    return store.inTransaction(
        () -> {
          if (configuredSecret != null && !configuredSecret.isBlank()) {
            if (store.findTokenBySecretHash(sha256(configuredSecret)).isEmpty()) {
              create(ADMIN_TOKEN_NAME, Role.ADMIN, "system", configuredSecret);
            }
            return Optional.<String>empty();
          }
          boolean hasAdmin = store.listTokens().stream().anyMatch(t -> t.role() == Role.ADMIN);
          if (hasAdmin) {
            return Optional.<String>empty();
          }
          return Optional.of(create(ADMIN_TOKEN_NAME, Role.ADMIN, "system").secret());
        });
  }

  /** Returns the token whose secret this is. */
  public Optional<Token> authenticate(String secret) {
    if (secret == null || secret.isEmpty()) {
      return Optional.empty();
    }
    return store.findTokenBySecretHash(sha256(secret));
  }

  public List<Token> list() {
    return store.listTokens();
  }

  public void delete(String id, String actor) {
    store.inTransaction(
        () -> {
          if (!store.deleteToken(id)) {
            throw EvergreenException.notFound(
                "token '" + id + "' not found; list tokens with GET /api/v1/tokens");
          }
          audit.append(actor, AuditActions.TOKEN_DELETED, Map.of("token", id), Map.of());
        });
  }

  static String sha256(String secret) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }

  private static String randomHex(int bytes) {
    byte[] buffer = new byte[bytes];
    RANDOM.nextBytes(buffer);
    return HexFormat.of().formatHex(buffer);
  }
}
