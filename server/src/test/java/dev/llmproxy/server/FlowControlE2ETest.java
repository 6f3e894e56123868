package dev.llmproxy.server;

import static dev.llmproxy.server.ProxyFixture.prompt;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.StallTimeouts;
import dev.llmproxy.sim.RecordedCall;
import dev.llmproxy.sim.SimulatedBackend;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.Counter;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A client that stops reading: the proxy holds a bounded amount, the upstream is held back, the
 * call ends at the client's deadline, and other streams on the same upstream connection go on.
 */
@Timeout(60)
class FlowControlE2ETest {
  private static final int WINDOW = 16 << 10;

  private static ProxyFixture proxyWithSmallWindows() throws Exception {
    return ProxyFixture.start(1, LbPolicy.LEAST_OUTSTANDING, c -> c,
        r -> r.withMaxTokens(8192, 256).withFlowControlWindow(WINDOW)
            .withResilience(r.resilience().withTimeouts(new StallTimeouts(Duration.ofSeconds(5), Duration.ofMillis(300)))));
  }

  private static ManagedChannel smallWindowClient(ProxyFixture f) {
    return NettyChannelBuilder.forAddress("127.0.0.1", f.proxy.port()).usePlaintext().flowControlWindow(WINDOW).build();
  }

  /** Waits until the upstream has sent nothing new for 300 ms, and returns what it sent. */
  private static int awaitUpstreamHeldBack(RecordedCall call) throws InterruptedException {
    int before = -1;
    for (int i = 0; i < 40 && (call.tokensSent() != before || before == 0); i++) {
      before = call.tokensSent();
      Thread.sleep(300);
    }
    assertThat(call.tokensSent()).as("the upstream stopped sending").isEqualTo(before);
    return before;
  }

  @Test
  void aClientThatStopsReadingHoldsItsUpstreamBackAndItsCallEndsAtItsDeadline() throws Exception {
    try (ProxyFixture f = proxyWithSmallWindows()) {
      ManagedChannel client = smallWindowClient(f);
      try {
        long t0 = System.nanoTime();
        StreamProbe probe = StreamProbe.start(client, prompt("a flood nobody reads", 5000), Duration.ofSeconds(3), false);
        SimulatedBackend sim = f.upstreams.get(0);
        assertThat(sim.recorder().await(r -> r.started() == 1, Duration.ofSeconds(5))).isTrue();
        RecordedCall upstream = sim.recorder().lastCall();
        // Bounded: what fits the windows on the way (about 100 KiB here), not the 5000 tokens.
        int heldAt = awaitUpstreamHeldBack(upstream);
        assertThat(heldAt).isLessThan(4000);

        StreamProbe.Result result = probe.await(Duration.ofSeconds(10));

        // Not a stall: waiting for a client that does not read never counts against the upstream.
        assertThat(result.status().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(TimeUnit.NANOSECONDS.toMillis(result.endNanos() - t0)).isBetween(2900L, 4500L);
        Counter stalls = f.meters.find("llmproxy.relay.stalls").counter();
        assertThat(stalls == null ? 0 : stalls.count()).isZero();
        assertThat(upstream.tokensSent()).isEqualTo(heldAt);
        assertThat(sim.recorder().await(r -> r.cancelled() == 1, Duration.ofSeconds(2)))
            .as("the deadline cancelled the upstream generation too").isTrue();
      } finally {
        client.shutdownNow();
      }
    }
  }

  @Test
  void aStalledReaderDoesNotBlockOtherStreamsOnTheSameUpstreamConnection() throws Exception {
    try (ProxyFixture f = proxyWithSmallWindows()) {
      ManagedChannel stalledClient = smallWindowClient(f);
      try {
        SimulatedBackend sim = f.upstreams.get(0);
        StreamProbe stalled = StreamProbe.start(stalledClient, prompt("never read", 5000), Duration.ofSeconds(30), false);
        assertThat(sim.recorder().await(r -> r.started() == 1, Duration.ofSeconds(5))).isTrue();
        RecordedCall held = sim.recorder().lastCall();
        int heldAt = awaitUpstreamHeldBack(held);
        assertThat(heldAt).isLessThan(5000);

        // One upstream, so one proxy-to-upstream connection: its connection-level window must not
        // be used up by the bytes the stalled stream holds.
        long t0 = System.nanoTime();
        StreamProbe.Result other = StreamProbe.start(f.channel, prompt("a normal reader", 3000), Duration.ofSeconds(20))
            .await(Duration.ofSeconds(20));
        assertThat(other.ok()).as(other.status().toString()).isTrue();
        assertThat(other.chunks()).isEqualTo(3000);
        assertThat(TimeUnit.NANOSECONDS.toMillis(other.endNanos() - t0)).isLessThan(10_000);
        assertThat(sim.recorder().started()).isEqualTo(2);
        assertThat(held.outcome()).isEqualTo(RecordedCall.Outcome.IN_FLIGHT);
        assertThat(held.tokensSent()).isEqualTo(heldAt);
        stalled.cancel();
      } finally {
        stalledClient.shutdownNow();
      }
    }
  }
}
