package dev.llmproxy.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.sim.CallRecorder;
import dev.llmproxy.sim.RecordedCall;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import java.time.Duration;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code stream()}: reading chunks as they arrive, and closing early, through a real proxy. */
@Timeout(60)
class CompletionStreamE2ETest {
  private static final CompletionRequest LONG =
      CompletionRequest.newBuilder().setPrompt("a long story").setMaxTokens(500).build();

  private static ProxyHarness slowProxy() throws Exception {
    return ProxyHarness.start(1, c -> c.withInterTokenLatency(Duration.ofMillis(20)));
  }

  @Test
  void closingTheStreamCancelsTheUpstreamGeneration() throws Exception {
    try (ProxyHarness proxy = slowProxy(); LlmProxyClient client = proxy.client().build()) {
      try (CompletionStream stream = client.stream(LONG)) {
        for (int i = 0; i < 3; i++) {
          assertThat(stream.next().getIndex()).isEqualTo(i);
        }
      }

      CallRecorder upstream = proxy.sim().recorder();
      assertThat(upstream.await(r -> r.cancelled() == 1, Duration.ofSeconds(10))).isTrue();
      RecordedCall call = upstream.lastCall();
      assertThat(call.outcome()).isEqualTo(RecordedCall.Outcome.CANCELLED);
      assertThat(call.tokensSent()).isLessThan(500);
    }
  }

  @Test
  void closingTheJavaStreamCancelsTheUpstreamGeneration() throws Exception {
    try (ProxyHarness proxy = slowProxy(); LlmProxyClient client = proxy.client().build()) {
      List<String> firstTwo;
      try (Stream<CompletionChunk> chunks = client.stream(LONG).toStream()) {
        firstTwo = chunks.limit(2).map(CompletionChunk::getText).toList();
      }

      assertThat(firstTwo).hasSize(2);
      assertThat(proxy.sim().recorder().await(r -> r.cancelled() == 1, Duration.ofSeconds(10))).isTrue();
    }
  }

  @Test
  void aClosedStreamHasNoNextChunk() throws Exception {
    try (ProxyHarness proxy = slowProxy(); LlmProxyClient client = proxy.client().build()) {
      CompletionStream stream = client.stream(LONG);
      stream.next();
      stream.close();
      stream.close(); // idempotent

      assertThat(stream.hasNext()).isFalse();
      assertThatThrownBy(stream::next).isInstanceOf(NoSuchElementException.class)
          .hasMessage("the stream was closed");
    }
  }

  @Test
  void readingToTheEndNeedsNoCloseAndCancelsNothing() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1); LlmProxyClient client = proxy.client().build()) {
      StringBuilder text = new StringBuilder();
      int chunks = 0;
      CompletionStream stream = client.stream(CompletionRequest.newBuilder().setPrompt("short").setMaxTokens(12).build());
      for (CompletionChunk chunk : stream) {
        text.append(chunk.getText());
        chunks++;
      }
      stream.close();

      assertThat(chunks).isEqualTo(12);
      assertThat(text).isNotEmpty();
      assertThat(proxy.sim().recorder().await(r -> r.completed() == 1, Duration.ofSeconds(10))).isTrue();
      assertThat(proxy.sim().recorder().cancelled()).isZero();
      assertThatThrownBy(stream::iterator).isInstanceOf(IllegalStateException.class)
          .hasMessage("a CompletionStream can be iterated only once");
    }
  }

  @Test
  void anInterruptedReaderCancelsTheCall() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1, c -> c.withFaults(
            dev.llmproxy.sim.Faults.none().withStallAfterTokens(1)));
        LlmProxyClient client = proxy.client().build();
        CompletionStream stream = client.stream(LONG)) {
      stream.next();
      Thread.currentThread().interrupt();

      assertThatThrownBy(stream::hasNext).isInstanceOfSatisfying(LlmProxyException.class,
          e -> assertThat(e.code()).isEqualTo(io.grpc.Status.Code.CANCELLED));
      assertThat(Thread.interrupted()).isTrue();
      assertThat(proxy.sim().recorder().await(r -> r.cancelled() == 1, Duration.ofSeconds(10))).isTrue();
    }
  }
}
