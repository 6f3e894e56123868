package dev.llmproxy.client;

import dev.llmproxy.v1.LlmProxyGrpc;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A {@link RetryPolicy} as a gRPC service config (the parsed-JSON form that
 * {@code ManagedChannelBuilder.defaultServiceConfig} takes: numbers as {@code Double}, durations as
 * strings like {@code "0.2s"}), applying to both methods of {@code llmproxy.v1.LlmProxy}.
 */
final class RetryServiceConfig {
  private RetryServiceConfig() {}

  static Map<String, Object> of(RetryPolicy policy) {
    Map<String, Object> retryPolicy = Map.of(
        "maxAttempts", (double) policy.maxAttempts(),
        "initialBackoff", seconds(policy.initialBackoff()),
        "maxBackoff", seconds(policy.maxBackoff()),
        "backoffMultiplier", policy.backoffMultiplier(),
        "retryableStatusCodes", List.of("UNAVAILABLE"));
    Map<String, Object> methodConfig = Map.of(
        "name", List.of(Map.of("service", LlmProxyGrpc.SERVICE_NAME)),
        "retryPolicy", retryPolicy);
    return Map.of("methodConfig", List.of(methodConfig));
  }

  /** A duration in the service config's notation: decimal seconds with an {@code s}, e.g. {@code 0.25s}. */
  static String seconds(Duration duration) {
    return BigDecimal.valueOf(duration.getSeconds()).add(BigDecimal.valueOf(duration.getNano(), 9))
        .stripTrailingZeros().toPlainString() + "s";
  }
}
