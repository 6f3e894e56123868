package dev.llmproxy.server.cache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.server.quota.redis.RedisServerProcess;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.lettuce.core.RedisClient;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two proxy replicas over one real {@code redis-server}: what one replica's upstream answered, the
 * other replays from Redis, chunk for chunk; and an unreachable or hung Redis leaves calls served
 * through the local cache and the upstream.
 */
@Timeout(60)
class SharedCacheE2ETest {
  private static final Metadata.Key<String> CACHE = Metadata.Key.of("llmproxy-cache", Metadata.ASCII_STRING_MARSHALLER);

  private RedisServerProcess redis;
  private SimulatedBackend sim;
  private final List<AutoCloseable> open = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    redis = RedisServerProcess.start();
    sim = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("sim-0")
        .withTimeToFirstToken(Duration.ZERO).withInterTokenLatency(Duration.ZERO));
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
    sim.close();
    redis.close();
  }

  private record Replica(ProxyServer proxy, SimpleMeterRegistry meters, ManagedChannel channel) {
    LlmProxyGrpc.LlmProxyBlockingStub stub(AtomicReference<Metadata> headers) {
      return LlmProxyGrpc.newBlockingStub(channel)
          .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, new AtomicReference<>()))
          .withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    double count(String meter, String result) {
      Counter c = meters.find(meter).tag("result", result).counter();
      return c == null ? 0 : c.count();
    }
  }

  private Replica replica() throws Exception {
    return replica("");
  }

  private Replica replica(String sharedExtra) throws Exception {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    ProxyServer proxy = ProxyServer.start(new ConfigLoader().parse("""
        server: {port: 0}
        routes:
          - {name: chat, models: ["*"], default: true, health_check: false, upstreams: ["%s"]}
        cache:
          shared: {uri: "%s", ttl: 1m, timeout: 200ms%s}
        """.formatted(sim.address(), redis.uri(), sharedExtra)), meters);
    open.add(proxy);
    ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:" + proxy.port(), InsecureChannelCredentials.create())
        .build();
    open.add(channel::shutdownNow);
    return new Replica(proxy, meters, channel);
  }

  private static CompletionRequest request(String prompt) {
    return CompletionRequest.newBuilder().setPrompt(prompt).setMaxTokens(12).setSeed(5).build();
  }

  private static List<CompletionChunk> stream(Replica replica, CompletionRequest request, AtomicReference<Metadata> headers) {
    List<CompletionChunk> chunks = new ArrayList<>();
    replica.stub(headers).streamComplete(request).forEachRemaining(chunks::add);
    return chunks;
  }

  @Test
  void aMissOnOneReplicaIsAHitOnAnotherThatReplaysChunkForChunk() throws Exception {
    Replica a = replica();
    Replica b = replica();
    CompletionRequest request = request("shared between replicas");
    AtomicReference<Metadata> headers = new AtomicReference<>();

    List<CompletionChunk> original = stream(a, request, headers);
    assertThat(headers.get().get(CACHE)).isEqualTo("miss");
    await().atMost(Duration.ofSeconds(10)).until(() -> a.count("llmproxy.cache.shared.stores", "stored") == 1);

    List<CompletionChunk> replayed = stream(b, request, headers);
    assertThat(headers.get().get(CACHE)).isEqualTo("hit");
    assertThat(replayed).hasSize(12).isEqualTo(original);
    assertThat(sim.recorder().started()).isEqualTo(1);
    assertThat(b.count("llmproxy.cache.shared.lookups", "hit")).isEqualTo(1);

    // Now local on B: Complete gets the concatenation without asking Redis again.
    Completion unary = b.stub(headers).complete(request);
    assertThat(headers.get().get(CACHE)).isEqualTo("hit");
    assertThat(unary.getText()).isEqualTo(original.stream().map(CompletionChunk::getText).collect(Collectors.joining()));
    assertThat(b.count("llmproxy.cache.shared.lookups", "hit")).isEqualTo(1);
  }

  @Test
  void aRedisWithAPasswordIsReachedWithThePasswordFromAFile(@TempDir Path dir) throws Exception {
    RedisClient admin = RedisClient.create(redis.uri());
    try (var connection = admin.connect()) {
      connection.sync().configSet("requirepass", "from-a-file");
    } finally {
      admin.shutdown();
    }
    Path secret = Files.writeString(dir.resolve("redis-password"), "from-a-file\n");
    Replica a = replica(", password: {file: \"" + secret + "\"}");
    Replica b = replica(", password: {file: \"" + secret + "\"}");
    AtomicReference<Metadata> headers = new AtomicReference<>();

    stream(a, request("behind a password"), headers);
    await().atMost(Duration.ofSeconds(10)).until(() -> a.count("llmproxy.cache.shared.stores", "stored") == 1);
    stream(b, request("behind a password"), headers);
    assertThat(headers.get().get(CACHE)).isEqualTo("hit");
  }

  @Test
  void aHungRedisCostsALookupTimeoutAndNoFailedCall() throws Exception {
    Replica a = replica();
    AtomicReference<Metadata> headers = new AtomicReference<>();
    stream(a, request("before the outage"), headers); // connected and working
    await().atMost(Duration.ofSeconds(10)).until(() -> a.count("llmproxy.cache.shared.stores", "stored") == 1);

    redis.pause();
    List<CompletionChunk> during = stream(a, request("during the outage"), headers);
    assertThat(headers.get().get(CACHE)).isEqualTo("miss");
    assertThat(during).hasSize(12);
    assertThat(a.count("llmproxy.cache.shared.lookups", "failed")).isEqualTo(1);
    // The local level still answers what this replica stored.
    stream(a, request("during the outage"), headers);
    assertThat(headers.get().get(CACHE)).isEqualTo("hit");
    redis.resume();
  }

  @Test
  void aStoppedRedisLeavesCallsServed() throws Exception {
    Replica a = replica();
    redis.stop();
    AtomicReference<Metadata> headers = new AtomicReference<>();

    for (int i = 0; i < 3; i++) {
      assertThat(stream(a, request("redis is gone " + i), headers)).hasSize(12);
      assertThat(headers.get().get(CACHE)).isEqualTo("miss");
    }
    assertThat(a.count("llmproxy.cache.shared.lookups", "failed")).isEqualTo(3);
  }
}
