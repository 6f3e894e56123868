package dev.llmproxy.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.RecordedCall;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.Message;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The client against a real llmproxy in front of simulated upstreams, over loopback sockets. */
@Timeout(60)
class LlmProxyClientE2ETest {
  private static final RetryPolicy FAST = RetryPolicy.defaults().withBackoff(Duration.ofMillis(10),
      Duration.ofMillis(50));

  private static CompletionRequest prompt(String text, int maxTokens) {
    return CompletionRequest.newBuilder().setModel(ProxyHarness.MODEL).setPrompt(text).setMaxTokens(maxTokens).build();
  }

  @Test
  void completeReturnsTheTextThatTheStreamConcatenatesTo() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1); LlmProxyClient client = proxy.client().build()) {
      CompletionRequest request = prompt("Hello, proxy", 16).toBuilder().setSeed(7).build();

      StringBuilder streamed = new StringBuilder();
      CompletionChunk last = null;
      try (CompletionStream stream = client.stream(request)) {
        for (CompletionChunk chunk : stream) {
          streamed.append(chunk.getText());
          last = chunk;
        }
        assertThat(stream.metadata().upstream()).contains(proxy.sim().name());
      }
      // The same deterministic request again: answered by the proxy's cache, so no upstream.
      Response<Completion> whole = client.completeWithResponse(request);

      assertThat(whole.value().getText()).isNotEmpty().isEqualTo(streamed.toString());
      assertThat(whole.value().getUsage().getCompletionTokens()).isEqualTo(16);
      assertThat(whole.metadata().cacheStatus()).contains(CacheStatus.HIT);
      assertThat(whole.metadata().upstream()).isEmpty();
      assertThat(last.getIndex()).isEqualTo(15);
      assertThat(last.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    }
  }

  @Test
  void onePromptOverloadsAskTheDefaultRouteWithItsDefaultMaxTokens() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1); LlmProxyClient client = proxy.client().build()) {
      Completion completion = client.complete("Hello, default route");
      long chunks;
      try (CompletionStream stream = client.stream("Hello, default route")) {
        chunks = stream.toStream().count();
      }
      Completion async = client.completeAsync("Hello, default route").get(10, TimeUnit.SECONDS).value();

      int routeDefault = proxy.proxy.config().routes().get(0).defaultMaxTokens();
      assertThat(completion.getUsage().getCompletionTokens()).isEqualTo(routeDefault);
      assertThat(chunks).isEqualTo(routeDefault);
      assertThat(async.getText()).isEqualTo(completion.getText());
      assertThat(proxy.sim().recorder().calls()).extracting(c -> c.request().getModel()).containsOnly("");
    }
  }

  @Test
  void invalidRequestNamesTheField() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1); LlmProxyClient client = proxy.client().build()) {
      assertThatThrownBy(() -> client.complete(prompt("too long", 5000)))
          .isInstanceOfSatisfying(InvalidRequestException.class, e -> {
            assertThat(e.field()).contains("max_tokens");
            assertThat(e.description()).startsWith("max_tokens: 5000 (expected:");
          });
      CompletionRequest both = prompt("x", 4).toBuilder()
          .addMessages(Message.newBuilder().setRole("user").setContent("y")).build();
      try (CompletionStream stream = client.stream(both)) {
        assertThatThrownBy(stream::hasNext).isInstanceOfSatisfying(InvalidRequestException.class,
            e -> assertThat(e.field()).contains("prompt/messages"));
      }
      assertThat(proxy.sim().recorder().started()).isZero();
    }
  }

  @Test
  void unknownModelIsModelNotFound() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1); LlmProxyClient client = proxy.client().build()) {
      assertThatThrownBy(() -> client.complete(prompt("x", 4).toBuilder().setModel("gpt-none").build()))
          .isInstanceOfSatisfying(ModelNotFoundException.class, e -> {
            assertThat(e.model()).isEqualTo("gpt-none");
            assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND);
          });
    }
  }

  @Test
  void noHealthyUpstreamIsUnavailableAfterTheRetries() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1);
        LlmProxyClient client = proxy.client().retryPolicy(FAST).build()) {
      client.complete(prompt("warm", 1));
      proxy.sim().close();

      assertThatThrownBy(() -> client.complete(prompt("x", 4)))
          .isInstanceOfSatisfying(UnavailableException.class,
              e -> assertThat(e.description()).contains("route 'default'"));
      try (CompletionStream stream = client.stream(prompt("x", 4))) {
        assertThatThrownBy(stream::hasNext).isInstanceOf(UnavailableException.class);
      }
    }
  }

  @Test
  void theDefaultDeadlineReachesTheUpstreamAndEndsAStalledCall() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1, c -> c.withFaults(Faults.none().withStallAfterTokens(2)));
        LlmProxyClient client = proxy.client().defaultDeadline(Duration.ofMillis(1500)).build()) {
      assertThatThrownBy(() -> client.complete(prompt("stall", 10)))
          .isExactlyInstanceOf(LlmProxyException.class)
          .satisfies(e -> assertThat(((LlmProxyException) e).code()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));

      RecordedCall call = proxy.sim().recorder().lastCall();
      assertThat(call.deadlineRemainingAtStart()).isNotNull().isLessThanOrEqualTo(Duration.ofMillis(1500));
      assertThat(proxy.sim().recorder().await(r -> r.lastCall().outcome() != RecordedCall.Outcome.IN_FLIGHT,
          Duration.ofSeconds(10))).isTrue();
    }
  }

  @Test
  void withDeadlineGivesOneCallItsOwnDeadline() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1, c -> c.withFaults(Faults.none().withStallAfterTokens(2)));
        LlmProxyClient client = proxy.client().build()) {
      client.complete(prompt("warm up the connections", 1)); // ends before the stall; keeps setup out of the deadline
      LlmProxyClient impatient = client.withDeadline(Duration.ofSeconds(1));
      try (CompletionStream stream = impatient.stream(prompt("stall", 10))) {
        assertThat(stream.next().getIndex()).isZero();
        assertThat(stream.next().getIndex()).isEqualTo(1);
        assertThatThrownBy(stream::hasNext).isInstanceOfSatisfying(LlmProxyException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
      }
      assertThat(proxy.sim().recorder().lastCall().deadlineRemainingAtStart())
          .isLessThanOrEqualTo(Duration.ofSeconds(1));
    }
  }

  @Test
  void cancellingTheFutureCancelsTheUpstreamGeneration() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1, c -> c.withInterTokenLatency(Duration.ofMillis(20)));
        LlmProxyClient client = proxy.client().build()) {
      CompletableFuture<Response<Completion>> future = client.completeAsync(prompt("long", 500));
      assertThat(proxy.sim().recorder().await(r -> r.inFlight() == 1, Duration.ofSeconds(10))).isTrue();

      future.cancel(true);

      assertThat(proxy.sim().recorder().await(r -> r.cancelled() == 1, Duration.ofSeconds(10))).isTrue();
      assertThat(proxy.sim().recorder().completed()).isZero();
      assertThat(future).isCancelled();
    }
  }

  @Test
  void interruptingABlockedCompleteCancelsTheUpstreamGeneration() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1, c -> c.withInterTokenLatency(Duration.ofMillis(20)));
        LlmProxyClient client = proxy.client().build()) {
      CompletableFuture<Throwable> thrown = new CompletableFuture<>();
      CompletableFuture<Boolean> stillInterrupted = new CompletableFuture<>();
      Thread caller = new Thread(() -> {
        try {
          client.complete(prompt("long", 500));
          thrown.complete(null);
        } catch (RuntimeException e) {
          thrown.complete(e);
        }
        stillInterrupted.complete(Thread.currentThread().isInterrupted());
      });
      caller.start();
      assertThat(proxy.sim().recorder().await(r -> r.inFlight() == 1, Duration.ofSeconds(10))).isTrue();

      caller.interrupt();

      assertThat(thrown.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(LlmProxyException.class,
          e -> assertThat(e.code()).isEqualTo(Status.Code.CANCELLED));
      assertThat(stillInterrupted.get(10, TimeUnit.SECONDS)).isTrue();
      assertThat(proxy.sim().recorder().await(r -> r.cancelled() == 1, Duration.ofSeconds(10))).isTrue();
    }
  }

  @Test
  void closingTheClientCancelsItsCallsInFlight() throws Exception {
    try (ProxyHarness proxy = ProxyHarness.start(1, c -> c.withInterTokenLatency(Duration.ofMillis(20)))) {
      LlmProxyClient client = proxy.client().build();
      CompletionStream stream = client.stream(prompt("long", 500));
      stream.next();

      client.close();

      assertThat(proxy.sim().recorder().await(r -> r.cancelled() == 1, Duration.ofSeconds(10))).isTrue();
      assertThatThrownBy(() -> stream.forEachRemaining(c -> { })).isInstanceOf(LlmProxyException.class);
    }
  }
}
