package dev.llmproxy.server.quota;

import dev.llmproxy.server.auth.ApiKeyConfig;
import dev.llmproxy.server.auth.AuthConfig;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Which limits and models apply to whom: each configured key's tier, and the anonymous tier. */
public final class QuotaPolicy {
  /** The subject that callers without a key share. */
  public static final String ANONYMOUS = ApiKeyConfig.ANONYMOUS_ID;

  private final Map<String, QuotaSubject> byKeyId;
  private final QuotaSubject anonymous;

  private QuotaPolicy(Map<String, QuotaSubject> byKeyId, QuotaSubject anonymous) {
    this.byKeyId = Map.copyOf(byKeyId);
    this.anonymous = anonymous;
  }

  /** Binds each key to its tier's limits; a key without a tier is unlimited. */
  public static QuotaPolicy from(AuthConfig auth, QuotaConfig quota) {
    Map<String, QuotaSubject> subjects = new HashMap<>();
    for (ApiKeyConfig key : auth.keys()) {
      subjects.put(key.id(), new QuotaSubject(key.id(), limitsOf(key.tier(), quota), key.models()));
    }
    QuotaSubject anonymous = auth.allowsAnonymous()
        ? new QuotaSubject(ANONYMOUS, limitsOf(auth.anonymousTier(), quota), List.of()) : null;
    return new QuotaPolicy(subjects, anonymous);
  }

  /** The subject for a key id, or for anonymous callers when {@code keyId} is null; null if none. */
  public QuotaSubject subject(String keyId) {
    return keyId == null ? anonymous : byKeyId.get(keyId);
  }

  private static QuotaLimits limitsOf(String tier, QuotaConfig quota) {
    if (tier == null) {
      return QuotaLimits.UNLIMITED;
    }
    return quota.tier(tier).map(TierConfig::limits).orElseThrow(
        () -> new IllegalArgumentException("tier: '" + tier + "' (expected: one of quota.tiers)"));
  }
}
