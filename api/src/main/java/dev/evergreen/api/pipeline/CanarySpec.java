package dev.evergreen.api.pipeline;

/**
 * A canary: the new version takes a share of the requests while the stable version takes the rest.
 *
 * @param percent share of requests sent to the canary, above 0 and below 100
 * @param keyHeader HTTP header (or gRPC metadata key) whose value routes a request, so that one
 *     caller always reaches the same version
 * @param keyInput input whose value in the first row routes a request when the header is absent;
 *     null to use only the header
 * @param rollback limits that send all traffic back to the stable version
 */
public record CanarySpec(Double percent, String keyHeader, String keyInput, RollbackSpec rollback) {
  public static final CanarySpec DEFAULT = new CanarySpec(null, null, null, null);

  public CanarySpec {
    percent = percent == null ? 10.0 : percent;
    keyHeader = keyHeader == null ? "X-Evergreen-Key" : keyHeader;
    rollback = rollback == null ? RollbackSpec.DEFAULT : rollback;
  }
}
