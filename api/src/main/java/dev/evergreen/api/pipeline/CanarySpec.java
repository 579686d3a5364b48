package dev.evergreen.api.pipeline;

import java.util.regex.Pattern;

/**
 * A canary: the new version takes a share of the requests while the stable version takes the rest.
 *
 * @param percent share of requests sent to the canary, from 0.01 to 99.99 in steps of 0.01
 * @param keyHeader HTTP header (or gRPC metadata key) whose value routes a request, so that one
 *     caller always reaches the same version
 * @param keyInput input whose value in the first row routes a request when the header is absent;
 *     null to use only the header
 * @param rollback limits that send all traffic back to the stable version
 */
public record CanarySpec(Double percent, String keyHeader, String keyInput, RollbackSpec rollback) {
  public static final CanarySpec DEFAULT = new CanarySpec(null, null, null, null);

  /** The step in which canaries and shadows split traffic, in percent: one request in 10,000. */
  public static final double PERCENT_STEP = 0.01;

  /** Characters other than ASCII letters and digits that an HTTP header name may contain. */
  public static final String HEADER_NAME_SYMBOLS = "!#$%&'*+-.^_`|~";

  // An HTTP field name is a token (RFC 9110, section 5.1): one or more of these characters.
  private static final Pattern HEADER_NAME = Pattern.compile("[A-Za-z0-9!#$%&'*+\\-.^_`|~]+");

  public CanarySpec {
    percent = percent == null ? 10.0 : percent;
    keyHeader = keyHeader == null ? "X-Evergreen-Key" : keyHeader;
    rollback = rollback == null ? RollbackSpec.DEFAULT : rollback;
  }

  /**
   * Returns the message for a key header that is not a valid HTTP header name.
   *
   * @param field the field as the caller wrote it, such as {@code deployment.canary.keyHeader}
   */
  public static String invalidHeaderMessage(String field, String name) {
    return field
        + " '"
        + name
        + "' is not a valid HTTP header name; use letters, digits and "
        + HEADER_NAME_SYMBOLS
        + " only, such as X-Customer-Id";
  }

  /** Returns whether {@code name} is a valid HTTP header name. */
  public static boolean isHeaderName(String name) {
    return name != null && HEADER_NAME.matcher(name).matches();
  }
}
