package dev.llmproxy.sim;

import static dev.llmproxy.sim.BackendFixture.prompt;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.CompletionChunk;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Real timing on a shared, noisy machine: only lower bounds are asserted (timers never fire early),
 * upper bounds are left to the test timeout.
 */
@Timeout(30)
class SimulatedBackendTimingE2ETest {
  private static final long SLACK_MS = 5; // clock granularity between client and server readings

  private BackendFixture sim;

  @BeforeEach
  void start() throws Exception {
    sim = BackendFixture.start(SimulatedBackendConfig.defaults("sim-t"));
    sim.blocking().complete(prompt("warm up", 1));
  }

  @AfterEach
  void stop() throws Exception {
    sim.close();
  }

  @Test
  void streamWaitsTimeToFirstTokenThenInterTokenLatencyPerToken() {
    sim.backend.setConfig(sim.backend.config()
        .withTimeToFirstToken(Duration.ofMillis(200))
        .withInterTokenLatency(Duration.ofMillis(30)));
    long start = System.nanoTime();
    Iterator<CompletionChunk> stream = sim.blocking().streamComplete(prompt("timed", 6));
    List<Long> arrivalsMs = new ArrayList<>();
    while (stream.hasNext()) {
      stream.next();
      arrivalsMs.add((System.nanoTime() - start) / 1_000_000);
    }

    assertThat(arrivalsMs).hasSize(6);
    assertThat(arrivalsMs.get(0)).isGreaterThanOrEqualTo(200 - SLACK_MS);
    assertThat(arrivalsMs.get(5)).isGreaterThanOrEqualTo(200 + 5 * 30 - SLACK_MS);
    RecordedCall call = sim.recorder().lastCall();
    // Tokens are due on a fixed schedule from admission; a late timer does not push later tokens back.
    assertThat(call.firstTokenNanos() - call.admittedNanos()).isGreaterThanOrEqualTo(200_000_000L);
    assertThat(call.lastTokenNanos() - call.admittedNanos()).isGreaterThanOrEqualTo(350_000_000L);
  }

  @Test
  void completeAnswersAfterTheWholeGenerationTime() {
    sim.backend.setConfig(sim.backend.config()
        .withTimeToFirstToken(Duration.ofMillis(100))
        .withInterTokenLatency(Duration.ofMillis(20)));
    long start = System.nanoTime();
    sim.blocking().complete(prompt("timed", 11));
    long elapsedMs = (System.nanoTime() - start) / 1_000_000;

    assertThat(elapsedMs).isGreaterThanOrEqualTo(100 + 10 * 20 - SLACK_MS);
  }

  @Test
  void jitterNeverShortensDelaysBelowBaseMinusJitter() {
    sim.backend.setConfig(sim.backend.config()
        .withTimeToFirstToken(Duration.ofMillis(100))
        .withInterTokenLatency(Duration.ofMillis(10))
        .withJitter(Duration.ofMillis(40)));
    long start = System.nanoTime();
    List<CompletionChunk> chunks = sim.stream(prompt("jittery", 5));
    long elapsedMs = (System.nanoTime() - start) / 1_000_000;

    assertThat(chunks).hasSize(5);
    assertThat(elapsedMs).isGreaterThanOrEqualTo(100 - 40 - SLACK_MS);
  }

  @Test
  void setConfigSlowsDownCallsThatStartAfterIt() {
    long start = System.nanoTime();
    sim.stream(prompt("fast", 10));
    long fastMs = (System.nanoTime() - start) / 1_000_000;

    sim.backend.setConfig(sim.backend.config().withInterTokenLatency(Duration.ofMillis(40)));
    start = System.nanoTime();
    sim.stream(prompt("slow", 10));
    long slowMs = (System.nanoTime() - start) / 1_000_000;

    assertThat(slowMs).isGreaterThanOrEqualTo(9 * 40 - SLACK_MS).isGreaterThan(fastMs);
  }

  @Test
  void zeroLatencyStreamsThousandsOfTokensAsFastAsTheClientReads() {
    List<CompletionChunk> chunks = sim.stream(prompt("flood", 20_000));

    assertThat(chunks).hasSize(20_000);
    assertThat(chunks.get(19_999).getIndex()).isEqualTo(19_999);
    assertThat(sim.recorder().lastCall().tokensSent()).isEqualTo(20_000);
  }
}
