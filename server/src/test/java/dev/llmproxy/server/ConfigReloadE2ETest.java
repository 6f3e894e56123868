package dev.llmproxy.server;

import static dev.llmproxy.server.ProxyFixture.prompt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.llmproxy.server.reload.FileConfigSource;
import dev.llmproxy.server.reload.ProxyRuntime;
import dev.llmproxy.server.reload.ReloadResult;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live reload over real sockets: new calls see the reloaded config at once, calls in flight finish
 * on the config they started with, and a bad file changes nothing.
 */
@Timeout(120)
class ConfigReloadE2ETest {
  private static final Metadata.Key<String> UPSTREAM = Metadata.Key.of("llmproxy-upstream",
      Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> API_KEY = Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER);
  private static final Duration STREAM_DEADLINE = Duration.ofSeconds(60);

  @TempDir Path dir;
  private Path file;
  private final List<SimulatedBackend> sims = new ArrayList<>();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private ProxyServer proxy;
  private ManagedChannel channel;

  @BeforeEach
  void startUpstreams() throws Exception {
    for (String name : List.of("gpu-a", "gpu-b")) {
      sims.add(SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults(name)
          .withTimeToFirstToken(Duration.ofMillis(5)).withInterTokenLatency(Duration.ofMillis(20))
          .withMaxConcurrency(0)));
    }
    file = dir.resolve("llmproxy.yaml");
  }

  @AfterEach
  void stop() {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (proxy != null) {
      proxy.close();
    }
    sims.forEach(SimulatedBackend::close);
  }

  private String upstreams(String... names) {
    return java.util.Arrays.stream(names)
        .map(n -> "      - {name: " + n + ", address: \"" + sim(n).address() + "\"}\n")
        .collect(Collectors.joining());
  }

  private SimulatedBackend sim(String name) {
    return sims.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
  }

  private static String config(String upstreams, String extra) {
    return "server: {host: 127.0.0.1, port: 0}\n"
        + "routes:\n  - name: chat\n    default: true\n    models: [m]\n    lb: round_robin\n"
        + "    upstreams:\n" + upstreams + extra;
  }

  private void start(String yaml) throws Exception {
    Files.writeString(file, yaml);
    FileConfigSource source = new FileConfigSource(file, c -> c);
    proxy = ProxyServer.start(source.load(), source, meters);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
  }

  private ReloadResult reload(String yaml) throws Exception {
    Files.writeString(file, yaml);
    return proxy.reload();
  }

  /** A unary call's upstream, as named in its response headers. */
  private String completeOn(String key) {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    Metadata sent = new Metadata();
    if (key != null) {
      sent.put(API_KEY, key);
    }
    LlmProxyGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(sent),
            MetadataUtils.newCaptureMetadataInterceptor(headers, new AtomicReference<>()))
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .complete(prompt("hello", 2));
    return headers.get().get(UPSTREAM);
  }

  private List<StreamProbe> startStreams(int count, int tokens) {
    List<StreamProbe> streams = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      streams.add(StreamProbe.start(channel, prompt("stream " + i, tokens), STREAM_DEADLINE));
    }
    return streams;
  }

  private static void assertAllComplete(List<StreamProbe> streams, int tokens) throws Exception {
    for (StreamProbe stream : streams) {
      StreamProbe.Result result = stream.await(STREAM_DEADLINE);
      assertThat(result.status().getCode()).as("a stream that was running during the reload").isEqualTo(Status.Code.OK);
      assertThat(result.chunks()).isEqualTo(tokens);
    }
  }

  @Test
  void aReloadAddingAnUpstreamTakesNewCallsWhileFiftyStreamsRunToCompletion() throws Exception {
    start(config(upstreams("gpu-a"), ""));
    int tokens = 150; // about 3 s a stream: they are still running when the reload lands
    List<StreamProbe> streams = startStreams(50, tokens);
    await().atMost(Duration.ofSeconds(20)).until(() -> streams.stream().allMatch(s -> s.chunks() > 0));
    ProxyRuntime old = proxy.runtime();

    ReloadResult result = reload(config(upstreams("gpu-a", "gpu-b"), ""));

    assertThat(result.applied()).as(result.describe()).isTrue();
    assertThat(old.callsInFlight()).as("streams still running on the old config").isPositive();
    // The behaviour target is well under a second; the bound is generous for a loaded machine.
    await().atMost(Duration.ofSeconds(10)).until(() -> "gpu-b".equals(completeOn(null)));
    assertAllComplete(streams, tokens);
    assertThat(streams).allMatch(s -> "gpu-a".equals(s.upstream()));
  }

  @Test
  void aReloadRemovingAnUpstreamDrainsItsStreamsAndSendsItNoNewCalls() throws Exception {
    start(config(upstreams("gpu-a", "gpu-b"), ""));
    await().atMost(Duration.ofSeconds(10)).until(() -> "gpu-b".equals(completeOn(null)));
    int tokens = 40;
    List<StreamProbe> streams = startStreams(20, tokens);
    await().atMost(Duration.ofSeconds(20)).until(() -> streams.stream().allMatch(s -> s.upstream() != null));
    assertThat(streams).anyMatch(s -> "gpu-b".equals(s.upstream()));
    ManagedChannel oldChannel = proxy.routes().routes().get(0).channel();
    ProxyRuntime old = proxy.runtime();

    assertThat(reload(config(upstreams("gpu-a"), "")).applied()).isTrue();

    Set<String> servedAfter = new HashSet<>();
    for (int i = 0; i < 10; i++) {
      servedAfter.add(completeOn(null));
    }
    assertThat(servedAfter).containsExactly("gpu-a");
    assertAllComplete(streams, tokens);
    // The retired generation's channel closes once its last call is done.
    await().atMost(Duration.ofSeconds(30)).until(old::closed);
    await().atMost(Duration.ofSeconds(30)).until(oldChannel::isTerminated);
    assertThat(proxy.routes().routes().get(0).channel()).isNotSameAs(oldChannel);
  }

  @Test
  void aBadReloadChangesNothingAndNamesTheError() throws Exception {
    start(config(upstreams("gpu-a"), ""));
    ProxyRuntime before = proxy.runtime();
    String hash = before.hash();

    ReloadResult bad = reload(config(upstreams("gpu-a", "gpu-b"), "").replace("round_robin", "rr"));
    ReloadResult unreadable = reload("routes: [");

    assertThat(bad.applied()).isFalse();
    assertThat(bad.error()).contains("routes[0].lb").contains("\"rr\"");
    assertThat(unreadable.applied()).isFalse();
    assertThat(unreadable.error()).contains("not valid YAML");
    assertThat(proxy.runtime()).isSameAs(before);
    assertThat(bad.hash()).isEqualTo(hash);
    assertThat(completeOn(null)).isEqualTo("gpu-a");
    assertThat(meters.get("llmproxy.config.reloads").tag("result", "error").counter().count()).isEqualTo(2);
    assertThat(meters.get("llmproxy.config.info").gauge().getId().getTag("hash")).isEqualTo(hash);
  }

  @Test
  void aKeyRevokedByAReloadIsRefusedAtOnce() throws Exception {
    String keys = "auth:\n  keys:\n    - {id: team-a, plaintext_dev_only: key-a}\n";
    start(config(upstreams("gpu-a"), keys + "    - {id: team-b, plaintext_dev_only: key-b}\n"));
    assertThat(completeOn("key-b")).isEqualTo("gpu-a");
    String hash = proxy.runtime().hash();

    assertThat(reload(config(upstreams("gpu-a"), keys)).applied()).isTrue();

    assertThatThrownBy(() -> completeOn("key-b")).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
    assertThat(completeOn("key-a")).isEqualTo("gpu-a");
    assertThat(proxy.runtime().hash()).isNotEqualTo(hash);
    assertThat(meters.get("llmproxy.config.reloads").tag("result", "success").counter().count()).isEqualTo(1);
  }

  @Test
  void aReloadThatChangesTheListenerSaysSoAndKeepsIt() throws Exception {
    start(config(upstreams("gpu-a"), ""));
    int port = proxy.port();

    ReloadResult result = reload(config(upstreams("gpu-a"), "").replace("port: 0", "port: 1"));

    assertThat(result.applied()).isTrue();
    assertThat(result.needsRestart()).anyMatch(s -> s.startsWith("server"));
    assertThat(proxy.config().server().port()).isZero();
    assertThat(proxy.port()).isEqualTo(port);
    assertThat(completeOn(null)).isEqualTo("gpu-a");
  }

  @Test
  void aReloadAppliesTheAccessLogTheLogAndTheSampleRatioAndSaysTheMetricsEndpointNeedsARestart() throws Exception {
    String before = "observability:\n  metrics: {port: 0}\n";
    start(config(upstreams("gpu-a"), before));

    ReloadResult result = reload(config(upstreams("gpu-a"), "observability:\n  metrics: {port: 1}\n"
        + "  access_log: true\n  log: {level: warn, format: json}\n"));

    assertThat(result.applied()).isTrue();
    assertThat(result.needsRestart()).containsExactly("observability.metrics (the endpoint)");
    assertThat(proxy.config().observability().metrics().port()).isZero();
    assertThat(proxy.config().observability().accessLog()).isTrue();
    assertThat(proxy.config().observability().log()).isEqualTo(new dev.llmproxy.server.config.ObservabilityConfig.Log(
        "warn", "json"));
    assertThat(completeOn(null)).isEqualTo("gpu-a");
  }

  @Test
  void aReloadChangingOnlyTheAccessLogNeedsNoRestart() throws Exception {
    start(config(upstreams("gpu-a"), ""));

    ReloadResult result = reload(config(upstreams("gpu-a"), "observability: {access_log: true}\n"));

    assertThat(result.needsRestart()).isEmpty();
    assertThat(proxy.config().observability().accessLog()).isTrue();
    assertThat(completeOn(null)).isEqualTo("gpu-a");
  }
}
