package dev.llmproxy.server;

import static dev.llmproxy.server.ProxyFixture.eventually;
import static dev.llmproxy.server.ProxyFixture.prompt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.sim.RecordedCall;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The proxy over real sockets in front of three simulated upstreams. */
@Timeout(60)
class LlmProxyE2ETest {

  private static Map<String, Integer> callsPerUpstream(ProxyFixture f) {
    Map<String, Integer> counts = new HashMap<>();
    for (SimulatedBackend sim : f.upstreams) {
      counts.put(sim.name(), sim.recorder().started());
    }
    return counts;
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
  void roundRobinSpreadsThreeHundredCallsWithinTenPercent() throws Exception {
    try (ProxyFixture f = ProxyFixture.start(3, LbPolicy.ROUND_ROBIN)) {
      warmUp(f);
      for (int i = 0; i < 300; i++) {
        f.blocking().complete(prompt("call " + i, 2));
      }
      assertThat(callsPerUpstream(f).values()).allSatisfy(n -> assertThat(n).isBetween(90, 110));
    }
  }

  @Test
  void leastOutstandingSendsFewerCallsToAnUpstreamTenTimesSlower() throws Exception {
    try (ProxyFixture f = ProxyFixture.start(3, LbPolicy.LEAST_OUTSTANDING,
        c -> c.withInterTokenLatency(Duration.ofMillis(2)), r -> r)) {
      warmUp(f);
      SimulatedBackend slow = f.upstreams.get(0);
      slow.setConfig(slow.config().withInterTokenLatency(Duration.ofMillis(20)));
      ExecutorService clients = Executors.newFixedThreadPool(6);
      try {
        List<CompletableFuture<Completion>> calls = new ArrayList<>();
        for (int i = 0; i < 150; i++) {
          int n = i;
          calls.add(CompletableFuture.supplyAsync(() -> f.blocking().complete(prompt("q" + n, 10)), clients));
        }
        CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(50, TimeUnit.SECONDS);
      } finally {
        clients.shutdownNow();
      }
      int slowCalls = slow.recorder().started();
      int fastCalls = Math.min(f.upstreams.get(1).recorder().started(), f.upstreams.get(2).recorder().started());
      assertThat(slowCalls).as(callsPerUpstream(f).toString()).isLessThan(fastCalls / 2);
    }
  }

  @Test
  void anUpstreamSetNotServingLeavesRotationWithinTwoSecondsAndReturns() throws Exception {
    try (ProxyFixture f = ProxyFixture.start(3, LbPolicy.LEAST_OUTSTANDING)) {
      warmUp(f);
      SimulatedBackend sick = f.upstreams.get(0);
      sick.setServing(false);
      long t0 = System.nanoTime();
      assertThat(eventually(Duration.ofSeconds(2), () -> {
        int before = sick.recorder().started();
        for (int i = 0; i < 20; i++) {
          f.blocking().complete(prompt("probe", 1));
        }
        return sick.recorder().started() == before;
      })).as("out of rotation after %d ms", (System.nanoTime() - t0) / 1_000_000).isTrue();

      sick.setServing(true);
      assertThat(eventually(Duration.ofSeconds(5), () -> {
        f.blocking().complete(prompt("probe", 1));
        return sick.recorder().started() > 0 && sick.recorder().calls().get(sick.recorder().calls().size() - 1)
            .startNanos() > t0;
      })).isTrue();
    }
  }

  @Test
  void aKilledUpstreamStopsReceivingCallsAndGetsThemAgainWhenItReturns() throws Exception {
    try (ProxyFixture f = ProxyFixture.start(3, LbPolicy.ROUND_ROBIN)) {
      warmUp(f);
      SimulatedBackend victim = f.upstreams.get(0);
      int port = victim.port();
      victim.close();
      // Within 2 s every call succeeds on the two survivors.
      assertThat(eventually(Duration.ofSeconds(2), () -> {
        try {
          for (int i = 0; i < 20; i++) {
            f.blocking().complete(prompt("after kill", 1));
          }
          return true;
        } catch (StatusRuntimeException e) {
          return false;
        }
      })).isTrue();

      SimulatedBackend revived = SimulatedBackend.start("127.0.0.1", port, victim.config());
      try {
        assertThat(eventually(Duration.ofSeconds(15), () -> {
          f.blocking().complete(prompt("after revival", 1));
          return revived.recorder().started() > 0;
        })).isTrue();
      } finally {
        revived.close();
      }
    }
  }

  @Test
  void aClientCancelReachesTheUpstreamWithin200Ms() throws Exception {
    try (ProxyFixture f = ProxyFixture.start(1, LbPolicy.ROUND_ROBIN,
        c -> c.withInterTokenLatency(Duration.ofMillis(20)), r -> r)) {
      CountDownLatch firstChunk = new CountDownLatch(1);
      AtomicReference<ClientCallStreamObserver<CompletionRequest>> call = new AtomicReference<>();
      f.async().streamComplete(prompt("a long answer", 2000), new ClientResponseObserver<CompletionRequest, CompletionChunk>() {
        @Override public void beforeStart(ClientCallStreamObserver<CompletionRequest> s) { call.set(s); }
        @Override public void onNext(CompletionChunk chunk) { firstChunk.countDown(); }
        @Override public void onError(Throwable t) {}
        @Override public void onCompleted() {}
      });
      assertThat(firstChunk.await(10, TimeUnit.SECONDS)).isTrue();
      long cancelledAt = System.nanoTime();
      call.get().cancel("user pressed stop", null);
      SimulatedBackend sim = f.upstreams.get(0);
      assertThat(sim.recorder().await(r -> r.cancelled() == 1, Duration.ofSeconds(5))).isTrue();
      long upstreamSawIt = sim.recorder().lastCall().endNanos();
      assertThat(TimeUnit.NANOSECONDS.toMillis(upstreamSawIt - cancelledAt)).isLessThan(200);
    }
  }

  @Test
  void theClientDeadlineReachesTheUpstream() throws Exception {
    try (ProxyFixture f = ProxyFixture.start(1, LbPolicy.ROUND_ROBIN,
        c -> c.withTimeToFirstToken(Duration.ofSeconds(3)), r -> r)) {
      SimulatedBackend sim = f.upstreams.get(0);
      assertThatThrownBy(() -> LlmProxyGrpc.newBlockingStub(f.channel)
          .withDeadlineAfter(700, TimeUnit.MILLISECONDS).complete(prompt("slow", 4)))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
      RecordedCall seen = sim.recorder().lastCall();
      assertThat(seen.deadlineRemainingAtStart()).isNotNull().isLessThanOrEqualTo(Duration.ofMillis(700));
      assertThat(sim.recorder().await(r -> r.cancelled() == 1, Duration.ofSeconds(2))).isTrue();
    }
  }

  @Test
  void aSlowReaderHoldsTheUpstreamBackThroughFlowControl() throws Exception {
    try (ProxyFixture f = ProxyFixture.start(1, LbPolicy.ROUND_ROBIN, c -> c,
        r -> r.withMaxTokens(8192, 256).withFlowControlWindow(16 << 10))) {
      ManagedChannel smallWindow = NettyChannelBuilder.forAddress("127.0.0.1", f.proxy.port())
          .usePlaintext().flowControlWindow(16 << 10).build();
      try {
        AtomicLong received = new AtomicLong();
        AtomicReference<ClientCallStreamObserver<CompletionRequest>> call = new AtomicReference<>();
        LlmProxyGrpc.newStub(smallWindow).streamComplete(prompt("flood", 5000),
            new ClientResponseObserver<CompletionRequest, CompletionChunk>() {
              @Override public void beforeStart(ClientCallStreamObserver<CompletionRequest> s) {
                call.set(s);
                s.disableAutoRequestWithInitial(1);
              }
              @Override public void onNext(CompletionChunk chunk) { received.incrementAndGet(); }
              @Override public void onError(Throwable t) {}
              @Override public void onCompleted() {}
            });
        // Read one chunk every 50 ms for a second and a half.
        for (int i = 0; i < 30; i++) {
          Thread.sleep(50);
          call.get().request(1);
        }
        RecordedCall upstream = f.upstreams.get(0).recorder().lastCall();
        int sentEarly = upstream.tokensSent();
        Thread.sleep(500);
        assertThat(upstream.outcome()).isEqualTo(RecordedCall.Outcome.IN_FLIGHT);
        assertThat(received.get()).isLessThanOrEqualTo(31);
        // The upstream is blocked: it has produced a bounded prefix and makes no progress while
        // the client does not read.
        assertThat(upstream.tokensSent()).isLessThan(4000).isEqualTo(sentEarly);
        call.get().cancel("done", null);
      } finally {
        smallWindow.shutdownNow();
      }
    }
  }

  @Test
  void anUpstreamFailureAfterTheFirstTokenReachesTheClientAsItsStatus() throws Exception {
    try (ProxyFixture f = ProxyFixture.start(1, LbPolicy.ROUND_ROBIN,
        c -> c.withFaults(c.faults().withFailAfterTokens(3, Status.Code.INTERNAL)), r -> r)) {
      List<CompletionChunk> chunks = new ArrayList<>();
      var stream = f.blocking().streamComplete(prompt("breaks", 10));
      assertThatThrownBy(() -> stream.forEachRemaining(chunks::add))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
            assertThat(e.getStatus().getDescription()).contains("failed after 3 chunks");
          });
      assertThat(chunks).hasSize(3);
    }
  }

  @Test
  void responsesNameTheUpstreamAndTheApiKeyIsNotForwarded() throws Exception {
    try (ProxyFixture f = ProxyFixture.start(1, LbPolicy.ROUND_ROBIN)) {
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), "secret");
      headers.put(Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER), "req-42");
      AtomicReference<Metadata> responseHeaders = new AtomicReference<>();
      f.blocking().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers),
          MetadataUtils.newCaptureMetadataInterceptor(responseHeaders, new AtomicReference<>()))
          .complete(prompt("who are you", 3));
      assertThat(responseHeaders.get().get(Metadata.Key.of("llmproxy-upstream", Metadata.ASCII_STRING_MARSHALLER)))
          .isEqualTo("sim-0");
      Metadata seen = f.upstreams.get(0).recorder().lastCall().headers();
      assertThat(seen.get(Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER))).isEqualTo("req-42");
      assertThat(seen.containsKey(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER))).isFalse();
    }
  }

  @Test
  void noHealthyUpstreamIsUnavailableNamingTheRoute() throws Exception {
    try (ProxyFixture f = ProxyFixture.start(1, LbPolicy.ROUND_ROBIN)) {
      f.upstreams.get(0).close();
      assertThatThrownBy(() -> f.blocking().complete(prompt("anyone?", 1)))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(e.getStatus().getDescription()).contains("route 'default'");
          });
    }
  }

  @Test
  void requestsOverTheSizeLimitAreResourceExhausted() throws Exception {
    try (ProxyFixture f = ProxyFixture.start(1, LbPolicy.ROUND_ROBIN)) {
      String huge = "x".repeat(f.proxy.config().server().maxRequestBytes() + 1);
      assertThatThrownBy(() -> f.blocking().complete(prompt(huge, 1)))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
      assertThat(f.upstreams.get(0).recorder().started()).isZero();
    }
  }

}
