package dev.llmproxy.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The load generator against a real simulated backend on loopback: a few seconds in all. */
@Timeout(60)
class LoadGeneratorTest {
  private SimulatedBackend sim;
  private final LoadGenerator generator = new LoadGenerator(null);

  @BeforeEach
  void start() throws Exception {
    sim = SimulatedBackend.start(SimulatedBackendConfig.defaults("sim"));
  }

  @AfterEach
  void stop() {
    sim.close();
  }

  private LoadSpec spec(boolean stream, boolean open, double load, Duration duration, long calls, int tokens) {
    return new LoadSpec(List.of(sim.address()), stream, open, load, Duration.ZERO, duration, calls, tokens, "m", 1,
        Map.of(), Duration.ofSeconds(10));
  }

  @Test
  void closedLoopStreamsRecordEveryTokenTimeToFirstTokenAndInterTokenGaps() throws Exception {
    sim.setConfig(sim.config().withInterTokenLatency(Duration.ofMillis(20)));

    LoadResult r = generator.run(spec(true, false, 4, Duration.ofSeconds(1), 0, 5));

    assertThat(r.ok()).isPositive();
    assertThat(r.errors()).isEmpty();
    assertThat(r.tokens()).isEqualTo(r.ok() * 5);
    assertThat(r.ttftMicros().getTotalCount()).isEqualTo(r.ok());
    assertThat(r.itlMicros().getTotalCount()).isEqualTo(r.ok() * 4);
    // Gaps follow the upstream's 20 ms pace (a busy machine can make a late timer send two at once).
    assertThat(r.itlMicros().getValueAtPercentile(50)).isGreaterThanOrEqualTo(10_000);
    assertThat(r.latencyMicros().getTotalCount()).isEqualTo(r.ok());
    assertThat(r.throughput()).isPositive();
    // Exactly 4 at once: the closed loop holds its concurrency.
    assertThat(r.maxInFlight()).isEqualTo(4);
  }

  @Test
  void closedLoopWithACallLimitMakesExactlyThatManyCallsAllAtOnce() throws Exception {
    sim.setConfig(sim.config().withInterTokenLatency(Duration.ofMillis(50)));

    LoadResult r = generator.run(spec(true, false, 20, Duration.ofSeconds(30), 20, 5));

    assertThat(r.ok()).isEqualTo(20);
    assertThat(sim.recorder().started()).isEqualTo(20);
    assertThat(r.maxInFlight()).isEqualTo(20);
  }

  @Test
  void openLoopSendsAtTheFixedRateAndMeasuresFromTheIntendedStart() throws Exception {
    LoadResult r = generator.run(spec(false, true, 50, Duration.ofSeconds(2), 0, 4));

    // 50 calls/s for 2 s: 100 calls are due.
    assertThat(r.ok()).isBetween(95L, 101L);
    assertThat(sim.recorder().started()).isEqualTo((int) r.ok());
  }

  @Test
  void openLoopLatencyIncludesTheTimeACallWaitedForAStalledServer() throws Exception {
    // Capacity 1: calls queue in the backend, so later calls are served well after they were due.
    sim.setConfig(sim.config().withMaxConcurrency(1).withTimeToFirstToken(Duration.ofMillis(50)));

    LoadResult r = generator.run(spec(false, true, 40, Duration.ofSeconds(1), 0, 1));

    // 40 calls due within 1 s but served at 20/s: the last ones wait about a second.
    assertThat(r.latencyMs(99)).isGreaterThan(700);
  }

  @Test
  void errorsAreCountedByStatusAndKeptOutOfTheLatencies() throws Exception {
    sim.setFaults(Faults.none().withFailRate(1.0, Status.Code.UNAVAILABLE));

    LoadResult r = generator.run(spec(false, false, 2, Duration.ofMillis(500), 0, 4));

    assertThat(r.ok()).isZero();
    assertThat(r.errors()).containsOnlyKeys("UNAVAILABLE");
    assertThat(r.errors().get("UNAVAILABLE")).isPositive();
    assertThat(r.latencyMicros().getTotalCount()).isZero();
  }

  @Test
  void resultJsonNamesThroughputPercentilesAndErrors() throws Exception {
    LoadResult r = generator.run(spec(true, false, 2, Duration.ofMillis(500), 0, 3));

    String json = Json.write(r.toMap());
    assertThat(json).contains("\"rpc\": \"StreamComplete\"", "\"throughput_per_s\"", "\"p99_ms\"", "\"ttft\"",
        "\"itl\"", "\"errors_by_status\": {}", "\"tokens_per_s\"");
  }
}
