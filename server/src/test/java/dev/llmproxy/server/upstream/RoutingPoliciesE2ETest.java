package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import dev.llmproxy.v1.Message;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The routing policies through real proxies over loopback, with simulated backends as upstreams. */
class RoutingPoliciesE2ETest {
  private static final Metadata.Key<String> UPSTREAM = Metadata.Key.of("llmproxy-upstream", Metadata.ASCII_STRING_MARSHALLER);

  private final List<SimulatedBackend> sims = new ArrayList<>();
  private final List<ProxyServer> proxies = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();

  @AfterEach
  void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    proxies.forEach(ProxyServer::close);
    sims.forEach(SimulatedBackend::close);
  }

  /** The system prompt is longer than prefix_chars (1024), so the user turn is not hashed. */
  @Test
  void twoProxyReplicasSendTheSamePrefixToTheSameUpstream() throws Exception {
    startSims(4, null);
    LlmProxyGrpc.LlmProxyBlockingStub one = stub(startProxy("prefix_affinity", ""));
    LlmProxyGrpc.LlmProxyBlockingStub two = stub(startProxy("prefix_affinity", ""));

    Set<String> used = new HashSet<>();
    for (int tenant = 0; tenant < 12; tenant++) {
      String first = upstreamOf(one, chat(tenant, "hello"));
      // Another replica, another user turn, the same system prompt: the same upstream.
      assertThat(upstreamOf(two, chat(tenant, "something else entirely"))).isEqualTo(first);
      assertThat(upstreamOf(one, chat(tenant, "and a third question"))).isEqualTo(first);
      used.add(first);
    }
    assertThat(used).as("prefixes spread over the pool").hasSizeGreaterThan(1);
  }

  @ParameterizedTest
  @ValueSource(strings = {"least_outstanding", "round_robin", "peak_ewma", "prefix_affinity", "least_loaded"})
  void anEjectedUpstreamIsAvoidedUnderEveryPolicy(String policy) throws Exception {
    startSims(3, Faults.none().withFailRate(1.0, io.grpc.Status.Code.UNAVAILABLE));
    SimulatedBackend broken = sims.get(0);
    ProxyServer proxy = startProxy(policy, """
            retry: {attempts: 3, codes: [UNAVAILABLE]}
            outlier_detection: {consecutive_failures: 2, base_ejection_time: 5m, max_ejection_percent: 50}
        """);
    LlmProxyGrpc.LlmProxyBlockingStub stub = stub(proxy);
    Route route = proxy.routes().routes().get(0);

    int[] tenant = {0};
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      upstreamOf(stub, chat(tenant[0]++ % 12, "q")); // fails over to a healthy upstream
      return route.outliers().ejectedCount() == 1;
    });
    int triedBefore = broken.recorder().started();

    for (int i = 0; i < 36; i++) {
      assertThat(upstreamOf(stub, chat(i % 12, "after " + i))).isNotEqualTo(broken.name());
    }
    assertThat(broken.recorder().started()).isEqualTo(triedBefore);
  }

  /**
   * pick_first has one connection, so a call's failover goes to the same upstream: the route ejects
   * it (the calls fail meanwhile), and pick_first connects to the next upstream and stays there.
   */
  @Test
  void anEjectedUpstreamIsAvoidedUnderPickFirst() throws Exception {
    startSims(3, Faults.none().withFailRate(1.0, io.grpc.Status.Code.UNAVAILABLE));
    SimulatedBackend broken = sims.get(0);
    ProxyServer proxy = startProxy("pick_first", """
            retry: {attempts: 3, codes: [UNAVAILABLE]}
            outlier_detection: {consecutive_failures: 2, base_ejection_time: 5m, max_ejection_percent: 50}
        """, false);
    LlmProxyGrpc.LlmProxyBlockingStub stub = stub(proxy);
    Route route = proxy.routes().routes().get(0);

    await().atMost(Duration.ofSeconds(30)).until(() -> {
      try {
        upstreamOf(stub, chat(0, "q"));
      } catch (io.grpc.StatusRuntimeException e) {
        // fails while pick_first is connected to the broken upstream
      }
      return route.outliers().ejectedCount() == 1;
    });
    assertThat(route.outliers().isEjected(new java.net.InetSocketAddress("127.0.0.1", broken.port()))).isTrue();
    int triedBefore = broken.recorder().started();

    for (int i = 0; i < 12; i++) {
      assertThat(upstreamOf(stub, chat(i, "after " + i))).isNotEqualTo(broken.name());
    }
    assertThat(broken.recorder().started()).isEqualTo(triedBefore);
  }

  /**
   * The route's channel learns how its calls end by itself: calls made straight on it, with no relay
   * (and so no failover and nothing recorded by the service layer), eject the failing upstream.
   */
  @Test
  void aRoutesChannelEjectsAFailingUpstreamWithoutTheServiceLayer() throws Exception {
    startSims(3, Faults.none().withFailRate(1.0, io.grpc.Status.Code.UNAVAILABLE));
    SimulatedBackend broken = sims.get(0);
    dev.llmproxy.server.config.RouteConfig config = new ConfigLoader().parse(proxyYaml("round_robin", """
            outlier_detection: {consecutive_failures: 2, base_ejection_time: 5m, max_ejection_percent: 50}
        """)).routes().get(0);
    Route route = new UpstreamChannelFactory(4 << 20).create(config, config.upstreams());
    RouteTable table = new RouteTable(List.of(route));
    try {
      LlmProxyGrpc.LlmProxyBlockingStub direct = LlmProxyGrpc.newBlockingStub(route.channel());
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        try {
          direct.withDeadlineAfter(20, TimeUnit.SECONDS).complete(chat(0, "q"));
        } catch (io.grpc.StatusRuntimeException e) {
          // the broken upstream's answer
        }
        return route.outliers().ejectedCount() == 1;
      });
      int triedBefore = broken.recorder().started();

      for (int i = 0; i < 12; i++) {
        direct.withDeadlineAfter(20, TimeUnit.SECONDS).complete(chat(i, "after " + i));
      }
      assertThat(broken.recorder().started()).isEqualTo(triedBefore);
    } finally {
      table.close(5_000);
    }
  }

  private void startSims(int count, Faults firstFaults) throws Exception {
    for (int i = 0; i < count; i++) {
      SimulatedBackendConfig config = SimulatedBackendConfig.defaults("sim-" + i);
      if (i == 0 && firstFaults != null) {
        config = config.withFaults(firstFaults);
      }
      sims.add(SimulatedBackend.start(config));
    }
  }

  private ProxyServer startProxy(String policy, String extra) throws Exception {
    return startProxy(policy, extra, true);
  }

  /** @param awaitAll whether to wait until calls reached every healthy upstream (not under pick_first) */
  private ProxyServer startProxy(String policy, String extra, boolean awaitAll) throws Exception {
    ProxyServer proxy = ProxyServer.start(new ConfigLoader().parse(proxyYaml(policy, extra)));
    proxies.add(proxy);
    if (awaitAll) {
      awaitEveryHealthyUpstream(stub(proxy));
    }
    return proxy;
  }

  private String proxyYaml(String policy, String extra) {
    StringBuilder upstreams = new StringBuilder();
    for (SimulatedBackend sim : sims) {
      upstreams.append("\n      - {name: ").append(sim.name()).append(", address: \"").append(sim.address()).append("\"}");
    }
    return """
        server: {host: 127.0.0.1, port: 0}
        cache: {enabled: false}
        routes:
          - name: pool
            models: ["*"]
            default: true
            lb: %s
        %s
            upstreams:%s
        """.formatted(policy, extra, upstreams);
  }

  /**
   * Upstreams join a policy one by one as their health checks answer; until all have, a prefix's
   * upstream may be down the ring from where it will be. Varied prefixes reach every upstream once
   * every healthy one is in.
   */
  private void awaitEveryHealthyUpstream(LlmProxyGrpc.LlmProxyBlockingStub stub) {
    Set<String> healthy = new HashSet<>();
    for (SimulatedBackend sim : sims) {
      if (sim.config().faults().failRate() == 0) {
        healthy.add(sim.name());
      }
    }
    Set<String> seen = new HashSet<>();
    int[] probe = {0};
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
      seen.add(upstreamOf(stub, CompletionRequest.newBuilder().setPrompt("probe " + probe[0]++).setMaxTokens(1).build()));
      return seen.containsAll(healthy);
    });
  }

  private LlmProxyGrpc.LlmProxyBlockingStub stub(ProxyServer proxy) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
    channels.add(channel);
    return LlmProxyGrpc.newBlockingStub(channel);
  }

  private static String upstreamOf(LlmProxyGrpc.LlmProxyBlockingStub stub, CompletionRequest request) {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    stub.withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .complete(request);
    return headers.get().get(UPSTREAM);
  }

  private static CompletionRequest chat(int tenant, String question) {
    return CompletionRequest.newBuilder()
        .addMessages(Message.newBuilder().setRole("system")
            .setContent(("You are the assistant of tenant " + tenant + ". Answer briefly and politely. ").repeat(20)))
        .addMessages(Message.newBuilder().setRole("user").setContent(question))
        .setMaxTokens(4)
        .build();
  }
}
