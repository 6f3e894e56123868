package dev.llmproxy.server.quota;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What every {@link QuotaStore} must do, run against each store with a fake clock: the bucket
 * arithmetic (refill, windows), reservation and settlement, slots, and exactness under races.
 */
@Timeout(60)
public abstract class QuotaStoreContractTest {
  protected static final Duration MINUTE = Duration.ofMinutes(1);

  protected final FakeClock clock = new FakeClock();
  protected QuotaStore store;

  /** A fresh store counting against {@code clock}, with no state from other tests. */
  protected abstract QuotaStore newStore(FakeClock clock) throws Exception;

  /** How many calls of {@code subject} hold a slot in the store now. */
  protected abstract int inFlight(String subject) throws Exception;

  private boolean inFlightSettlesAt(String subject, int expected) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (inFlight(subject) != expected) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.onSpinWait();
    }
    return true;
  }

  @BeforeEach
  void openStore() throws Exception {
    store = newStore(clock);
  }

  @AfterEach
  void closeStore() {
    if (store != null) {
      store.close();
    }
  }

  protected QuotaDecision acquire(String subject, QuotaLimits limits, long tokens) throws Exception {
    return store.acquire(subject, limits, tokens).toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  private static QuotaLimits requests(long perMinute) {
    return new QuotaLimits(MINUTE, perMinute, 0, 0);
  }

  private static QuotaLimits tokens(long perMinute) {
    return new QuotaLimits(MINUTE, 0, perMinute, 0);
  }

  @Test
  void admitsExactlyTheRequestLimitThenRefusesNamingRequestsWithTheTimeToTheNextToken() throws Exception {
    QuotaLimits limits = requests(5);
    for (int left = 4; left >= 0; left--) {
      QuotaDecision d = acquire("team-a", limits, 1);
      assertThat(d.isAdmitted()).isTrue();
      assertThat(d.remainingRequests()).isEqualTo(left);
      assertThat(d.remainingTokens()).isEqualTo(-1);
    }
    QuotaDecision refused = acquire("team-a", limits, 1);
    assertThat(refused.outcome()).isEqualTo(QuotaDecision.Outcome.EXCEEDED);
    assertThat(refused.exceeded()).containsExactly(QuotaLimit.REQUESTS);
    assertThat(refused.retryAfter()).isEqualTo(Duration.ofSeconds(12)); // 5 per minute: one per 12s
    assertThat(refused.remainingRequests()).isZero();
  }

  @Test
  void aRaisedLimitAfterAReloadAppliesToWhatWasUsedWithoutARefill() throws Exception {
    for (int i = 0; i < 4; i++) {
      assertThat(acquire("team-a", requests(5), 1).isAdmitted()).isTrue();
    }
    QuotaDecision raised = acquire("team-a", requests(10), 1);
    assertThat(raised.isAdmitted()).isTrue();
    assertThat(raised.remainingRequests()).isZero(); // the one left under 5, not 6 of a fresh 10
  }

  @Test
  void aLoweredLimitAfterAReloadCutsWhatIsLeftToTheNewCapacity() throws Exception {
    for (int i = 0; i < 3; i++) {
      assertThat(acquire("team-a", requests(10), 1).isAdmitted()).isTrue();
    }
    assertThat(acquire("team-a", requests(2), 1).remainingRequests()).isEqualTo(1); // 7 left, cut to 2
    assertThat(acquire("team-a", requests(2), 1).isAdmitted()).isTrue();
    assertThat(acquire("team-a", requests(2), 1).exceeded()).containsExactly(QuotaLimit.REQUESTS);
  }

  @Test
  void refillsInProportionToTheTimeThatPassed() throws Exception {
    QuotaLimits limits = requests(5);
    for (int i = 0; i < 5; i++) {
      acquire("team-a", limits, 1);
    }
    clock.advance(Duration.ofMillis(11_999));
    assertThat(acquire("team-a", limits, 1).isAdmitted()).isFalse();
    clock.advance(Duration.ofMillis(1));
    assertThat(acquire("team-a", limits, 1).isAdmitted()).isTrue();
    assertThat(acquire("team-a", limits, 1).isAdmitted()).isFalse();
    clock.advance(Duration.ofSeconds(24));
    assertThat(acquire("team-a", limits, 1).remainingRequests()).isEqualTo(1);
  }

  @Test
  void refillsAtMostOneWindowsWorthAfterALongIdle() throws Exception {
    QuotaLimits limits = requests(5);
    for (int i = 0; i < 5; i++) {
      acquire("team-a", limits, 1);
    }
    clock.advance(Duration.ofMinutes(10));
    int admitted = 0;
    for (int i = 0; i < 20; i++) {
      admitted += acquire("team-a", limits, 1).isAdmitted() ? 1 : 0;
    }
    assertThat(admitted).isEqualTo(5);
  }

  @Test
  void reservesTheTokenEstimateOnAdmissionAndReportsWhatIsLeft() throws Exception {
    QuotaLimits limits = tokens(1000);
    assertThat(acquire("team-a", limits, 300).remainingTokens()).isEqualTo(700);
    assertThat(acquire("team-a", limits, 700).remainingTokens()).isZero();
    QuotaDecision refused = acquire("team-a", limits, 10);
    assertThat(refused.exceeded()).containsExactly(QuotaLimit.TOKENS);
    assertThat(refused.retryAfter()).isEqualTo(Duration.ofMillis(600)); // 1000 per minute: 10 in 600ms
  }

  @Test
  void givesBackTheUnusedPartOfTheReservationOnSettlement() throws Exception {
    QuotaLimits limits = tokens(1000);
    QuotaDecision call = acquire("team-a", limits, 600);
    store.release(call.permit(), 100, false);
    assertThat(acquire("team-a", limits, 1).remainingTokens()).isEqualTo(1000 - 100 - 1);
  }

  @Test
  void chargesUsageAboveTheReservationEvenBelowZero() throws Exception {
    QuotaLimits limits = tokens(1000);
    QuotaDecision call = acquire("team-a", limits, 100);
    store.release(call.permit(), 1300, false); // 300 tokens of debt
    QuotaDecision refused = acquire("team-a", limits, 1);
    assertThat(refused.exceeded()).containsExactly(QuotaLimit.TOKENS);
    assertThat(refused.remainingTokens()).isZero();
    assertThat(refused.retryAfter()).isEqualTo(Duration.ofMillis(301 * 60)); // the debt plus the token asked for
    clock.advance(Duration.ofMillis(301 * 60));
    assertThat(acquire("team-a", limits, 1).isAdmitted()).isTrue();
  }

  @Test
  void refusesACallThatNeedsMoreTokensThanTheWindowHoldsWithNoRetryTime() throws Exception {
    QuotaDecision refused = acquire("team-a", tokens(1000), 1001);
    assertThat(refused.exceeded()).containsExactly(QuotaLimit.TOKENS);
    assertThat(refused.retryAfter()).isNull();
    assertThat(acquire("team-a", tokens(1000), 1000).isAdmitted()).isTrue();
  }

  @Test
  void aRefusedCallTakesNothingFromTheLimitsItDidNotExceed() throws Exception {
    QuotaLimits limits = new QuotaLimits(MINUTE, 5, 100, 2);
    QuotaDecision first = acquire("team-a", limits, 90);
    assertThat(first.remainingRequests()).isEqualTo(4);
    assertThat(acquire("team-a", limits, 50).exceeded()).containsExactly(QuotaLimit.TOKENS);
    QuotaDecision third = acquire("team-a", limits, 10);
    assertThat(third.isAdmitted()).isTrue();
    assertThat(third.remainingRequests()).isEqualTo(3);
    assertThat(third.remainingTokens()).isZero();
    assertThat(inFlight("team-a")).isEqualTo(2);
  }

  @Test
  void holdsAConcurrencySlotUntilTheCallIsReleased() throws Exception {
    QuotaLimits limits = new QuotaLimits(MINUTE, 0, 0, 2);
    QuotaDecision one = acquire("team-a", limits, 1);
    QuotaDecision two = acquire("team-a", limits, 1);
    QuotaDecision three = acquire("team-a", limits, 1);
    assertThat(three.exceeded()).containsExactly(QuotaLimit.CONCURRENCY);
    assertThat(three.retryAfter()).isEqualTo(QuotaDecision.CONCURRENCY_RETRY_AFTER);
    assertThat(inFlight("team-a")).isEqualTo(2);
    store.release(one.permit(), 1, false);
    assertThat(acquire("team-a", limits, 1).isAdmitted()).isTrue();
    store.release(two.permit(), 1, false);
    // release() does not wait for the store (Redis answers later, on another connection than the
    // inspection's), so the count is read until it settles, within a bound.
    assertThat(inFlightSettlesAt("team-a", 1)).isTrue();
  }

  @Test
  void namesEveryExceededLimitAndWaitsForTheSlowest() throws Exception {
    QuotaLimits limits = new QuotaLimits(MINUTE, 1, 0, 1);
    acquire("team-a", limits, 1);
    QuotaDecision refused = acquire("team-a", limits, 1);
    assertThat(refused.exceeded()).containsExactlyInAnyOrder(QuotaLimit.REQUESTS, QuotaLimit.CONCURRENCY);
    assertThat(refused.retryAfter()).isEqualTo(MINUTE);
  }

  @Test
  void givesTheRequestBackWhenTheSettlementSaysSo() throws Exception {
    QuotaLimits limits = requests(2);
    QuotaDecision failed = acquire("team-a", limits, 1);
    store.release(failed.permit(), 0, true);
    assertThat(acquire("team-a", limits, 1).remainingRequests()).isEqualTo(1);
    assertThat(acquire("team-a", limits, 1).remainingRequests()).isZero();
  }

  @Test
  void countsEachSubjectOnItsOwn() throws Exception {
    QuotaLimits limits = requests(1);
    assertThat(acquire("team-a", limits, 1).isAdmitted()).isTrue();
    assertThat(acquire("team-b", limits, 1).isAdmitted()).isTrue();
    assertThat(acquire("team-a", limits, 1).isAdmitted()).isFalse();
  }

  @Test
  void aThousandCallsRacingForAHundredRequestsAdmitExactlyAHundred() throws Exception {
    assertThat(race(requests(100), 1)).isEqualTo(100);
  }

  @Test
  void aThousandCallsRacingForAHundredSlotsAdmitExactlyAHundred() throws Exception {
    assertThat(race(new QuotaLimits(MINUTE, 0, 0, 100), 1)).isEqualTo(100);
    assertThat(inFlight("racer")).isEqualTo(100);
  }

  @Test
  void aThousandCallsRacingForTokensAdmitExactlyAsManyAsFit() throws Exception {
    assertThat(race(tokens(1000), 10)).isEqualTo(100);
  }

  /** 1,000 acquires from 16 threads, released together at a latch; returns how many were admitted. */
  private int race(QuotaLimits limits, long tokens) throws Exception {
    ExecutorService threads = Executors.newFixedThreadPool(16);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<CompletableFuture<QuotaDecision>>> submitted = new ArrayList<>();
      for (int i = 0; i < 1000; i++) {
        submitted.add(threads.submit(() -> {
          start.await();
          return store.acquire("racer", limits, tokens).toCompletableFuture();
        }));
      }
      start.countDown();
      int admitted = 0;
      for (Future<CompletableFuture<QuotaDecision>> f : submitted) {
        QuotaDecision d = f.get(30, TimeUnit.SECONDS).get(30, TimeUnit.SECONDS);
        assertThat(d.outcome()).isIn(Set.of(QuotaDecision.Outcome.ADMITTED, QuotaDecision.Outcome.EXCEEDED));
        admitted += d.isAdmitted() ? 1 : 0;
      }
      return admitted;
    } finally {
      threads.shutdownNow();
    }
  }
}
