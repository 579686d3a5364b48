package dev.evergreen.api;

/**
 * Category of a failure. The server maps each kind to one HTTP status in a single table, and the
 * CLI maps each kind to one exit code.
 */
public enum ErrorKind {
  /** The caller sent a value that cannot be used: bad file, bad spec, bad request body. */
  INVALID_INPUT,
  /** The named resource (model, version, run, snapshot, pipeline) does not exist. */
  NOT_FOUND,
  /**
   * The request conflicts with stored state, for example a version in use that cannot be deleted,
   * or a canary that already runs.
   */
  CONFLICT,
  /** The name to create or rename to is taken: an experiment, registered model or token. */
  ALREADY_EXISTS,
  /** No credentials, or credentials that match no token. */
  UNAUTHENTICATED,
  /** Valid credentials whose role does not allow the action. */
  FORBIDDEN,
  /** The service cannot take the request now (model not loaded, queue full). */
  UNAVAILABLE,
  /** A fault inside Evergreen or its environment (disk, native library). */
  INTERNAL
}
