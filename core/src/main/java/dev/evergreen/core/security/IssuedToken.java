package dev.evergreen.core.security;

import dev.evergreen.api.security.Token;

/** A newly created token with its secret, which is shown once and never stored. */
public record IssuedToken(Token token, String secret) {}
