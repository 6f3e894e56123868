package dev.llmproxy.server.quota.memory;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.quota.FakeClock;
import dev.llmproxy.server.quota.QuotaLimits;
import dev.llmproxy.server.quota.QuotaPermit;
import dev.llmproxy.server.quota.QuotaStore;
import dev.llmproxy.server.quota.QuotaStoreContractTest;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The store contract for the in-process store, plus what only it does. */
class InMemoryQuotaStoreTest extends QuotaStoreContractTest {
  private InMemoryQuotaStore memory;

  @Override
  protected QuotaStore newStore(FakeClock clock) {
    memory = new InMemoryQuotaStore(clock);
    return memory;
  }

  @Override
  protected int inFlight(String subject) {
    return memory.inFlight(subject);
  }

  @Test
  void answersWithoutWaiting() {
    assertThat(store.acquire("team-a", new QuotaLimits(MINUTE, 1, 0, 0), 1).toCompletableFuture()).isDone();
  }

  @Test
  void releasingAPermitTheStoreNeverBackedChangesNothing() throws Exception {
    QuotaLimits limits = new QuotaLimits(MINUTE, 0, 0, 1);
    acquire("team-a", limits, 1);
    store.release(QuotaPermit.unbacked("team-a", limits, 1), 0, true);
    assertThat(inFlight("team-a")).isEqualTo(1);
  }

  @Test
  void acceptsTheLargestCapacityTheConfigAllowsForAnyWindow() throws Exception {
    for (Duration window : List.of(Duration.ofMillis(1), Duration.ofSeconds(1), MINUTE, Duration.ofHours(24))) {
      long max = QuotaLimits.maxCapacity(window);
      QuotaLimits limits = new QuotaLimits(window, max, max, 0);
      assertThat(acquire("largest-" + window, limits, max).remainingTokens()).isZero();
    }
  }
}
