package dev.llmproxy.server.quota;

import dev.llmproxy.server.auth.ApiKeyServerInterceptor;
import dev.llmproxy.server.auth.AuthConfig;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Objects;

/**
 * The interceptors that guard the {@code LlmProxy} service: {@code authentication} runs first, on
 * headers alone, then {@code openCalls} (the key's concurrency limit, on this proxy, from the
 * headers on); {@code quota} runs after routing, on the request.
 */
public record AccessControl(ApiKeyServerInterceptor authentication, OpenCallsServerInterceptor openCalls,
    QuotaServerInterceptor quota) {

  public AccessControl {
    Objects.requireNonNull(authentication, "authentication");
    Objects.requireNonNull(openCalls, "openCalls");
    Objects.requireNonNull(quota, "quota");
  }

  /** Both interceptors for {@code auth}, counting quotas of {@code quota}'s tiers in {@code store}. */
  public static AccessControl of(AuthConfig auth, QuotaConfig quota, QuotaStore store, MeterRegistry meters) {
    QuotaPolicy policy = QuotaPolicy.from(auth, quota);
    return new AccessControl(new ApiKeyServerInterceptor(auth, meters), new OpenCallsServerInterceptor(policy, meters),
        new QuotaServerInterceptor(policy, store, new TokenEstimator(), meters));
  }
}
