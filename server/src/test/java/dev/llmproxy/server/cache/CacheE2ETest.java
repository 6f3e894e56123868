package dev.llmproxy.server.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.CacheConfig;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.sim.CallRecorder;
import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The cache through the real server on loopback sockets, over a simulated backend that counts its calls. */
@Timeout(60)
class CacheE2ETest {
  private SimulatedBackend upstream;
  private ProxyServer proxy;
  private ManagedChannel channel;
  private CacheClient client;

  private void start(UnaryOperator<SimulatedBackendConfig> sim) throws Exception {
    upstream = SimulatedBackend.start("127.0.0.1", 0, sim.apply(SimulatedBackendConfig.defaults("sim-0")));
    ProxyConfig config = new ProxyConfig(ServerConfig.defaults().withAddress("127.0.0.1", 0),
        List.of(RouteConfig.forUpstreams(List.of(new UpstreamEndpoint("sim-0", upstream.address())),
            LbPolicy.ROUND_ROBIN))).withCache(CacheConfig.defaults());
    proxy = ProxyServer.start(config, new SimpleMeterRegistry());
    channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
    client = new CacheClient(channel);
  }

  @AfterEach
  void stop() {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (proxy != null) {
      proxy.close();
    }
    if (upstream != null) {
      upstream.close();
    }
  }

  private static CompletionRequest seeded(String prompt, long seed, int maxTokens) {
    return CompletionRequest.newBuilder().setPrompt(prompt).setSeed(seed).setMaxTokens(maxTokens).build();
  }

  private CallRecorder calls() {
    return upstream.recorder();
  }

  @Test
  void completeMissIsReplayedToStreamAndStreamMissToComplete() throws Exception {
    start(c -> c);
    CompletionRequest a = seeded("cache me", 1, 12);
    CacheClient.Answer<Completion> whole = client.complete(a);
    CacheClient.Answer<List<CompletionChunk>> replayed = client.stream(a);
    assertThat(whole.cache()).isEqualTo("miss");
    assertThat(whole.upstream()).isEqualTo("sim-0");
    assertThat(replayed.cache()).isEqualTo("hit");
    assertThat(replayed.upstream()).isNull();
    assertThat(CacheClient.text(replayed.value())).isEqualTo(whole.value().getText()).isNotEmpty();
    CompletionChunk last = replayed.value().get(replayed.value().size() - 1);
    assertThat(last.getUsage()).isEqualTo(whole.value().getUsage());
    assertThat(last.getFinishReason()).isEqualTo(whole.value().getFinishReason());

    CompletionRequest b = seeded("and me", 2, 12);
    CacheClient.Answer<List<CompletionChunk>> stream = client.stream(b);
    CacheClient.Answer<Completion> joined = client.complete(b);
    assertThat(stream.cache()).isEqualTo("miss");
    assertThat(joined.cache()).isEqualTo("hit");
    assertThat(joined.value().getText()).isEqualTo(CacheClient.text(stream.value()));
    assertThat(joined.value().getId()).isEqualTo(stream.value().get(0).getId());
    assertThat(joined.value().getUsage()).isEqualTo(stream.value().get(11).getUsage());
    assertThat(joined.value().getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);

    assertThat(calls().started()).isEqualTo(2);
  }

  @Test
  void hundredConcurrentIdenticalStreamsMakeOneUpstreamCallAndAllGetTheWholeAnswer() throws Exception {
    start(c -> c.withTimeToFirstToken(Duration.ofMillis(300)).withInterTokenLatency(Duration.ofMillis(5)));
    CompletionRequest request = seeded("one for all", 3, 20);
    List<CompletableFuture<CacheClient.Answer<List<CompletionChunk>>>> streams = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      streams.add(collect(request, null));
    }
    List<CacheClient.Answer<List<CompletionChunk>>> answers = new ArrayList<>();
    for (var s : streams) {
      answers.add(s.get(30, TimeUnit.SECONDS));
    }

    assertThat(calls().started()).isEqualTo(1);
    List<CompletionChunk> first = answers.get(0).value();
    assertThat(first).hasSize(20);
    assertThat(first.get(19).getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    for (var answer : answers) {
      assertThat(answer.value()).isEqualTo(first);
    }
    assertThat(answers).filteredOn(a -> "miss".equals(a.cache())).hasSize(1);
    assertThat(answers).filteredOn(a -> "coalesced".equals(a.cache())).isNotEmpty();
  }

  @Test
  void aLateJoinerGetsTheChunksAlreadyProducedThenTheRest() throws Exception {
    start(c -> c.withInterTokenLatency(Duration.ofMillis(40)));
    CompletionRequest request = seeded("join late", 4, 30);
    List<CompletionChunk> seenByLeader = Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<CacheClient.Answer<List<CompletionChunk>>> leader = collect(request, seenByLeader::add);
    awaitCondition(() -> seenByLeader.size() >= 5);

    CacheClient.Answer<List<CompletionChunk>> late = client.stream(request);
    List<CompletionChunk> leaders = leader.get(20, TimeUnit.SECONDS).value();
    assertThat(late.cache()).isEqualTo("coalesced");
    assertThat(late.upstream()).isEqualTo("sim-0");
    assertThat(late.value()).hasSize(30).isEqualTo(leaders);
    assertThat(calls().started()).isEqualTo(1);
  }

  @Test
  void theLeaderCancellingDoesNotBreakTheFollowers() throws Exception {
    start(c -> c.withInterTokenLatency(Duration.ofMillis(30)));
    CompletionRequest request = seeded("leader leaves", 5, 40);
    Watched leader = watch(request);
    awaitCondition(() -> leader.seen.size() >= 2);
    CompletableFuture<CacheClient.Answer<List<CompletionChunk>>> follower = collect(request, null);
    awaitCondition(() -> leader.seen.size() >= 5);
    leader.call.get().cancel("the leader goes away", null);

    assertThat(leader.end.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
    CacheClient.Answer<List<CompletionChunk>> followed = follower.get(20, TimeUnit.SECONDS);
    assertThat(followed.cache()).isEqualTo("coalesced");
    assertThat(followed.value()).hasSize(40);
    assertThat(followed.value().get(39).getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(calls().await(r -> r.completed() == 1, Duration.ofSeconds(5))).isTrue();
    assertThat(calls().cancelled()).isZero();

    CacheClient.Answer<List<CompletionChunk>> again = client.stream(request);
    assertThat(again.cache()).isEqualTo("hit");
    assertThat(again.value()).isEqualTo(followed.value());
    assertThat(calls().started()).isEqualTo(1);
  }

  @Test
  void whenEveryClientHasGoneTheUpstreamCallIsCancelledAndNothingIsStored() throws Exception {
    start(c -> c.withInterTokenLatency(Duration.ofMillis(30)));
    CompletionRequest request = seeded("everyone leaves", 6, 100);
    Watched first = watch(request);
    awaitCondition(() -> first.seen.size() >= 2);
    Watched second = watch(request);
    awaitCondition(() -> second.seen.size() >= 4);
    first.call.get().cancel("bye", null);
    assertThat(first.end.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
    int before = upstreamTokens();
    awaitCondition(() -> upstreamTokens() > before + 2); // the upstream call goes on for the second client
    assertThat(calls().cancelled()).isZero();

    second.call.get().cancel("bye too", null);
    assertThat(calls().await(r -> r.cancelled() == 1, Duration.ofSeconds(10))).isTrue();

    CacheClient.Answer<Completion> after = client.complete(request);
    assertThat(after.cache()).isEqualTo("miss");
    assertThat(calls().started()).isEqualTo(2);
  }

  @Test
  void theOnlyClientsDeadlineCancelsTheUpstreamCallAndNothingIsStored() throws Exception {
    start(c -> c.withInterTokenLatency(Duration.ofMillis(20)));
    CompletionRequest request = seeded("too slow", 8, 200);
    client.complete(seeded("warm up the connections", 9, 1));
    assertThatThrownBy(() -> LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.SECONDS)
        .streamComplete(request).forEachRemaining(c -> { }))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    assertThat(calls().await(r -> r.cancelled() == 1, Duration.ofSeconds(10))).as("%s", calls()).isTrue();

    upstream.setConfig(upstream.config().withInterTokenLatency(Duration.ZERO));
    assertThat(client.stream(request).cache()).isEqualTo("miss");
    assertThat(calls().started()).isEqualTo(3);
  }

  @Test
  void anUpstreamFailureReachesEveryFollowerAndNothingIsStored() throws Exception {
    start(c -> c.withInterTokenLatency(Duration.ofMillis(30))
        .withFaults(Faults.none().withFailAfterTokens(8, Status.Code.UNAVAILABLE)));
    CompletionRequest request = seeded("doomed", 7, 30);
    List<CompletionChunk> seenByLeader = Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<CacheClient.Answer<List<CompletionChunk>>> leader = collect(request, seenByLeader::add);
    awaitCondition(() -> seenByLeader.size() >= 2);
    CompletableFuture<CacheClient.Answer<List<CompletionChunk>>> follower = collect(request, null);
    CompletableFuture<Completion> unaryFollower = CompletableFuture.supplyAsync(
        () -> client.complete(request).value());

    for (CompletableFuture<?> call : List.of(leader, follower, unaryFollower)) {
      assertThatThrownBy(() -> call.get(20, TimeUnit.SECONDS))
          .hasCauseInstanceOf(StatusRuntimeException.class)
          .satisfies(e -> assertThat(Status.fromThrowable(e.getCause()).getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    }
    assertThat(seenByLeader).hasSize(8);
    assertThat(calls().started()).isEqualTo(1);

    upstream.setFaults(Faults.none());
    CacheClient.Answer<List<CompletionChunk>> retry = client.stream(request);
    assertThat(retry.cache()).isEqualTo("miss");
    assertThat(retry.value()).hasSize(30);
    assertThat(calls().started()).isEqualTo(2);
  }

  private int upstreamTokens() {
    return calls().lastCall().tokensSent();
  }

  /** A stream the test can cancel, with what it has received and how it ended. */
  private static final class Watched {
    final AtomicReference<ClientCallStreamObserver<CompletionRequest>> call = new AtomicReference<>();
    final List<CompletionChunk> seen = Collections.synchronizedList(new ArrayList<>());
    final CompletableFuture<Status> end = new CompletableFuture<>();
  }

  private Watched watch(CompletionRequest request) {
    Watched w = new Watched();
    LlmProxyGrpc.newStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).streamComplete(request,
        new ClientResponseObserver<CompletionRequest, CompletionChunk>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<CompletionRequest> call) {
            w.call.set(call);
          }

          @Override
          public void onNext(CompletionChunk chunk) {
            w.seen.add(chunk);
          }

          @Override
          public void onError(Throwable t) {
            w.end.complete(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            w.end.complete(Status.OK);
          }
        });
    return w;
  }

  /** Starts a stream and completes with everything it received, or fails with its status. */
  private CompletableFuture<CacheClient.Answer<List<CompletionChunk>>> collect(CompletionRequest request,
      java.util.function.Consumer<CompletionChunk> onEach) {
    CompletableFuture<CacheClient.Answer<List<CompletionChunk>>> done = new CompletableFuture<>();
    AtomicReference<Metadata> headers = new AtomicReference<>();
    List<CompletionChunk> chunks = Collections.synchronizedList(new ArrayList<>());
    LlmProxyGrpc.newStub(channel)
        .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, new AtomicReference<>()))
        .withDeadlineAfter(30, TimeUnit.SECONDS)
        .streamComplete(request, new io.grpc.stub.StreamObserver<>() {
          @Override
          public void onNext(CompletionChunk chunk) {
            chunks.add(chunk);
            if (onEach != null) {
              onEach.accept(chunk);
            }
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            done.complete(new CacheClient.Answer<>(List.copyOf(chunks), headers.get()));
          }
        });
    return done;
  }

  private static void awaitCondition(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not reached in 20 s");
      }
      Thread.sleep(5);
    }
  }
}
