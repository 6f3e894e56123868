package dev.llmproxy.server.quota.memory;

import dev.llmproxy.server.quota.QuotaDecision;
import dev.llmproxy.server.quota.QuotaLimit;
import dev.llmproxy.server.quota.QuotaLimits;
import dev.llmproxy.server.quota.QuotaPermit;
import dev.llmproxy.server.quota.QuotaStore;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.EstimationProbe;
import io.github.bucket4j.TimeMeter;
import io.github.bucket4j.TokensInheritanceStrategy;
import io.github.bucket4j.local.LocalBucket;
import io.github.bucket4j.local.SynchronizationStrategy;
import java.time.Duration;
import java.time.InstantSource;
import java.util.EnumSet;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Quotas counted in this process, one account per subject.
 *
 * <p>Algorithm: each limited dimension is a Bucket4j token bucket with greedy refill (capacity C,
 * refilled continuously at C per window, so an idle caller gets a full window's worth back after
 * one window). Bucket4j does the arithmetic in integers, from an injected clock read in milliseconds.
 * A call needs one token from the request bucket, its token estimate from the token bucket and a
 * free concurrency slot. The three are taken under the account's own lock, and given back at once
 * if one of them refuses, so a call gets all three or none, and no other caller can see a
 * half-taken state: an interleaving can neither over-admit nor refuse a call because a racing,
 * refused one briefly held a request token. The lock is per account and held for a few hundred
 * nanoseconds of arithmetic, never across I/O, so callers only contend with callers of the same
 * key; the buckets themselves therefore use Bucket4j's unsynchronized variant.
 *
 * <p>Reload: a call that brings other limits than its account holds (its tier was changed by a
 * config reload) reconfigures the account's buckets in place, keeping the tokens they hold
 * ({@code TokensInheritanceStrategy.AS_IS}, cut to a smaller capacity): a changed limit applies to
 * what the caller has already used, and a reload is never a free refill.
 *
 * <p>Settlement: usage above the reservation is charged with {@code consumeIgnoringRateLimits},
 * which may take the bucket below zero (a debt later calls wait out); usage below it is returned
 * with {@code addTokens}, capped at capacity.
 */
public final class InMemoryQuotaStore implements QuotaStore {
  private final ConcurrentHashMap<String, Account> accounts = new ConcurrentHashMap<>();
  private final TimeMeter time;

  /** Counts against {@code clock}; tests pass a fake one. */
  public InMemoryQuotaStore(InstantSource clock) {
    Objects.requireNonNull(clock, "clock");
    this.time = new TimeMeter() {
      @Override
      public long currentTimeNanos() {
        return clock.millis() * 1_000_000L;
      }

      @Override
      public boolean isWallClockBased() {
        return true;
      }
    };
  }

  @Override
  public CompletionStage<QuotaDecision> acquire(String subject, QuotaLimits limits, long tokens) {
    Account account = accounts.get(subject);
    if (account == null) {
      account = accounts.computeIfAbsent(subject, s -> new Account(limits, time));
    }
    account.adopt(limits, time);
    return CompletableFuture.completedFuture(account.acquire(subject, tokens));
  }

  @Override
  public void release(QuotaPermit permit, long usedTokens, boolean refundRequest) {
    if (!permit.backed()) {
      return;
    }
    Account account = accounts.get(permit.subject());
    if (account != null) {
      account.release(permit.reservedTokens(), usedTokens, refundRequest);
    }
  }

  /** Calls of {@code subject} in flight now (for tests and diagnostics). */
  public int inFlight(String subject) {
    Account account = accounts.get(subject);
    return account == null ? 0 : account.inFlight();
  }

  @Override
  public void close() {
    accounts.clear();
  }

  /** One subject's buckets and slot count, guarded by the account's monitor. */
  private static final class Account {
    private QuotaLimits limits;
    private LocalBucket requests;
    private LocalBucket tokens;
    private int inFlight;

    Account(QuotaLimits limits, TimeMeter time) {
      this.limits = limits;
      this.requests = limits.limitsRequests() ? bucket(limits.requests(), limits.window(), time) : null;
      this.tokens = limits.limitsTokens() ? bucket(limits.tokens(), limits.window(), time) : null;
    }

    /** Takes on {@code next} limits (after a reload), keeping what each bucket holds. */
    synchronized void adopt(QuotaLimits next, TimeMeter time) {
      if (next.equals(limits)) {
        return;
      }
      requests = rebucket(requests, next.limitsRequests(), next.requests(), next.window(), time);
      tokens = rebucket(tokens, next.limitsTokens(), next.tokens(), next.window(), time);
      limits = next;
    }

    private static LocalBucket rebucket(LocalBucket bucket, boolean limited, long capacity, Duration window,
        TimeMeter time) {
      if (!limited) {
        return null;
      }
      if (bucket == null) {
        return bucket(capacity, window, time); // newly limited: a full bucket, as for a new caller
      }
      bucket.replaceConfiguration(BucketConfiguration.builder()
          .addLimit(limit -> limit.capacity(capacity).refillGreedy(capacity, window)).build(),
          TokensInheritanceStrategy.AS_IS);
      return bucket;
    }

    private static LocalBucket bucket(long capacity, Duration window, TimeMeter time) {
      return Bucket.builder()
          .addLimit(limit -> limit.capacity(capacity).refillGreedy(capacity, window))
          .withCustomTimePrecision(time)
          .withSynchronizationStrategy(SynchronizationStrategy.NONE)
          .build();
    }

    synchronized QuotaDecision acquire(String subject, long cost) {
      // The common case first, in as few bucket operations as possible: take what the call needs,
      // and if any limit refuses, put back what was taken (no one else can look meanwhile).
      boolean slotFree = !limits.limitsConcurrency() || inFlight < limits.maxConcurrent();
      boolean takesTokens = tokens != null && cost > 0;
      if (slotFree && (!takesTokens || cost <= limits.tokens())) {
        ConsumptionProbe request = requests == null ? null : requests.tryConsumeAndReturnRemaining(1);
        if (request == null || request.isConsumed()) {
          ConsumptionProbe taken = takesTokens ? tokens.tryConsumeAndReturnRemaining(cost) : null;
          if (taken == null || taken.isConsumed()) {
            inFlight++;
            return QuotaDecision.admitted(new QuotaPermit(subject, limits, cost, null, true),
                request == null ? -1 : request.getRemainingTokens(),
                taken != null ? taken.getRemainingTokens() : remaining(tokens));
          }
          if (request != null) {
            requests.addTokens(1);
          }
        }
      }
      return refusal(cost);
    }

    /** Names every limit the call exceeds, and when all of them would let it pass. */
    private QuotaDecision refusal(long cost) {
      EnumSet<QuotaLimit> exceeded = EnumSet.noneOf(QuotaLimit.class);
      long waitNanos = 0;
      boolean never = false;
      if (requests != null) {
        EstimationProbe probe = requests.estimateAbilityToConsume(1);
        if (!probe.canBeConsumed()) {
          exceeded.add(QuotaLimit.REQUESTS);
          waitNanos = probe.getNanosToWaitForRefill();
        }
      }
      if (tokens != null && cost > 0) {
        if (cost > limits.tokens()) {
          exceeded.add(QuotaLimit.TOKENS);
          never = true;
        } else {
          EstimationProbe probe = tokens.estimateAbilityToConsume(cost);
          if (!probe.canBeConsumed()) {
            exceeded.add(QuotaLimit.TOKENS);
            waitNanos = Math.max(waitNanos, probe.getNanosToWaitForRefill());
          }
        }
      }
      if (limits.limitsConcurrency() && inFlight >= limits.maxConcurrent()) {
        exceeded.add(QuotaLimit.CONCURRENCY);
        waitNanos = Math.max(waitNanos, QuotaDecision.CONCURRENCY_RETRY_AFTER.toNanos());
      }
      return QuotaDecision.exceeded(exceeded, never ? null : Duration.ofNanos(waitNanos),
          remaining(requests), remaining(tokens));
    }

    synchronized void release(long reserved, long used, boolean refundRequest) {
      if (refundRequest && requests != null) {
        requests.addTokens(1);
      }
      if (tokens != null) {
        if (used > reserved) {
          tokens.consumeIgnoringRateLimits(used - reserved);
        } else if (used < reserved) {
          tokens.addTokens(reserved - used);
        }
      }
      if (inFlight > 0) {
        inFlight--;
      }
    }

    synchronized int inFlight() {
      return inFlight;
    }

    private static long remaining(Bucket bucket) {
      return bucket == null ? -1 : Math.max(0, bucket.getAvailableTokens());
    }
  }
}
