package dev.evergreen.core.security;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.audit.AuditEntry;
import dev.evergreen.api.security.Role;
import dev.evergreen.api.security.Token;
import dev.evergreen.core.audit.AuditActions;
import dev.evergreen.core.audit.AuditLog;
import dev.evergreen.core.deployment.DeploymentManager;
import dev.evergreen.core.store.MetadataStore;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Bearer tokens. Only the SHA-256 of a secret is stored; a secret is 32 random bytes in hex with
 * the prefix {@code evg_}, so an unsalted hash is safe against guessing.
 */
public final class TokenService {
  /** Name of the token created on first start. */
  public static final String ADMIN_TOKEN_NAME = "admin";

  private static final SecureRandom RANDOM = new SecureRandom();

  /** Audit entries read per store call when looking for deleted tokens. */
  private static final int AUDIT_PAGE = 1_000;

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
   * <p>A name is never used twice, also after its token was deleted. The audit log, run actors and
   * alias moves record a token's actions by its name, so a reused name would make one name stand
   * for two tokens, possibly with different roles.
   *
   * @throws EvergreenException ALREADY_EXISTS when a token of that name exists or existed, naming
   *     its id and, for a deleted one, when it was deleted
   */
  public IssuedToken create(String name, Role role, String actor) {
    requireName(name);
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
                      + " another name");
            }
          }
          Optional<String> deleted = deletedTokenNamed(name);
          if (deleted.isPresent()) {
            throw new EvergreenException(
                ErrorKind.ALREADY_EXISTS,
                "the name '"
                    + name
                    + "' belonged to "
                    + deleted.get()
                    + ". Names are never reused, because the audit log names each token's actions"
                    + " by its name; choose another name");
          }
          return create(name, role, actor, "evg_" + randomHex(32));
        });
  }

  /**
   * Describes the most recently deleted token that had a name, such as {@code token 3f2a...
   * (deleted at 2026-03-01T09:15:02Z by admin)}, read from the audit log. Empty when no deleted
   * token had it.
   */
  private Optional<String> deletedTokenNamed(String name) {
    Set<String> named = new HashSet<>();
    Map<String, AuditEntry> deleted = new HashMap<>();
    forEachTokenEntry(
        entry -> {
          String token = entry.targets().get("token");
          if (entry.action().equals(AuditActions.TOKEN_CREATED)
              && name.equals(entry.details().get("name"))) {
            named.add(token);
          } else if (entry.action().equals(AuditActions.TOKEN_DELETED)) {
            deleted.put(token, entry);
          }
        });
    return named.stream()
        .filter(deleted::containsKey)
        .map(deleted::get)
        .max(Comparator.comparingLong(AuditEntry::sequence))
        .map(
            entry ->
                "token "
                    + entry.targets().get("token")
                    + " (deleted at "
                    + entry.at()
                    + " by "
                    + entry.actor()
                    + ")");
  }

  /**
   * Returns {@code base} when no token has or had that name, else the first free name of {@code
   * base-2}, {@code base-3}, ...
   */
  private String freeName(String base) {
    Set<String> used = new HashSet<>();
    store.listTokens().forEach(token -> used.add(token.name()));
    forEachTokenEntry(
        entry -> {
          if (entry.action().equals(AuditActions.TOKEN_CREATED)) {
            used.add(entry.details().get("name"));
          }
        });
    String name = base;
    for (int suffix = 2; used.contains(name); suffix++) {
      name = base + "-" + suffix;
    }
    return name;
  }

  /** Reads the whole audit log in pages and passes each entry that targets a token. */
  private void forEachTokenEntry(Consumer<AuditEntry> action) {
    long after = 0;
    while (true) {
      List<AuditEntry> page = store.listAuditEntries(after, AUDIT_PAGE);
      for (AuditEntry entry : page) {
        if (entry.targets().containsKey("token")) {
          action.accept(entry);
        }
      }
      if (page.size() < AUDIT_PAGE) {
        return;
      }
      after = page.getLast().sequence();
    }
  }

  /**
   * Actors that Evergreen itself records in the audit log: the server's landing runs and the
   * deployment reconciler. Other system and command-line actors contain a colon, such as {@code
   * system:canary-monitor} and {@code cli:alice}.
   */
  private static final Set<String> SYSTEM_ACTORS =
      Set.of("server", DeploymentManager.RECONCILER_ACTOR);

  private static void requireName(String name) {
    if (name == null || name.isBlank()) {
      throw EvergreenException.invalid("token name is missing; pass a name such as 'ci-deployer'");
    }
    if (!name.equals(name.strip())) {
      throw EvergreenException.invalid(
          "token name '"
              + name
              + "' starts or ends with white space, which the audit log would not show; pass '"
              + name.strip()
              + "' or another name without it");
    }
    // A token's name is the actor of its requests in the audit log, so it must not pass for an
    // actor that Evergreen records itself.
    if (name.contains(":") || SYSTEM_ACTORS.contains(name)) {
      throw EvergreenException.invalid(
          "token name '"
              + name
              + "' could be mistaken for one of Evergreen's own actors in the audit log ("
              + String.join(", ", new TreeSet<>(SYSTEM_ACTORS))
              + ", or a name with ':'); choose another name, such as 'ci-deployer'");
    }
  }

  private IssuedToken create(String name, Role role, String actor, String secret) {
    requireName(name);
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
   * returned so the caller can print it once. The new token is named {@value #ADMIN_TOKEN_NAME}, or
   * {@code admin-2}, {@code admin-3}, ... when a token has or had that name, because names are
   * never reused (see {@link #create(String, Role, String)}).
   */
  public Optional<String> bootstrapAdmin(String configuredSecret) {
    return store.inTransaction(
        () -> {
          if (configuredSecret != null && !configuredSecret.isBlank()) {
            if (store.findTokenBySecretHash(sha256(configuredSecret)).isEmpty()) {
              create(freeName(ADMIN_TOKEN_NAME), Role.ADMIN, "system", configuredSecret);
            }
            return Optional.<String>empty();
          }
          boolean hasAdmin = store.listTokens().stream().anyMatch(t -> t.role() == Role.ADMIN);
          if (hasAdmin) {
            return Optional.<String>empty();
          }
          String name = freeName(ADMIN_TOKEN_NAME);
          return Optional.of(create(name, Role.ADMIN, "system", "evg_" + randomHex(32)).secret());
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
