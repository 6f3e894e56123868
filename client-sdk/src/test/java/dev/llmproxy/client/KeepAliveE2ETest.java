package dev.llmproxy.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.StallTimeouts;
import dev.llmproxy.sim.Faults;
import dev.llmproxy.v1.CompletionRequest;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Keepalive: it notices a connection that went silent under a long stream, and the proxy accepts it on
 * a stream that is merely quiet. Slow by nature (about 50 seconds): gRPC pings at most every 10 seconds,
 * and a server that objects to pings does so at the third.
 */
@Timeout(90)
class KeepAliveE2ETest {

  @Test
  void aSilentConnectionFailsTheStreamWithUnavailableLongBeforeItsDeadline() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1, c -> c.withFaults(Faults.none().withStallAfterTokens(2)));
        FreezableForwarder network = new FreezableForwarder(proxy.proxy.port());
        LlmProxyClient client = LlmProxyClient.builder(network.target()).usePlaintext()
            .keepAlive(Duration.ofSeconds(10), Duration.ofSeconds(1))
            .defaultDeadline(Duration.ofSeconds(60))
            .retryPolicy(RetryPolicy.disabled())
            .build();
        CompletionStream stream = client.stream(
            CompletionRequest.newBuilder().setPrompt("a stream that stalls").setMaxTokens(100).build())) {
      stream.next();
      stream.next();
      network.freeze();
      long frozenAt = System.nanoTime();

      // Without keepalive this would wait for the 60 s deadline and end DEADLINE_EXCEEDED.
      assertThatThrownBy(stream::hasNext).isInstanceOf(UnavailableException.class);
      assertThat(Duration.ofNanos(System.nanoTime() - frozenAt)).isLessThan(Duration.ofSeconds(60));
    }
  }

  @Test
  void theProxyAcceptsKeepalivePingsEveryTenSecondsOnAQuietStream() throws Exception {
    // Stall detection is off for this route: the quiet stream is the point, not a fault.
    try (ProxyHarness proxy = ProxyHarness.start(1, c -> c.withFaults(Faults.none().withStallAfterTokens(1)),
            ServerConfig.defaults().withAddress("127.0.0.1", 0),
            r -> r.withResilience(r.resilience().withTimeouts(StallTimeouts.off())));
        LlmProxyClient client = proxy.client()
            .keepAlive(Duration.ofSeconds(10), Duration.ofSeconds(5))
            .defaultDeadline(Duration.ofSeconds(80))
            .build()) {
      RecordingSubscriber subscriber = new RecordingSubscriber(Long.MAX_VALUE);
      client.streamAsync(CompletionRequest.newBuilder().setPrompt("a quiet stream").setMaxTokens(100).build(),
          subscriber);
      assertThat(subscriber.awaitChunks(1, Duration.ofSeconds(10))).isTrue();

      // A server with gRPC's default policy (one ping per 5 minutes) closes the connection with
      // too_many_pings at the third ping, 30 seconds in, failing the stream.
      assertThat(subscriber.awaitDone(Duration.ofSeconds(35))).as("stream ended: %s", subscriber.error.get())
          .isFalse();
      assertThat(proxy.sim().recorder().inFlight()).isEqualTo(1);
    }
  }
}
