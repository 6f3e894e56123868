package dev.llmproxy.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.llmproxy.server.reload.FileConfigSource;
import dev.llmproxy.server.reload.ReloadResult;
import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
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
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fallbacks between routes over real sockets: a call whose route's pool is all down or shedding is
 * served by the route's fallback before its first chunk, says so in {@code llmproxy-route}, and is
 * counted once by its quota; after the first chunk a call stays where it is. Also the model sent
 * upstream ({@code upstream_model}), aliases on gRPC routes, and a model split over two routes.
 */
@Timeout(120)
class BetweenPoolsE2ETest {
  private static final Metadata.Key<String> ROUTE = Metadata.Key.of("llmproxy-route", Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> UPSTREAM =
      Metadata.Key.of("llmproxy-upstream", Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> API_KEY = Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER);

  @TempDir Path dir;
  private final List<SimulatedBackend> sims = new ArrayList<>();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private Path file;
  private ProxyServer proxy;
  private ManagedChannel channel;

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

  private SimulatedBackend sim(String name, Duration itl) throws Exception {
    SimulatedBackend backend = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults(name)
        .withTimeToFirstToken(Duration.ofMillis(5)).withInterTokenLatency(itl).withMaxConcurrency(0));
    sims.add(backend);
    return backend;
  }

  private SimulatedBackend sim(String name) throws Exception {
    return sim(name, Duration.ofMillis(5));
  }

  /** A backend's address with nothing listening on it any more: connections are refused. */
  private String deadAddress(String name) throws Exception {
    SimulatedBackend backend = sim(name);
    backend.close();
    backend.awaitTermination();
    return backend.address();
  }

  private void start(String yaml) throws Exception {
    file = dir.resolve("llmproxy.yaml");
    Files.writeString(file, yaml);
    FileConfigSource source = new FileConfigSource(file, c -> c);
    proxy = ProxyServer.start(source.load(), source, meters);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
  }

  private static String upstream(String name, String address) {
    return "      - {name: " + name + ", address: \"" + address + "\"}\n";
  }

  private static CompletionRequest request(String model, int maxTokens) {
    return CompletionRequest.newBuilder().setModel(model).setPrompt("hello").setMaxTokens(maxTokens).build();
  }

  /** Response headers of a unary call to {@code model}, with {@code key} if not null. */
  private Metadata complete(String model, String key) {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    Metadata sent = new Metadata();
    if (key != null) {
      sent.put(API_KEY, key);
    }
    LlmProxyGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(sent),
            MetadataUtils.newCaptureMetadataInterceptor(headers, new AtomicReference<>()))
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .complete(request(model, 3));
    return headers.get();
  }

  @Test
  void aCallWhosePoolIsAllDownIsServedByTheFallbackAndChargedOnce() throws Exception {
    SimulatedBackend backup = sim("backup-0");
    start("server: {host: 127.0.0.1, port: 0}\n"
        + "routes:\n"
        + "  - name: primary\n    models: [chat]\n    fallbacks: [backup]\n    health_check: false\n"
        + "    upstreams:\n" + upstream("dead-0", deadAddress("dead-0")) + upstream("dead-1", deadAddress("dead-1"))
        + "  - name: backup\n    models: [chat-backup]\n    upstream_model: backup-model\n"
        + "    upstreams:\n" + upstream("backup-0", backup.address())
        + "auth:\n  keys:\n    - {id: one-shot, plaintext_dev_only: key-1, tier: once}\n"
        + "quota:\n  tiers:\n    - {name: once, requests: 1}\n");

    Metadata headers = complete("chat", "key-1");

    assertThat(headers.get(ROUTE)).isEqualTo("backup");
    assertThat(headers.get(UPSTREAM)).isEqualTo("backup-0");
    assertThat(backup.recorder().lastCall().request().getModel()).as("the fallback's upstream_model")
        .isEqualTo("backup-model");
    // The key's one request was charged once, by the one pass through the quota stage: the next is refused.
    assertThatThrownBy(() -> complete("chat", "key-1")).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
  }

  @Test
  void aCallWhosePoolIsSheddingLoadIsServedByTheFallback() throws Exception {
    SimulatedBackend main = sim("main-0", Duration.ofMillis(50));
    SimulatedBackend backup = sim("backup-0");
    start("server: {host: 127.0.0.1, port: 0}\n"
        + "routes:\n"
        + "  - name: primary\n    models: [chat]\n    fallbacks: [backup]\n    max_in_flight: 1\n"
        + "    upstreams:\n" + upstream("main-0", main.address())
        + "  - name: backup\n    models: [chat-backup]\n"
        + "    upstreams:\n" + upstream("backup-0", backup.address()));
    Stream holder = Stream.start(channel, request("chat", 2000));
    await().atMost(Duration.ofSeconds(20)).until(() -> holder.chunks.get() > 0);
    assertThat(holder.headers.get().get(ROUTE)).isEqualTo("primary");

    Metadata headers = complete("chat", null);

    assertThat(headers.get(ROUTE)).isEqualTo("backup");
    assertThat(headers.get(UPSTREAM)).isEqualTo("backup-0");
    holder.call.cancel("done", null);
  }

  @Test
  void aCallThatFailsAfterItsFirstChunkDoesNotFallBack() throws Exception {
    SimulatedBackend main = sim("main-0");
    main.setFaults(new Faults(0, Status.Code.UNAVAILABLE, 2, Status.Code.UNAVAILABLE, -1));
    SimulatedBackend backup = sim("backup-0");
    start("server: {host: 127.0.0.1, port: 0}\n"
        + "routes:\n"
        + "  - name: primary\n    models: [chat]\n    fallbacks: [backup]\n"
        + "    upstreams:\n" + upstream("main-0", main.address())
        + "  - name: backup\n    models: [chat-backup]\n"
        + "    upstreams:\n" + upstream("backup-0", backup.address()));

    Stream stream = Stream.start(channel, request("chat", 20));
    Status status = stream.status.get(30, TimeUnit.SECONDS);

    assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(stream.chunks.get()).isEqualTo(2);
    assertThat(stream.headers.get().get(ROUTE)).isEqualTo("primary");
    assertThat(backup.recorder().started()).as("calls the fallback got").isZero();
  }

  @Test
  void aliasesReachOneRouteWhichSendsItsUpstreamModel() throws Exception {
    SimulatedBackend main = sim("main-0");
    start("server: {host: 127.0.0.1, port: 0}\n"
        + "routes:\n"
        + "  - name: llama\n    models: [llama-3-70b, llama-latest]\n    upstream_model: meta/llama-3-70b-instruct\n"
        + "    upstreams:\n" + upstream("main-0", main.address()));

    for (String alias : List.of("llama-3-70b", "llama-latest")) {
      assertThat(complete(alias, null).get(ROUTE)).isEqualTo("llama");
      assertThat(main.recorder().lastCall().request().getModel()).isEqualTo("meta/llama-3-70b-instruct");
    }
  }

  @Test
  void aReloadThatAddsAFallbackTakesEffect() throws Exception {
    SimulatedBackend backup = sim("backup-0");
    String dead = deadAddress("dead-0");
    String routes = "  - name: primary\n    models: [chat]\n    health_check: false\n%s"
        + "    upstreams:\n" + upstream("dead-0", dead)
        + "  - name: backup\n    models: [chat-backup]\n"
        + "    upstreams:\n" + upstream("backup-0", backup.address());
    start("server: {host: 127.0.0.1, port: 0}\nroutes:\n" + routes.formatted(""));
    assertThatThrownBy(() -> complete("chat", null)).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));

    Files.writeString(file, "server: {host: 127.0.0.1, port: 0}\nroutes:\n"
        + routes.formatted("    fallbacks: [backup]\n"));
    ReloadResult result = proxy.reload();

    assertThat(result.applied()).as(result.describe()).isTrue();
    assertThat(complete("chat", null).get(ROUTE)).isEqualTo("backup");
  }

  private String splitConfig(String sticky) throws Exception {
    SimulatedBackend v1 = sim("v1-0");
    SimulatedBackend v2 = sim("v2-0");
    return "server: {host: 127.0.0.1, port: 0}\n"
        + "routes:\n"
        + "  - name: llama-v1\n    models: [llama-v1]\n    upstreams:\n" + upstream("v1-0", v1.address())
        + "  - name: llama-v2\n    models: [llama-v2]\n    upstreams:\n" + upstream("v2-0", v2.address())
        + "splits:\n  - model: llama\n    sticky: " + sticky + "\n"
        + "    routes: [{route: llama-v1, weight: 1}, {route: llama-v2, weight: 1}]\n"
        + "auth:\n  anonymous_tier: free\n  keys:\n"
        + "    - {id: team-a, plaintext_dev_only: key-a, models: [llama]}\n"
        + "    - {id: team-b, plaintext_dev_only: key-b}\n    - {id: team-c, plaintext_dev_only: key-c}\n"
        + "    - {id: team-d, plaintext_dev_only: key-d}\n    - {id: team-e, plaintext_dev_only: key-e}\n"
        + "quota:\n  tiers:\n    - {name: free, requests: 100000}\n";
  }

  @Test
  void aSplitModelIsServedByEachOfItsRoutes() throws Exception {
    start(splitConfig("none"));

    java.util.Set<String> served = new java.util.HashSet<>();
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      served.add(complete("llama", null).get(ROUTE));
      return served.size() == 2;
    });
    assertThat(served).containsExactlyInAnyOrder("llama-v1", "llama-v2");
  }

  @Test
  void aStickySplitKeepsEachKeyOnOneRoute() throws Exception {
    start(splitConfig("api_key"));

    java.util.Set<String> firstRoutes = new java.util.HashSet<>();
    for (String key : List.of("key-a", "key-b", "key-c", "key-d", "key-e")) {
      String first = complete("llama", key).get(ROUTE);
      firstRoutes.add(first);
      for (int i = 0; i < 5; i++) {
        assertThat(complete("llama", key).get(ROUTE)).as(key).isEqualTo(first);
      }
    }
    assertThat(firstRoutes).as("the keys' routes: spread").containsExactlyInAnyOrder("llama-v1", "llama-v2");
  }

  /** A streamed call that records its headers, chunks and status. */
  private static final class Stream extends ClientCall.Listener<CompletionChunk> {
    final AtomicReference<Metadata> headers = new AtomicReference<>();
    final AtomicInteger chunks = new AtomicInteger();
    final CompletableFuture<Status> status = new CompletableFuture<>();
    ClientCall<CompletionRequest, CompletionChunk> call;

    static Stream start(ManagedChannel channel, CompletionRequest request) {
      Stream stream = new Stream();
      stream.call = channel.newCall(LlmProxyGrpc.getStreamCompleteMethod(),
          CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS));
      stream.call.start(stream, new Metadata());
      stream.call.sendMessage(request);
      stream.call.halfClose();
      stream.call.request(Integer.MAX_VALUE);
      return stream;
    }

    @Override
    public void onHeaders(Metadata received) {
      headers.set(received);
    }

    @Override
    public void onMessage(CompletionChunk message) {
      chunks.incrementAndGet();
    }

    @Override
    public void onClose(Status closed, Metadata trailers) {
      status.complete(closed);
    }
  }
}
