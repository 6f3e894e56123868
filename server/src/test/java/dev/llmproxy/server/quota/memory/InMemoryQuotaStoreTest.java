package dev.llmproxy.server.quota.memory;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.quota.FakeClock;
import dev.llmproxy.server.quota.QuotaLimits;
import dev.llmproxy.server.quota.QuotaPermit;
import dev.llmproxy.server.quota.QuotaStore;
import dev.llmproxy.server.quota.QuotaStoreContractTest;
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
}
