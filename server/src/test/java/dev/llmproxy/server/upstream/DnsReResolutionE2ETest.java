package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A {@code dns:///} route whose name's answers change (a fake resolver stands in for DNS): a new
 * address takes calls within an interval, a removed one gets no new calls and its streams finish,
 * and a reload's on-demand refresh does not wait for the interval. Two simulated engines on the
 * same port of 127.0.0.1 and 127.0.0.2, as two pods behind a headless Service.
 */
@Timeout(90)
class DnsReResolutionE2ETest {
  private static final Metadata.Key<String> UPSTREAM = Metadata.Key.of("llmproxy-upstream",
      Metadata.ASCII_STRING_MARSHALLER);

  private final AtomicReference<List<InetAddress>> answers = new AtomicReference<>();
  private final AtomicInteger lookUps = new AtomicInteger();
  private SimulatedBackend engineA;
  private SimulatedBackend engineB;
  private Route route;

  @BeforeEach
  void startEngines() throws Exception {
    SimulatedBackendConfig timing = SimulatedBackendConfig.defaults("x").withInterTokenLatency(Duration.ofMillis(20))
        .withMaxConcurrency(0);
    engineA = SimulatedBackend.start("127.0.0.1", 0, timing.withName("engine-a"));
    engineB = SimulatedBackend.start("127.0.0.2", engineA.port(), timing.withName("engine-b"));
    answers.set(List.of(address("127.0.0.1")));
  }

  @AfterEach
  void stop() {
    if (route != null) {
      route.channel().shutdownNow();
    }
    engineA.close();
    engineB.close();
  }

  private static InetAddress address(String ip) throws UnknownHostException {
    return InetAddress.getByName(ip);
  }

  private Route route(String dnsRefresh) {
    RouteConfig config = new ConfigLoader().parse("routes: [{name: fleet, default: true, lb: round_robin, "
        + "target: \"dns:///engines.test:" + engineA.port() + "\", dns_refresh: " + dnsRefresh + "}]\n").routes().get(0);
    StaticNameResolver.HostResolver fakeDns = host -> {
      lookUps.incrementAndGet();
      if (!host.equals("engines.test")) {
        throw new UnknownHostException(host);
      }
      return answers.get();
    };
    UpstreamChannelFactory channels = new UpstreamChannelFactory(4 << 20, new SimpleMeterRegistry(), List.of(),
        UpstreamTransport.netty(), fakeDns);
    return channels.create(config, List.of());
  }

  private static CompletionRequest prompt(int tokens) {
    return CompletionRequest.newBuilder().setPrompt("hello").setMaxTokens(tokens).build();
  }

  /** The engine that served one unary call. */
  private String engineOfACall() {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    LlmProxyGrpc.newBlockingStub(route.channel())
        .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, new AtomicReference<>()))
        .withDeadlineAfter(10, TimeUnit.SECONDS).complete(prompt(1));
    return headers.get().get(UPSTREAM);
  }

  private Set<String> enginesOf(int calls) {
    Set<String> engines = new HashSet<>();
    for (int i = 0; i < calls; i++) {
      engines.add(engineOfACall());
    }
    return engines;
  }

  /** A stream and, once it ends, its status; the engine that serves it. */
  private record Stream(AtomicReference<Metadata> headers, AtomicInteger chunks, CompletableFuture<Status> end) {
    String engine() {
      return headers.get() == null ? null : headers.get().get(UPSTREAM);
    }
  }

  private Stream stream(int tokens) {
    Stream s = new Stream(new AtomicReference<>(), new AtomicInteger(), new CompletableFuture<>());
    LlmProxyGrpc.newStub(route.channel())
        .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(s.headers(), new AtomicReference<>()))
        .withDeadlineAfter(60, TimeUnit.SECONDS)
        .streamComplete(prompt(tokens), new StreamObserver<CompletionChunk>() {
          @Override public void onNext(CompletionChunk chunk) { s.chunks().incrementAndGet(); }
          @Override public void onError(Throwable t) { s.end().complete(Status.fromThrowable(t)); }
          @Override public void onCompleted() { s.end().complete(Status.OK); }
        });
    return s;
  }

  @Test
  void anAddedAddressTakesCallsAndARemovedOneDrainsOnTheInterval() throws Exception {
    route = route("200ms");
    assertThat(enginesOf(4)).containsExactly("engine-a");

    answers.set(List.of(address("127.0.0.1"), address("127.0.0.2")));
    // Within one interval (200 ms) on an idle machine; the bound allows for a loaded one.
    await().atMost(Duration.ofSeconds(10)).until(() -> "engine-b".equals(engineOfACall()));

    List<Stream> streams = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      streams.add(stream(100)); // about 2 s each
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> streams.stream().allMatch(s -> s.chunks().get() > 0));
    assertThat(streams).anyMatch(s -> "engine-a".equals(s.engine()));

    answers.set(List.of(address("127.0.0.2")));
    await().atMost(Duration.ofSeconds(10)).until(() -> enginesOf(6).equals(Set.of("engine-b")));
    for (Stream s : streams) {
      assertThat(s.end().get(60, TimeUnit.SECONDS).getCode()).as("a stream running when its engine left DNS")
          .isEqualTo(Status.Code.OK);
      assertThat(s.chunks().get()).isEqualTo(100);
    }
  }

  @Test
  void aRefreshOnDemandLooksTheNameUpWithoutWaitingForTheInterval() throws Exception {
    route = route("1h");
    assertThat(enginesOf(2)).containsExactly("engine-a");
    int before = lookUps.get();
    answers.set(List.of(address("127.0.0.2")));

    route.refreshNames();

    await().atMost(Duration.ofSeconds(10)).until(() -> "engine-b".equals(engineOfACall()));
    assertThat(lookUps.get()).isGreaterThan(before);
  }
}
