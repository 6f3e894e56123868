package dev.llmproxy.server.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.CacheConfig;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.RetryPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.RouteResilience;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.upstream.Route;
import dev.llmproxy.server.upstream.RouteTable;
import dev.llmproxy.server.upstream.UpstreamChannelFactory;
import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The proxy service in-process over two simulated upstreams: failover settings and the drain gate. */
@Timeout(30)
class ResilienceInProcessTest {
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
  private final DrainingServerInterceptor drain = new DrainingServerInterceptor();
  private SimulatedBackend refusing;
  private SimulatedBackend healthy;
  private RouteTable routes;
  private Server server;
  private ManagedChannel channel;

  private LlmProxyGrpc.LlmProxyBlockingStub start(RouteResilience resilience) throws Exception {
    refusing = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("refusing"));
    healthy = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("healthy")
        .withTimeToFirstToken(Duration.ofMillis(300)));
    RouteConfig route = RouteConfig.forUpstreams(List.of(new UpstreamEndpoint("refusing", refusing.address()),
        new UpstreamEndpoint("healthy", healthy.address())), LbPolicy.ROUND_ROBIN).withResilience(resilience);
    routes = new RouteTable(List.of(new UpstreamChannelFactory(4 << 20).create(route, route.upstreams())));
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(ProxyServer.proxyService(routes, ServerConfig.defaults(), CacheConfig.disabled(), null, new SimpleMeterRegistry(), timers, drain,
            null))
        .build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    LlmProxyGrpc.LlmProxyBlockingStub stub = LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    // Both upstreams connected before one starts refusing, so round robin has both to choose from.
    for (int i = 0; i < 50 && (refusing.recorder().started() == 0 || healthy.recorder().started() == 0); i++) {
      stub.complete(request(1));
    }
    refusing.recorder().reset();
    healthy.recorder().reset();
    refusing.setFaults(Faults.none().withFailRate(1.0, Status.Code.UNAVAILABLE));
    return stub;
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    routes.close();
    refusing.close();
    healthy.close();
    timers.shutdownNow();
  }

  private static CompletionRequest request(int tokens) {
    return CompletionRequest.newBuilder().setPrompt("hello").setMaxTokens(tokens).build();
  }

  @Test
  void everyCallSucceedsWhenHalfTheUpstreamsRefuseBeforeTheFirstToken() throws Exception {
    LlmProxyGrpc.LlmProxyBlockingStub stub = start(RouteResilience.defaults());
    for (int i = 0; i < 6; i++) {
      assertThat(stub.complete(request(2)).getUsage().getCompletionTokens()).isEqualTo(2);
    }
    assertThat(refusing.recorder().started()).isPositive();
  }

  @Test
  void withOneAttemptTheRefusalReachesTheClientAsUnavailableNamingTheRoute() throws Exception {
    LlmProxyGrpc.LlmProxyBlockingStub stub = start(RouteResilience.defaults().withRetry(new RetryPolicy(1, Set.of())));
    int refused = 0;
    for (int i = 0; i < 6; i++) {
      try {
        stub.complete(request(2));
      } catch (StatusRuntimeException e) {
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(e.getStatus().getDescription()).contains("route 'default'");
        refused++;
      }
    }
    assertThat(refused).isEqualTo(refusing.recorder().started()).isPositive();
  }

  @Test
  void aDrainingServiceRefusesNewCallsButLetsTheOnesInFlightFinish() throws Exception {
    LlmProxyGrpc.LlmProxyBlockingStub stub = start(RouteResilience.defaults());
    CompletableFuture<Integer> inFlight = CompletableFuture.supplyAsync(
        () -> stub.complete(request(3)).getUsage().getCompletionTokens());
    assertThat(healthy.recorder().await(r -> r.inFlight() == 1, Duration.ofSeconds(5))).isTrue();
    assertThat(drain.inFlight()).isEqualTo(1);

    drain.startDraining();
    assertThatThrownBy(() -> stub.complete(request(1))).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(e.getStatus().getDescription()).isEqualTo("llmproxy is shutting down");
    });
    assertThat(drain.awaitIdle(Duration.ofSeconds(5))).isTrue();
    assertThat(inFlight.get(5, TimeUnit.SECONDS)).isEqualTo(3);
  }

  @Test
  void upstreamCallsAreStartedOutsideTheClientCallsContextButCarryItsDeadline() throws Exception {
    // grpc runs queued channel work (a health watch for a newly connected upstream, say) on whichever
    // thread calls into the channel next; started there in a client call's context, that work
    // would be cancelled when the call ends.
    healthy = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("only"));
    refusing = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("unused"));
    RouteConfig config = RouteConfig.forUpstreams(List.of(new UpstreamEndpoint("only", healthy.address())),
        LbPolicy.LEAST_OUTSTANDING);
    Route real = new UpstreamChannelFactory(4 << 20).create(config, config.upstreams());
    List<Context> contexts = new CopyOnWriteArrayList<>();
    List<Deadline> deadlines = new CopyOnWriteArrayList<>();
    ManagedChannel recording = new ManagedChannel() {
      @Override
      public <ReqT, RespT> ClientCall<ReqT, RespT> newCall(MethodDescriptor<ReqT, RespT> method, CallOptions options) {
        contexts.add(Context.current());
        deadlines.add(options.getDeadline());
        return real.channel().newCall(method, options);
      }

      @Override
      public String authority() {
        return real.channel().authority();
      }

      @Override
      public ManagedChannel shutdown() {
        return real.channel().shutdown();
      }

      @Override
      public boolean isShutdown() {
        return real.channel().isShutdown();
      }

      @Override
      public boolean isTerminated() {
        return real.channel().isTerminated();
      }

      @Override
      public ManagedChannel shutdownNow() {
        return real.channel().shutdownNow();
      }

      @Override
      public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return real.channel().awaitTermination(timeout, unit);
      }
    };
    routes = new RouteTable(List.of(new Route(config, recording, Map.of())));
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(ProxyServer.proxyService(routes, ServerConfig.defaults(), CacheConfig.disabled(), null, new SimpleMeterRegistry(), timers, drain,
            null))
        .build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();

    LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS).complete(request(1));

    assertThat(contexts).containsExactly(Context.ROOT);
    assertThat(deadlines).hasSize(1);
    assertThat(deadlines.get(0)).isNotNull();
    assertThat(deadlines.get(0).timeRemaining(TimeUnit.MILLISECONDS)).isBetween(1L, 5000L);
  }
}
