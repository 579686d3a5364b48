package dev.evergreen.api;

/**
 * Failure with a category and a message written for the person who has to act on it: it names the
 * file, line, column, field or id involved, the offending value, and the next step.
 */
public class EvergreenException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorKind kind;

  public EvergreenException(ErrorKind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public EvergreenException(ErrorKind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public ErrorKind kind() {
    return kind;
  }

  public static EvergreenException invalid(String message) {
    return new EvergreenException(ErrorKind.INVALID_INPUT, message);
  }

  public static EvergreenException notFound(String message) {
    return new EvergreenException(ErrorKind.NOT_FOUND, message);
  }
}
