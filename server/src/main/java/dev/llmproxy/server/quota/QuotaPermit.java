package dev.llmproxy.server.quota;

/**
 * What an admitted call holds until it ends: one request, {@code reservedTokens} tokens and a
 * concurrency slot of {@code subject}'s account, handed back to {@link QuotaStore#release}.
 *
 * @param slot the store's name for the concurrency slot (unique per call), or {@code null}
 * @param backed false when the call was admitted without the store (fail-open): nothing to release
 */
public record QuotaPermit(String subject, QuotaLimits limits, long reservedTokens, String slot,
    boolean backed) {

  /** A permit for a call admitted while the store could not be asked. */
  public static QuotaPermit unbacked(String subject, QuotaLimits limits, long reservedTokens) {
    return new QuotaPermit(subject, limits, reservedTokens, null, false);
  }
}
