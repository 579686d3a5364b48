package dev.evergreen.api.security;

import java.time.Instant;

/**
 * A bearer token as stored: only the hash of the secret is kept.
 *
 * @param secretSha256 hex SHA-256 of the secret the client sends
 */
public record Token(String id, String name, Role role, String secretSha256, Instant createdAt) {}
