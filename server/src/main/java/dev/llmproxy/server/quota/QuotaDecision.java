package dev.llmproxy.server.quota;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * The store's answer for one call: admitted (with the permit to release when it ends), refused
 * because limits are exceeded, or unanswered because the store is unavailable and fails closed.
 *
 * @param exceeded the limits the call ran into; empty unless {@link Outcome#EXCEEDED}
 * @param retryAfter when every exceeded limit would admit the call again; {@code null} when it
 *     never will (the call alone needs more tokens than the whole window allows)
 * @param remainingRequests requests left in the window after this decision; -1 when unlimited or
 *     unknown
 * @param remainingTokens tokens left in the window after this decision; -1 when unlimited or unknown
 * @param permit set exactly when admitted
 */
public record QuotaDecision(Outcome outcome, Set<QuotaLimit> exceeded, Duration retryAfter,
    long remainingRequests, long remainingTokens, QuotaPermit permit) {

  /**
   * The retry hint for a call refused for concurrency: slots free up when calls end, which no
   * bucket arithmetic predicts.
   */
  public static final Duration CONCURRENCY_RETRY_AFTER = Duration.ofSeconds(1);

  public enum Outcome { ADMITTED, EXCEEDED, STORE_UNAVAILABLE }

  public QuotaDecision {
    Objects.requireNonNull(outcome, "outcome");
    exceeded = Set.copyOf(exceeded);
    if ((outcome == Outcome.ADMITTED) != (permit != null)) {
      throw new IllegalArgumentException("permit: " + permit + " (expected: set exactly when admitted)");
    }
  }

  public static QuotaDecision admitted(QuotaPermit permit, long remainingRequests, long remainingTokens) {
    return new QuotaDecision(Outcome.ADMITTED, Set.of(), Duration.ZERO, remainingRequests, remainingTokens,
        Objects.requireNonNull(permit, "permit"));
  }

  public static QuotaDecision exceeded(Set<QuotaLimit> limits, Duration retryAfter, long remainingRequests,
      long remainingTokens) {
    if (limits.isEmpty()) {
      throw new IllegalArgumentException("limits: empty (expected: the limits that were exceeded)");
    }
    return new QuotaDecision(Outcome.EXCEEDED, limits, retryAfter, remainingRequests, remainingTokens, null);
  }

  public static QuotaDecision storeUnavailable() {
    return new QuotaDecision(Outcome.STORE_UNAVAILABLE, Set.of(), null, -1, -1, null);
  }

  public boolean isAdmitted() {
    return outcome == Outcome.ADMITTED;
  }
}
