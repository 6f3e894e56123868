package dev.llmproxy.server.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.service.ProxyContext;
import dev.llmproxy.server.upstream.RouteTable;
import dev.llmproxy.server.upstream.UpstreamChannelFactory;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The observing interceptor outermost on the real proxy service, served in-process over a simulated upstream. */
@Timeout(30)
class CallObservingServerInterceptorInProcessTest {
  private static final Metadata.Key<String> CACHE =
      Metadata.Key.of("llmproxy-cache", Metadata.ASCII_STRING_MARSHALLER);

  /** Keeps what it is told; the fields of a closed call no longer change. */
  private static final class RecordingObserver implements CallObserver {
    final List<CallStats> closed = new CopyOnWriteArrayList<>();
    final AtomicInteger messages = new AtomicInteger();
    final CountDownLatch firstClose = new CountDownLatch(1);

    @Override
    public void onMessage(CallStats call) {
      messages.incrementAndGet();
    }

    @Override
    public void onClose(CallStats call) {
      closed.add(call);
      firstClose.countDown();
    }

    CallStats awaitOne() throws InterruptedException {
      assertThat(firstClose.await(10, TimeUnit.SECONDS)).isTrue();
      return closed.get(0);
    }
  }

  private SimulatedBackend upstream;
  private RouteTable routes;
  private Server server;
  private ManagedChannel channel;
  private final RecordingObserver observer = new RecordingObserver();
  /** Every read of the clock is one millisecond later than the last. */
  private final AtomicLong clock = new AtomicLong();

  private void start(ServerInterceptor... inner) throws Exception {
    upstream = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("chat-sim"));
    RouteConfig chat = RouteConfig.forUpstreams(List.of(new UpstreamEndpoint("chat-sim", upstream.address())),
        LbPolicy.PICK_FIRST).withModels(List.of("chat-model"));
    routes = new RouteTable(List.of(new UpstreamChannelFactory(4 << 20).create(chat, chat.upstreams())));
    ServerServiceDefinition service = ProxyServer.proxyService(routes, ServerConfig.defaults(), new SimpleMeterRegistry());
    service = ServerInterceptors.intercept(service, inner);
    CallObservingServerInterceptor observing = new CallObservingServerInterceptor(List.of(observer),
        () -> clock.addAndGet(1_000_000));
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(ServerInterceptors.intercept(service, observing)).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      routes.close();
      upstream.close();
    }
  }

  private LlmProxyGrpc.LlmProxyBlockingStub blocking() {
    return LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private static CompletionRequest request(String model, int maxTokens) {
    return CompletionRequest.newBuilder().setModel(model).setPrompt("secret prompt").setMaxTokens(maxTokens).build();
  }

  @Test
  void streamIsRecordedWithRouteUpstreamTokensAndTimeToFirstToken() throws Exception {
    start();
    Iterator<CompletionChunk> chunks = blocking().streamComplete(request("chat-model", 5));
    chunks.forEachRemaining(c -> { });

    CallStats call = observer.awaitOne();
    assertThat(call.method()).isEqualTo("StreamComplete");
    assertThat(call.streaming()).isTrue();
    assertThat(call.route()).isEqualTo("default");
    assertThat(call.upstream()).isEqualTo("chat-sim");
    assertThat(call.status()).isEqualTo(Status.Code.OK);
    assertThat(call.messages()).isEqualTo(5);
    assertThat(call.tokens()).isEqualTo(5);
    assertThat(observer.messages.get()).isEqualTo(5);
    // Clock reads: start, first message, close; one millisecond apart.
    assertThat(call.timeToFirstMessageNanos()).isEqualTo(Duration.ofMillis(1).toNanos());
    assertThat(call.durationNanos()).isEqualTo(Duration.ofMillis(2).toNanos());
    assertThat(call.keyId()).isEqualTo(CallStats.NONE);
    assertThat(call.cache()).isEqualTo(CallStats.NONE);
  }

  @Test
  void unaryCallTakesItsTokensFromTheCompletionsUsage() throws Exception {
    start();
    blocking().complete(request("chat-model", 7));

    CallStats call = observer.awaitOne();
    assertThat(call.method()).isEqualTo("Complete");
    assertThat(call.streaming()).isFalse();
    assertThat(call.messages()).isEqualTo(1);
    assertThat(call.tokens()).isEqualTo(7);
    assertThat(call.upstream()).isEqualTo("chat-sim");
  }

  @Test
  void callRejectedBeforeRoutingIsRecordedWithoutRouteOrUpstream() throws Exception {
    start();
    assertThatThrownBy(() -> blocking().complete(request("no-such-model", 4)))
        .hasMessageContaining("NOT_FOUND");

    CallStats call = observer.awaitOne();
    assertThat(call.status()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(call.route()).isEqualTo(CallStats.NONE);
    assertThat(call.upstream()).isEqualTo(CallStats.NONE);
    assertThat(call.timeToFirstMessageNanos()).isEqualTo(-1);
  }

  @Test
  void keyIdSetInTheContextByAnInnerInterceptorIsRecorded() throws Exception {
    ServerInterceptor authentication = new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
          ServerCallHandler<ReqT, RespT> next) {
        return Contexts.interceptCall(Context.current().withValue(ProxyContext.API_KEY_ID, "team-a"),
            call, headers, next);
      }
    };
    start(authentication);
    blocking().complete(request("chat-model", 2));

    assertThat(observer.awaitOne().keyId()).isEqualTo("team-a");
  }

  @Test
  void cacheStatusIsReadFromTheResponseHeaders() throws Exception {
    ServerInterceptor cacheHeader = new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
          ServerCallHandler<ReqT, RespT> next) {
        return next.startCall(new SimpleForwardingServerCall<>(call) {
          @Override
          public void sendHeaders(Metadata responseHeaders) {
            responseHeaders.put(CACHE, "miss");
            super.sendHeaders(responseHeaders);
          }
        }, headers);
      }
    };
    start(cacheHeader);
    blocking().complete(request("chat-model", 2));

    assertThat(observer.awaitOne().cache()).isEqualTo("miss");
  }

  @Test
  void streamTheClientCancelsIsRecordedOnceAsCancelled() throws Exception {
    start();
    upstream.setConfig(upstream.config().withInterTokenLatency(Duration.ofMillis(50)));
    CountDownLatch firstChunk = new CountDownLatch(1);
    LlmProxyGrpc.newStub(channel).streamComplete(request("chat-model", 200),
        new ClientResponseObserver<CompletionRequest, CompletionChunk>() {
          ClientCallStreamObserver<CompletionRequest> requestStream;

          @Override
          public void beforeStart(ClientCallStreamObserver<CompletionRequest> stream) {
            requestStream = stream;
          }

          @Override
          public void onNext(CompletionChunk chunk) {
            firstChunk.countDown();
            requestStream.cancel("user pressed stop", null);
          }

          @Override
          public void onError(Throwable t) { }

          @Override
          public void onCompleted() { }
        });
    assertThat(firstChunk.await(10, TimeUnit.SECONDS)).isTrue();

    CallStats call = observer.awaitOne();
    assertThat(call.status()).isEqualTo(Status.Code.CANCELLED);
    assertThat(upstream.recorder().await(r -> r.cancelled() == 1, Duration.ofSeconds(10))).isTrue();
    assertThat(observer.closed).hasSize(1);
  }
}
