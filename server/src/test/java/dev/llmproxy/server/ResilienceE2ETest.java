package dev.llmproxy.server;

import static dev.llmproxy.server.ProxyFixture.eventually;
import static dev.llmproxy.server.ProxyFixture.prompt;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.LlmProxyGrpc;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.LoadShedding;
import dev.llmproxy.server.config.OutlierDetection;
import dev.llmproxy.server.config.RetryPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.StallTimeouts;
import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.RecordedCall;
import dev.llmproxy.sim.SimulatedBackend;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What the proxy does when upstreams misbehave, over real sockets, with the simulated backend's
 * fault injection: failover before the first token, clean failure after it, stall detection,
 * outlier ejection that ignores the client's doing, and load shedding.
 */
@Timeout(60)
class ResilienceE2ETest {
  private static final Duration DEADLINE = Duration.ofSeconds(20);

  private static UnaryOperator<RouteConfig> timeouts(Duration firstToken, Duration betweenTokens) {
    return r -> r.withResilience(r.resilience().withTimeouts(new StallTimeouts(firstToken, betweenTokens)));
  }

  private static double count(ProxyFixture f, String meter, String... tags) {
    Counter c = f.meters.find(meter).tags(tags).counter();
    FunctionCounter fc = f.meters.find(meter).tags(tags).functionCounter();
    return c != null ? c.count() : fc != null ? fc.count() : 0;
  }

  /** Makes calls until every upstream has served one, so no pick sees a still-connecting upstream. */
  private static void warmUp(ProxyFixture f) throws InterruptedException {
    assertThat(eventually(Duration.ofSeconds(10), () -> {
      f.blocking().complete(prompt("warm up", 1));
      return f.upstreams.stream().allMatch(s -> s.recorder().started() > 0);
    })).isTrue();
    f.upstreams.forEach(s -> s.recorder().reset());
  }

  @Test
  void killingOneOfThreeUpstreamsUnderLoadFailsOnlyStreamsThatHadTokensAndThoseWithinOneSecond()
      throws Exception {
    // 300 ms to the first token, then 10 tokens 10 ms apart: most of a call's life is before its
    // first token, so many calls are caught there by the kill and must fail over.
    try (ProxyFixture f = ProxyFixture.start(3, LbPolicy.LEAST_OUTSTANDING,
        c -> c.withTimeToFirstToken(Duration.ofMillis(300)).withInterTokenLatency(Duration.ofMillis(10)),
        r -> r)) {
      warmUp(f);
      List<StreamProbe.Result> results = new CopyOnWriteArrayList<>();
      AtomicBoolean running = new AtomicBoolean(true);
      List<Thread> clients = new ArrayList<>();
      for (int i = 0; i < 18; i++) {
        int client = i;
        Thread t = new Thread(() -> {
          int n = 0;
          while (running.get()) {
            try {
              results.add(StreamProbe.start(f.channel, prompt("client " + client + " call " + n++, 10), DEADLINE)
                  .await(Duration.ofSeconds(30)));
            } catch (Exception e) {
              throw new AssertionError(e);
            }
          }
        }, "load-" + i);
        t.start();
        clients.add(t);
      }
      Thread.sleep(500);
      // A long stream that is past its first token: the upstream serving it is the one to kill.
      StreamProbe marked = StreamProbe.start(f.channel, prompt("a long answer", 500), DEADLINE);
      assertThat(eventually(Duration.ofSeconds(5), () -> marked.chunks() > 0)).isTrue();
      SimulatedBackend victim = f.upstreams.stream().filter(s -> s.name().equals(marked.upstream()))
          .findFirst().orElseThrow();
      // ... while it also holds calls still waiting for their first token.
      assertThat(victim.recorder().await(r -> r.calls().stream().anyMatch(
          c -> c.outcome() == RecordedCall.Outcome.IN_FLIGHT && c.tokensSent() == 0), Duration.ofSeconds(5))).isTrue();
      long killedAt = System.nanoTime();
      victim.close();
      StreamProbe.Result markedResult = marked.await(Duration.ofSeconds(5));
      Thread.sleep(1500);
      running.set(false);
      for (Thread t : clients) {
        t.join(30_000);
      }

      // The stream on the killed upstream ends with UNAVAILABLE within a second, not a hang.
      assertThat(markedResult.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(markedResult.status().getDescription()).contains("failed after " + markedResult.chunks() + " chunks");
      assertThat(TimeUnit.NANOSECONDS.toMillis(markedResult.endNanos() - killedAt)).isLessThan(1000);
      List<StreamProbe.Result> failed = results.stream().filter(r -> !r.ok()).toList();
      assertThat(results).hasSizeGreaterThan(50);
      // Zero failed calls among those that had not yet received a token: they failed over.
      assertThat(failed).allSatisfy(r -> {
        assertThat(r.chunks()).as("chunks before %s", r.status()).isPositive();
        assertThat(r.upstream()).isEqualTo(victim.name());
        assertThat(r.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(r.status().getDescription()).contains("failed after " + r.chunks() + " chunks");
        // Not a hang: the stream ended within a second of the kill.
        assertThat(TimeUnit.NANOSECONDS.toMillis(r.endNanos() - killedAt)).isLessThan(1000);
      });
      assertThat(count(f, "llmproxy.relay.failovers", "route", "default"))
          .as("calls caught before their first token were re-sent").isPositive();
      // Every call that started after the kill succeeded on the survivors.
      assertThat(results.stream().filter(r -> r.endNanos() - killedAt > TimeUnit.SECONDS.toNanos(1)))
          .isNotEmpty().allSatisfy(r -> assertThat(r.ok()).as(r.status().toString()).isTrue());
    }
  }

  @Test
  void anUpstreamThatNeverSendsAFirstTokenIsCancelledAndTheCallFailsOver() throws Exception {
    try (ProxyFixture f = ProxyFixture.start(2, LbPolicy.LEAST_OUTSTANDING, c -> c,
        timeouts(Duration.ofMillis(300), Duration.ofSeconds(5)))) {
      warmUp(f);
      SimulatedBackend stuck = f.upstreams.get(0);
      stuck.setFaults(Faults.none().withStallAfterTokens(0));
      int calls = 0;
      while (stuck.recorder().started() < 2 && calls++ < 60) {
        long t0 = System.nanoTime();
        StreamProbe.Result r = StreamProbe.start(f.channel, prompt("hello", 5), DEADLINE).await(Duration.ofSeconds(10));
        assertThat(r.ok()).as(r.status().toString()).isTrue();
        assertThat(r.chunks()).isEqualTo(5);
        assertThat(r.upstream()).isEqualTo(f.upstreams.get(1).name());
        assertThat(TimeUnit.NANOSECONDS.toMillis(r.endNanos() - t0)).isLessThan(2000);
      }
      assertThat(stuck.recorder().started()).isGreaterThanOrEqualTo(2);
      // The stalled upstream calls were cancelled, not left generating.
      assertThat(stuck.recorder().await(r -> r.inFlight() == 0, Duration.ofSeconds(2))).isTrue();
      assertThat(count(f, "llmproxy.relay.stalls", "route", "default", "phase", "first_token"))
          .isEqualTo(stuck.recorder().started());
    }
  }

  @Test
  void aCompleteCallWhoseUpstreamNeverAnswersFailsOverToo() throws Exception {
    // Complete: the answer of 4 tokens is due within first_token + 4 x between_tokens = 400 ms.
    try (ProxyFixture f = ProxyFixture.start(2, LbPolicy.ROUND_ROBIN, c -> c,
        timeouts(Duration.ofMillis(200), Duration.ofMillis(50)))) {
      warmUp(f);
      SimulatedBackend stuck = f.upstreams.get(0);
      stuck.setFaults(Faults.none().withStallAfterTokens(0));
      for (int i = 0; i < 4; i++) {
        assertThat(f.blocking().complete(prompt("unary " + i, 4)).getUsage().getCompletionTokens()).isEqualTo(4);
      }
      assertThat(stuck.recorder().started()).isPositive();
    }
  }

  @Test
  void aCallWithoutAClientDeadlineEndsAtTheRoutesMaxCallAndTheUpstreamIsCancelled() throws Exception {
    // Stall limits off, as for an upstream that accepts the call and then says nothing at all.
    UnaryOperator<RouteConfig> maxCall = r -> r.withResilience(r.resilience().withTimeouts(
        new StallTimeouts(Duration.ZERO, Duration.ZERO, Duration.ofMillis(700))));
    try (ProxyFixture f = ProxyFixture.start(1, LbPolicy.PICK_FIRST,
        c -> c.withFaults(Faults.none().withStallAfterTokens(0)), maxCall)) {
      StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
          () -> LlmProxyGrpc.newBlockingStub(f.channel).complete(prompt("silent upstream", 4)));
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
      assertThat(e.getStatus().getDescription()).contains("timeouts.max_call (700ms").contains("route 'default'");
      assertThat(eventually(Duration.ofSeconds(5), () -> f.upstreams.get(0).recorder().cancelled() == 1)).isTrue();
    }
  }

  @Test
  void anUpstreamThatStallsAfterTheFirstTokenFailsTheCallCleanlyWithoutFailover() throws Exception {
    try (ProxyFixture f = ProxyFixture.start(2, LbPolicy.LEAST_OUTSTANDING,
        c -> c.withFaults(Faults.none().withStallAfterTokens(3)), timeouts(Duration.ofSeconds(5), Duration.ofMillis(300)))) {
      StreamProbe probe = StreamProbe.start(f.channel, prompt("stalls", 10), DEADLINE);
      StreamProbe.Result r = probe.await(Duration.ofSeconds(10));
      assertThat(r.chunks()).isEqualTo(3);
      assertThat(r.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(r.status().getDescription()).contains("stalled after 3 chunks").contains("route 'default'");
      SimulatedBackend sim = f.upstreams.stream().filter(u -> u.recorder().started() > 0).findFirst().orElseThrow();
      long stalledForMs = TimeUnit.NANOSECONDS.toMillis(r.endNanos() - sim.recorder().lastCall().lastTokenNanos());
      assertThat(stalledForMs).as("between_tokens is 300 ms").isBetween(300L, 1500L);
      // Committed to its upstream: no second attempt, and the stalled upstream call was cancelled.
      int started = f.upstreams.stream().mapToInt(s -> s.recorder().started()).sum();
      assertThat(started).isEqualTo(1);
      assertThat(eventually(Duration.ofSeconds(2),
          () -> f.upstreams.stream().mapToInt(s -> s.recorder().cancelled()).sum() == 1)).isTrue();
      assertThat(count(f, "llmproxy.relay.stalls", "route", "default", "phase", "between_tokens")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = LbPolicy.class, names = {"LEAST_OUTSTANDING", "ROUND_ROBIN"})
  void failuresBeforeTheFirstTokenFailOverAndEjectTheUpstreamWhichReturnsAfterItsBackoff(LbPolicy lb)
      throws Exception {
    UnaryOperator<RouteConfig> ejectFast = r -> r.withResilience(r.resilience().withOutliers(
        new OutlierDetection(2, Duration.ofMillis(700), Duration.ofSeconds(10), 50, Duration.ofSeconds(1))));
    try (ProxyFixture f = ProxyFixture.start(3, lb, c -> c, ejectFast)) {
      warmUp(f);
      SimulatedBackend broken = f.upstreams.get(0);
      broken.setFaults(Faults.none().withFailRate(1.0, Status.Code.UNAVAILABLE));
      for (int i = 0; i < 30; i++) {
        assertThat(f.blocking().complete(prompt("call " + i, 2)).getUsage().getCompletionTokens()).isEqualTo(2);
      }
      // Two faults in a row eject it: it saw two calls (or three, if one was in flight), not ten.
      assertThat(broken.recorder().started()).isBetween(2, 3);
      assertThat(count(f, "llmproxy.upstream.outlier.ejections", "route", "default")).isEqualTo(1);
      assertThat(f.meters.get("llmproxy.upstream.ejected").tag("route", "default").gauge().value()).isEqualTo(1);

      broken.setFaults(Faults.none());
      Thread.sleep(800);
      assertThat(eventually(Duration.ofSeconds(3), () -> {
        f.blocking().complete(prompt("back?", 1));
        return broken.recorder().completed() > 0;
      })).as("the upstream gets calls again after its ejection time").isTrue();
      assertThat(f.meters.get("llmproxy.upstream.ejected").tag("route", "default").gauge().value()).isZero();
    }
  }

  @Test
  void aRouteWithOneUpstreamDoesNotRetryItsFailures() throws Exception {
    try (ProxyFixture f = ProxyFixture.start(1, LbPolicy.LEAST_OUTSTANDING,
        c -> c.withFaults(Faults.none().withFailRate(1.0, Status.Code.UNAVAILABLE)), r -> r)) {
      StreamProbe.Result r = StreamProbe.start(f.channel, prompt("nowhere else to go", 2), DEADLINE)
          .await(Duration.ofSeconds(10));
      assertThat(r.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(f.upstreams.get(0).recorder().started()).isEqualTo(1);
    }
  }

  @Test
  void failoverStopsOnceEveryUpstreamHasFailedTheCall() throws Exception {
    UnaryOperator<RouteConfig> fiveAttempts = r -> r.withResilience(r.resilience().withRetry(
        new RetryPolicy(5, Set.of(Status.Code.UNAVAILABLE))));
    try (ProxyFixture f = ProxyFixture.start(2, LbPolicy.LEAST_OUTSTANDING, c -> c, fiveAttempts)) {
      warmUp(f);
      f.upstreams.forEach(u -> u.setFaults(Faults.none().withFailRate(1.0, Status.Code.UNAVAILABLE)));
      StreamProbe.Result r = StreamProbe.start(f.channel, prompt("everyone refuses", 2), DEADLINE)
          .await(Duration.ofSeconds(10));
      assertThat(r.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(r.status().getDescription()).contains("after 3 attempts");
      // Each upstream once, then one more landing on an upstream that already failed: no more.
      assertThat(f.upstreams.stream().mapToInt(u -> u.recorder().started()).sum()).isEqualTo(3);
      assertThat(f.upstreams).allSatisfy(u -> assertThat(u.recorder().started()).isPositive());
    }
  }

  @Test
  void aBusyUpstreamIsAvoidedAndItsCallsFailOverButItIsNeverEjected() throws Exception {
    UnaryOperator<RouteConfig> ejectAtOnce = r -> r.withResilience(r.resilience().withOutliers(
        new OutlierDetection(1, Duration.ofSeconds(30), Duration.ofMinutes(1), 50, Duration.ofMillis(200))));
    try (ProxyFixture f = ProxyFixture.start(2, LbPolicy.LEAST_OUTSTANDING, c -> c, ejectAtOnce)) {
      warmUp(f);
      SimulatedBackend busy = f.upstreams.get(0);
      busy.setFaults(Faults.none().withFailRate(1.0, Status.Code.RESOURCE_EXHAUSTED));
      for (int i = 0; i < 20; i++) {
        assertThat(f.blocking().complete(prompt("call " + i, 2)).getUsage().getCompletionTokens()).isEqualTo(2);
      }
      assertThat(count(f, "llmproxy.upstream.outlier.ejections", "route", "default")).isZero();
      assertThat(count(f, "llmproxy.upstream.outcomes", "route", "default", "outcome", "busy"))
          .isEqualTo(busy.recorder().started()).isPositive();
      // Busy, not broken: once it has room it gets calls again within its short avoidance.
      busy.setFaults(Faults.none());
      Thread.sleep(250);
      assertThat(eventually(Duration.ofSeconds(2), () -> {
        f.blocking().complete(prompt("room now?", 1));
        return busy.recorder().completed() > 0;
      })).isTrue();
    }
  }

  @Test
  void clientCancelsAtATenPercentRateEjectNoUpstream() throws Exception {
    // One counted failure would eject: the test fails if a single client cancel is counted.
    UnaryOperator<RouteConfig> ejectAtOnce = r -> r.withResilience(r.resilience().withOutliers(
        new OutlierDetection(1, Duration.ofSeconds(30), Duration.ofMinutes(1), 50, Duration.ofSeconds(1))));
    try (ProxyFixture f = ProxyFixture.start(3, LbPolicy.LEAST_OUTSTANDING,
        c -> c.withInterTokenLatency(Duration.ofMillis(5)), ejectAtOnce)) {
      warmUp(f);
      int cancelled = 0;
      List<StreamProbe> batch = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        StreamProbe probe = StreamProbe.start(f.channel, prompt("call " + i, 40), DEADLINE);
        batch.add(probe);
        if (i % 10 == 9) {
          assertThat(eventually(Duration.ofSeconds(5), () -> probe.chunks() > 0)).isTrue();
          probe.cancel();
          cancelled++;
        }
        if (batch.size() == 10) {
          for (StreamProbe p : batch) {
            p.await(Duration.ofSeconds(10));
          }
          batch.clear();
        }
      }
      assertThat(cancelled).isEqualTo(20);
      assertThat(eventually(Duration.ofSeconds(2),
          () -> count(f, "llmproxy.upstream.outcomes", "route", "default", "outcome", "not_counted") == 20)).isTrue();
      assertThat(count(f, "llmproxy.upstream.outcomes", "route", "default", "outcome", "fault")).isZero();
      assertThat(count(f, "llmproxy.upstream.outlier.ejections", "route", "default")).isZero();
      assertThat(f.upstreams).allSatisfy(s -> assertThat(s.recorder().cancelled()).isPositive());
    }
  }

  @Test
  void loadPastTheCapIsShedFastWithUnavailableNamingTheRoute() throws Exception {
    UnaryOperator<RouteConfig> capFour = r -> r.withResilience(r.resilience().withShedding(
        new LoadShedding(4, 0, Duration.ZERO)));
    try (ProxyFixture f = ProxyFixture.start(1, LbPolicy.LEAST_OUTSTANDING,
        c -> c.withInterTokenLatency(Duration.ofMillis(50)), capFour)) {
      f.blocking().complete(prompt("warm up", 1));
      List<StreamProbe> holding = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        holding.add(StreamProbe.start(f.channel, prompt("long " + i, 40), DEADLINE));
      }
      SimulatedBackend sim = f.upstreams.get(0);
      assertThat(sim.recorder().await(r -> r.inFlight() == 4, Duration.ofSeconds(5))).isTrue();

      long t0 = System.nanoTime();
      StreamProbe.Result shed = StreamProbe.start(f.channel, prompt("one too many", 40), DEADLINE)
          .await(Duration.ofSeconds(5));
      long tookMs = TimeUnit.NANOSECONDS.toMillis(shed.endNanos() - t0);
      assertThat(shed.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(shed.status().getDescription()).contains("route 'default'").contains("max_in_flight: 4");
      assertThat(tookMs).as("shed fast, not after the 2 s the others take").isLessThan(500);
      assertThat(sim.recorder().started()).as("never reached the upstream").isEqualTo(5);

      for (StreamProbe p : holding) {
        assertThat(p.await(Duration.ofSeconds(10)).ok()).isTrue();
      }
      // The slots came back: calls go through again.
      assertThat(StreamProbe.start(f.channel, prompt("after", 2), DEADLINE).await(Duration.ofSeconds(5)).ok()).isTrue();
      assertThat(count(f, "llmproxy.shed.rejected", "route", "default", "reason", "full")).isEqualTo(1);
    }
  }

  @Test
  void aCallPastTheCapWaitsInTheQueueForASlotOrUntilItsWaitLimit() throws Exception {
    UnaryOperator<RouteConfig> capTwoQueueOne = r -> r.withResilience(r.resilience().withShedding(
        new LoadShedding(2, 1, Duration.ofSeconds(5))));
    try (ProxyFixture f = ProxyFixture.start(1, LbPolicy.LEAST_OUTSTANDING,
        c -> c.withInterTokenLatency(Duration.ofMillis(50)), capTwoQueueOne)) {
      f.blocking().complete(prompt("warm up", 1));
      SimulatedBackend sim = f.upstreams.get(0);
      sim.recorder().reset();
      StreamProbe first = StreamProbe.start(f.channel, prompt("a", 10), DEADLINE);
      StreamProbe second = StreamProbe.start(f.channel, prompt("b", 10), DEADLINE);
      assertThat(sim.recorder().await(r -> r.inFlight() == 2, Duration.ofSeconds(5))).isTrue();
      StreamProbe queued = StreamProbe.start(f.channel, prompt("c", 10), DEADLINE);
      Thread.sleep(100);
      StreamProbe.Result rejected = StreamProbe.start(f.channel, prompt("d", 10), DEADLINE)
          .await(Duration.ofSeconds(5));
      assertThat(rejected.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(rejected.status().getDescription()).contains("queue.size: 1");

      assertThat(queued.await(Duration.ofSeconds(10)).ok()).isTrue();
      assertThat(first.await(Duration.ofSeconds(1)).ok()).isTrue();
      assertThat(second.await(Duration.ofSeconds(1)).ok()).isTrue();
      assertThat(sim.recorder().maxInFlight()).as("never more than the cap at the upstream").isEqualTo(2);
      assertThat(sim.recorder().started()).isEqualTo(3);
    }

    UnaryOperator<RouteConfig> shortWait = r -> r.withResilience(r.resilience().withShedding(
        new LoadShedding(1, 1, Duration.ofMillis(300))));
    try (ProxyFixture f = ProxyFixture.start(1, LbPolicy.LEAST_OUTSTANDING,
        c -> c.withInterTokenLatency(Duration.ofMillis(100)), shortWait)) {
      StreamProbe holder = StreamProbe.start(f.channel, prompt("long", 20), DEADLINE);
      assertThat(f.upstreams.get(0).recorder().await(r -> r.inFlight() == 1, Duration.ofSeconds(5))).isTrue();
      long t0 = System.nanoTime();
      StreamProbe.Result timedOut = StreamProbe.start(f.channel, prompt("waits", 2), DEADLINE)
          .await(Duration.ofSeconds(5));
      assertThat(timedOut.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(timedOut.status().getDescription()).contains("waited 300ms");
      assertThat(TimeUnit.NANOSECONDS.toMillis(timedOut.endNanos() - t0)).isBetween(250L, 1500L);
      holder.cancel();
    }
  }
}
