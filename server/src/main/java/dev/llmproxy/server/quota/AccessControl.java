package dev.llmproxy.server.quota;

import dev.llmproxy.server.auth.ApiKeyServerInterceptor;
import dev.llmproxy.server.auth.AuthConfig;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Objects;

/**
 * The two interceptors that guard the {@code LlmProxy} service: {@code authentication} runs first,
 * on headers alone; {@code quota} runs after routing, on the request.
 */
public record AccessControl(ApiKeyServerInterceptor authentication, QuotaServerInterceptor quota) {

  public AccessControl {
    Objects.requireNonNull(authentication, "authentication");
    Objects.requireNonNull(quota, "quota");
  }

  /** Both interceptors for {@code auth}, counting quotas of {@code quota}'s tiers in {@code store}. */
  public static AccessControl of(AuthConfig auth, QuotaConfig quota, QuotaStore store, MeterRegistry meters) {
    return new AccessControl(new ApiKeyServerInterceptor(auth, meters),
        new QuotaServerInterceptor(QuotaPolicy.from(auth, quota), store, new TokenEstimator(), meters));
  }
}
