package dev.llmproxy.server.quota;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.auth.ApiKeyConfig;
import dev.llmproxy.server.auth.AuthConfig;
import dev.llmproxy.server.config.CacheConfig;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.quota.memory.InMemoryQuotaStore;
import dev.llmproxy.server.upstream.RouteTable;
import dev.llmproxy.server.upstream.UpstreamChannelFactory;
import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The concurrency slot comes back however a call ends: OK, upstream error before or after the
 * first chunk, client cancel, deadline, and a call that goes away while its quota is being decided.
 * Each ending is followed by a check that nothing is held and that the next call gets the only slot.
 */
@Timeout(30)
class SlotReleaseInProcessTest {
  private static final String KEY = "secret-a";

  private final InMemoryQuotaStore memory = new InMemoryQuotaStore(new FakeClock());
  private final HeldQuotaStore store = new HeldQuotaStore(memory);
  private SimulatedBackend upstream;
  private RouteTable routes;
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    upstream = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("sim"));
    List<UpstreamEndpoint> endpoints = List.of(new UpstreamEndpoint("sim", upstream.address()));
    RouteConfig route = new RouteConfig("chat", List.of("*"), true, endpoints, null, null, LbPolicy.PICK_FIRST, 2,
        false, 4096, 16, RouteConfig.DEFAULT_FLOW_CONTROL_WINDOW, null);
    routes = new RouteTable(List.of(new UpstreamChannelFactory(4 << 20).create(route, endpoints)));
    AuthConfig auth = new AuthConfig("x-api-key",
        List.of(ApiKeyConfig.plaintextDevOnly("team-a", KEY, "one-at-a-time", List.of())), null);
    QuotaConfig quota = new QuotaConfig(QuotaStoreType.MEMORY, RedisStoreConfig.defaults(), List.of(
        new TierConfig("one-at-a-time", new QuotaLimits(Duration.ofMinutes(1), 0, 0, 1))));
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name)
        .addService(ProxyServer.proxyService(routes, ServerConfig.defaults(), CacheConfig.disabled(),
            AccessControl.of(auth, quota, store, meters), meters))
        .build().start();
    channel = InProcessChannelBuilder.forName(name).build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    routes.close();
    upstream.close();
  }

  private LlmProxyGrpc.LlmProxyBlockingStub blocking() {
    return LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(keyHeader()));
  }

  private LlmProxyGrpc.LlmProxyStub async() {
    return LlmProxyGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(keyHeader()));
  }

  private static Metadata keyHeader() {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), KEY);
    return headers;
  }

  private static CompletionRequest prompt(int maxTokens) {
    return CompletionRequest.newBuilder().setPrompt("slot test").setMaxTokens(maxTokens).build();
  }

  private static Status.Code codeOf(Runnable call) {
    try {
      call.run();
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
  }

  /** Nothing is held, and the only slot goes to the next call. */
  private void assertSlotFree() throws InterruptedException {
    assertThat(eventually(() -> memory.inFlight("team-a") == 0)).as("slot released").isTrue();
    upstream.setFaults(Faults.none());
    assertThat(codeOf(() -> blocking().complete(prompt(2)))).isEqualTo(Status.Code.OK);
    assertThat(memory.inFlight("team-a")).isZero();
  }

  private static boolean eventually(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return true;
      }
      Thread.sleep(5);
    }
    return condition.getAsBoolean();
  }

  @Test
  void releasedAfterAnOkUnaryCall() throws Exception {
    assertThat(codeOf(() -> blocking().complete(prompt(4)))).isEqualTo(Status.Code.OK);
    assertSlotFree();
  }

  @Test
  void releasedAfterAnOkStream() throws Exception {
    assertThat(codeOf(() -> blocking().streamComplete(prompt(4)).forEachRemaining(c -> { }))).isEqualTo(Status.Code.OK);
    assertSlotFree();
  }

  @Test
  void releasedWhenTheUpstreamFailsBeforeTheFirstChunk() throws Exception {
    upstream.setFaults(Faults.none().withFailRate(1.0, Status.Code.UNAVAILABLE));
    assertThat(codeOf(() -> blocking().complete(prompt(4)))).isEqualTo(Status.Code.UNAVAILABLE);
    assertSlotFree();
  }

  @Test
  void releasedWhenTheUpstreamFailsMidStream() throws Exception {
    upstream.setFaults(Faults.none().withFailAfterTokens(2, Status.Code.INTERNAL));
    assertThat(codeOf(() -> blocking().streamComplete(prompt(6)).forEachRemaining(c -> { })))
        .isEqualTo(Status.Code.INTERNAL);
    assertSlotFree();
  }

  @Test
  void releasedWhenTheClientCancelsMidStream() throws Exception {
    upstream.setFaults(Faults.none().withStallAfterTokens(2));
    CompletableFuture<Status> ended = new CompletableFuture<>();
    async().streamComplete(prompt(6), new ClientResponseObserver<CompletionRequest, CompletionChunk>() {
      private ClientCallStreamObserver<CompletionRequest> call;
      private int chunks;

      @Override
      public void beforeStart(ClientCallStreamObserver<CompletionRequest> requestStream) {
        call = requestStream;
      }

      @Override
      public void onNext(CompletionChunk chunk) {
        if (++chunks == 2) {
          call.cancel("the user closed the tab", null);
        }
      }

      @Override
      public void onError(Throwable t) {
        ended.complete(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        ended.complete(Status.OK);
      }
    });
    assertThat(ended.get(5, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
    assertSlotFree();
  }

  @Test
  void releasedWhenTheDeadlinePassesMidStream() throws Exception {
    upstream.setFaults(Faults.none().withStallAfterTokens(2));
    assertThat(codeOf(() -> blocking().withDeadlineAfter(300, TimeUnit.MILLISECONDS).streamComplete(prompt(6))
        .forEachRemaining(c -> { }))).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    assertSlotFree();
  }

  @Test
  void releasedWhenTheClientCancelsWhileItsQuotaIsBeingDecided() throws Exception {
    store.hold();
    CompletableFuture<Status> ended = new CompletableFuture<>();
    ClientCallStreamObserver<?>[] call = new ClientCallStreamObserver<?>[1];
    async().streamComplete(prompt(4), new ClientResponseObserver<CompletionRequest, CompletionChunk>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<CompletionRequest> requestStream) {
        call[0] = requestStream;
      }

      @Override
      public void onNext(CompletionChunk chunk) {
      }

      @Override
      public void onError(Throwable t) {
        ended.complete(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        ended.complete(Status.OK);
      }
    });
    assertThat(eventually(() -> store.heldCount() == 1)).isTrue();
    call[0].cancel("gave up waiting", null);
    assertThat(ended.get(5, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
    store.answerHeld(); // the store admits the call after it is gone
    assertThat(upstream.recorder().started()).isZero();
    assertSlotFree();
  }

  @Test
  void releasedWhenTheDeadlinePassesWhileItsQuotaIsBeingDecided() throws Exception {
    store.hold();
    CompletableFuture<Status.Code> ended = CompletableFuture.supplyAsync(() -> codeOf(() ->
        blocking().withDeadlineAfter(500, TimeUnit.MILLISECONDS).complete(prompt(4))));
    assertThat(eventually(() -> store.heldCount() == 1)).isTrue();
    assertThat(ended.get(5, TimeUnit.SECONDS)).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    store.answerHeld();
    assertThat(upstream.recorder().started()).isZero();
    assertSlotFree();
  }

  @Test
  void aStoreThatThrowsRefusesTheCallAsUnavailableInsteadOfLeavingItHanging() throws Exception {
    store.breakDown();
    assertThat(codeOf(() -> blocking().complete(prompt(4)))).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(upstream.recorder().started()).isZero();
  }

  /**
   * The in-memory store, except that answers can be held back to stand for a slow shared store,
   * and it can be made to fail.
   */
  private static final class HeldQuotaStore implements QuotaStore {
    private final QuotaStore delegate;
    private final ConcurrentLinkedQueue<Runnable> held = new ConcurrentLinkedQueue<>();
    private volatile boolean holding;
    private volatile boolean broken;

    HeldQuotaStore(QuotaStore delegate) {
      this.delegate = delegate;
    }

    void hold() {
      holding = true;
    }

    void breakDown() {
      broken = true;
    }

    int heldCount() {
      return held.size();
    }

    void answerHeld() {
      holding = false;
      Runnable answer;
      while ((answer = held.poll()) != null) {
        answer.run();
      }
    }

    @Override
    public CompletionStage<QuotaDecision> acquire(String subject, QuotaLimits limits, long tokens) {
      if (broken) {
        throw new IllegalStateException("store bug");
      }
      if (!holding) {
        return delegate.acquire(subject, limits, tokens);
      }
      CompletableFuture<QuotaDecision> later = new CompletableFuture<>();
      held.add(() -> delegate.acquire(subject, limits, tokens).whenComplete((d, e) -> later.complete(d)));
      return later;
    }

    @Override
    public void release(QuotaPermit permit, long usedTokens, boolean refundRequest) {
      delegate.release(permit, usedTokens, refundRequest);
    }

    @Override
    public void close() {
      delegate.close();
    }
  }
}
