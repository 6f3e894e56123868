package dev.llmproxy.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.sim.CallRecorder;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code streamAsync} with a {@link Flow.Subscriber}: demand, cancellation and the rules of the contract. */
@Timeout(60)
class SubscriberE2ETest {
  private static CompletionRequest prompt(String text, int maxTokens) {
    return CompletionRequest.newBuilder().setPrompt(text).setMaxTokens(maxTokens).build();
  }

  @Test
  void deliversNoMoreChunksThanRequestedAndTheRestOnDemand() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1);
        LlmProxyClient client = proxy.client().build()) {
      RecordingSubscriber subscriber = new RecordingSubscriber(3);
      client.streamAsync(prompt("backpressure", 50), subscriber);

      assertThat(subscriber.awaitChunks(3, Duration.ofSeconds(10))).isTrue();
      // The upstream has produced all 50 tokens, and they have had time to reach the client...
      assertThat(proxy.sim().recorder().await(r -> r.completed() == 1, Duration.ofSeconds(10))).isTrue();
      assertThat(subscriber.awaitChunks(4, Duration.ofMillis(300))).isFalse();
      // ...but only what was asked for was delivered, and the stream is not over.
      assertThat(subscriber.chunks).hasSize(3);
      assertThat(subscriber.done.getCount()).isEqualTo(1);

      subscriber.request(Long.MAX_VALUE);
      assertThat(subscriber.awaitDone(Duration.ofSeconds(10))).isTrue();
      assertThat(subscriber.completed()).isTrue();
      assertThat(subscriber.chunks).extracting(CompletionChunk::getIndex)
          .containsExactlyElementsOf(java.util.stream.IntStream.range(0, 50).boxed().toList());
      assertThat(subscriber.violations).isEmpty();
    }
  }

  @Test
  void cancellingTheSubscriptionCancelsTheUpstreamGeneration() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1, c -> c.withInterTokenLatency(Duration.ofMillis(20)));
        LlmProxyClient client = proxy.client().build()) {
      RecordingSubscriber subscriber = new RecordingSubscriber(2);
      client.streamAsync(prompt("cancel me", 500), subscriber);
      assertThat(subscriber.awaitChunks(2, Duration.ofSeconds(10))).isTrue();

      subscriber.cancel();

      CallRecorder upstream = proxy.sim().recorder();
      assertThat(upstream.await(r -> r.cancelled() == 1, Duration.ofSeconds(10))).isTrue();
      assertThat(upstream.lastCall().tokensSent()).isLessThan(500);
      assertThat(subscriber.done.getCount()).isEqualTo(1); // no signal after cancel
      assertThat(subscriber.violations).isEmpty();
    }
  }

  @Test
  void requestingZeroSignalsIllegalArgumentAndCancelsTheCall() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1, c -> c.withInterTokenLatency(Duration.ofMillis(20)));
        LlmProxyClient client = proxy.client().build()) {
      RecordingSubscriber subscriber = new RecordingSubscriber(1);
      client.streamAsync(prompt("rule 3.9", 500), subscriber);
      assertThat(subscriber.awaitChunks(1, Duration.ofSeconds(10))).isTrue();

      subscriber.request(0);

      assertThat(subscriber.awaitDone(Duration.ofSeconds(10))).isTrue();
      assertThat(subscriber.error.get()).isInstanceOf(IllegalArgumentException.class)
          .hasMessage("request: 0 (expected: > 0, Reactive Streams rule 3.9)");
      assertThat(proxy.sim().recorder().await(r -> r.cancelled() == 1, Duration.ofSeconds(10))).isTrue();
    }
  }

  @Test
  void cancellingOrRequestingZeroInOnSubscribeStartsNoCall() throws Exception {
    try (ScriptedServer server = ScriptedServer.answering();
        LlmProxyClient client = server.client().build()) {
      AtomicReference<Throwable> error = new AtomicReference<>();
      client.streamAsync(prompt("never sent", 5), new Flow.Subscriber<>() {
        @Override
        public void onSubscribe(Flow.Subscription s) {
          s.request(0);
        }

        @Override
        public void onNext(CompletionChunk item) {
          error.set(new AssertionError("onNext"));
        }

        @Override
        public void onError(Throwable t) {
          error.compareAndSet(null, t);
        }

        @Override
        public void onComplete() {
          error.set(new AssertionError("onComplete"));
        }
      });
      assertThat(error.get()).isInstanceOf(IllegalArgumentException.class);

      RecordingSubscriber cancelling = new RecordingSubscriber(0) {
        @Override
        public void onSubscribe(Flow.Subscription s) {
          s.cancel();
        }
      };
      assertThat(client.streamAsync(prompt("never sent", 5), cancelling).get(5, TimeUnit.SECONDS).asMap()).isEmpty();

      // A call that did start, to be sure that the two above would have been seen.
      RecordingSubscriber normal = new RecordingSubscriber(Long.MAX_VALUE);
      client.streamAsync(prompt("sent", 5), normal);
      assertThat(normal.awaitDone(Duration.ofSeconds(10))).isTrue();
      assertThat(server.attempts).hasSize(1);
      assertThat(cancelling.done.getCount()).isEqualTo(1);
    }
  }

  @Test
  void aSubscriberThatThrowsGetsNoMoreSignalsAndTheCallIsCancelled() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1, c -> c.withInterTokenLatency(Duration.ofMillis(20)));
        LlmProxyClient client = proxy.client().build()) {
      AtomicInteger signals = new AtomicInteger();
      CountDownLatch threw = new CountDownLatch(1);
      client.streamAsync(prompt("throw", 500), new Flow.Subscriber<>() {
        @Override
        public void onSubscribe(Flow.Subscription s) {
          s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(CompletionChunk item) {
          signals.incrementAndGet();
          threw.countDown();
          throw new IllegalStateException("subscriber bug");
        }

        @Override
        public void onError(Throwable t) {
          signals.incrementAndGet();
        }

        @Override
        public void onComplete() {
          signals.incrementAndGet();
        }
      });

      assertThat(threw.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(proxy.sim().recorder().await(r -> r.cancelled() == 1, Duration.ofSeconds(10))).isTrue();
      assertThat(signals.get()).isEqualTo(1);
    }
  }

  @Test
  void simulatedBackendIsTheUpstreamThatServedTheStream() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1);
        LlmProxyClient client = proxy.client().build()) {
      RecordingSubscriber subscriber = new RecordingSubscriber(Long.MAX_VALUE);
      ResponseMetadata metadata = client.streamAsync(prompt("who", 4), subscriber).get(10, TimeUnit.SECONDS);
      SimulatedBackend sim = proxy.sim();

      assertThat(metadata.upstream()).contains(sim.name());
      assertThat(subscriber.awaitDone(Duration.ofSeconds(10))).isTrue();
      assertThat(subscriber.chunks).hasSize(4);
    }
  }
}
