package dev.llmproxy.server.observability.tracing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.reload.FileConfigSource;
import dev.llmproxy.server.reload.ReloadResult;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tracing follows config reloads over real sockets: a reload turns it on or off, or points it at
 * another collector, for new calls, while a stream that was running finishes traced (or not) as it
 * started. Streams are held in flight by the upstream until the test lets them finish, so nothing
 * here depends on timing.
 */
@Timeout(120)
class TracingReloadE2ETest {
  private static final Metadata.Key<String> TRACEPARENT = Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);
  private static final String TRACED = "observability:\n  tracing: {sample_ratio: 1.0}\n";
  private static final Duration BOUND = Duration.ofSeconds(30);

  @TempDir Path dir;
  private final InMemorySpanExporter exporter = InMemorySpanExporter.create();
  private OpenTelemetrySdk sdk;
  private HeldUpstream upstream;
  private Path file;
  private ProxyServer proxy;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    sdk = OpenTelemetrySdk.builder()
        .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter)).build())
        .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
        .build();
    upstream = HeldUpstream.start();
    file = dir.resolve("llmproxy.yaml");
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (proxy != null) {
      proxy.close();
    }
    upstream.close();
    sdk.close();
  }

  private String config(String observability) {
    return """
        server: {host: 127.0.0.1, port: 0}
        cache: {enabled: false}
        routes:
          - name: chat
            models: ["*"]
            default: true
            lb: pick_first
            health_check: false
            timeouts: {between_tokens: 60s}
            upstreams: [{name: held, address: "%s"}]
        """.formatted(upstream.address()) + observability;
  }

  /** Starts the proxy from the config file; spans go to {@code openTelemetry} (null: the SDK the config describes). */
  private void startProxy(String yaml, OpenTelemetry openTelemetry) throws Exception {
    Files.writeString(file, yaml);
    FileConfigSource source = new FileConfigSource(file, c -> c);
    proxy = ProxyServer.start(source.load(), source, new SimpleMeterRegistry(), openTelemetry);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
  }

  private ReloadResult reload(String yaml) throws Exception {
    Files.writeString(file, yaml);
    ReloadResult result = proxy.reload();
    assertThat(result.applied()).as(result.describe()).isTrue();
    assertThat(result.needsRestart()).as("tracing needs no restart").isEmpty();
    return result;
  }

  /** The trace a client started a call in: it sends {@code traceparent} {@code 00-traceId-parentId-01}. */
  private record ClientTrace(String traceId, String parentId) {
    static ClientTrace random() {
      return new ClientTrace(TracingE2ETest.hex(32), TracingE2ETest.hex(16));
    }

    String traceparent() {
      return "00-" + traceId + "-" + parentId + "-01";
    }

    io.grpc.ClientInterceptor sender() {
      Metadata headers = new Metadata();
      headers.put(TRACEPARENT, traceparent());
      return MetadataUtils.newAttachHeadersInterceptor(headers);
    }
  }

  /** A unary call, answered at once. */
  private void complete(String prompt, ClientTrace trace) {
    LlmProxyGrpc.newBlockingStub(channel).withInterceptors(trace.sender()).withDeadlineAfter(20, TimeUnit.SECONDS)
        .complete(CompletionRequest.newBuilder().setPrompt(prompt).setMaxTokens(2).build());
  }

  /**
   * Starts a stream that the upstream holds after its first chunk until {@link HeldUpstream#release},
   * and returns once the upstream has it; the future completes with the chunks received when it ends OK.
   */
  private CompletableFuture<Integer> hold(String prompt, ClientTrace trace) {
    CompletableFuture<Integer> done = new CompletableFuture<>();
    AtomicInteger chunks = new AtomicInteger();
    LlmProxyGrpc.newStub(channel).withInterceptors(trace.sender()).withDeadlineAfter(60, TimeUnit.SECONDS)
        .streamComplete(CompletionRequest.newBuilder().setPrompt(prompt).setMaxTokens(2).build(),
            new StreamObserver<>() {
              @Override
              public void onNext(CompletionChunk chunk) {
                chunks.incrementAndGet();
              }

              @Override
              public void onError(Throwable t) {
                done.completeExceptionally(t);
              }

              @Override
              public void onCompleted() {
                done.complete(chunks.get());
              }
            });
    await().atMost(BOUND).until(() -> upstream.traceparent(prompt) != null);
    return done;
  }

  private List<SpanData> spans(ClientTrace trace) {
    return exporter.getFinishedSpanItems().stream().filter(s -> s.getTraceId().equals(trace.traceId())).toList();
  }

  private static SpanData only(List<SpanData> spans, SpanKind kind) {
    List<SpanData> ofKind = spans.stream().filter(s -> s.getKind() == kind).toList();
    assertThat(ofKind).as(kind + " spans").hasSize(1);
    return ofKind.get(0);
  }

  /**
   * The proxy traced the call: its server span is the child of the client's, the attempt's the
   * child of the server span, and the attempt's id reached the upstream.
   */
  private void assertTraced(String prompt, ClientTrace trace) {
    await().atMost(BOUND).until(() -> spans(trace).size() == 2);
    SpanData server = only(spans(trace), SpanKind.SERVER);
    SpanData attempt = only(spans(trace), SpanKind.CLIENT);
    assertThat(server.getParentSpanId()).isEqualTo(trace.parentId());
    assertThat(attempt.getParentSpanId()).isEqualTo(server.getSpanId());
    assertThat(upstream.traceparent(prompt)).isEqualTo("00-" + trace.traceId() + "-" + attempt.getSpanId() + "-01");
  }

  /**
   * The proxy did not trace the call, which has ended: no span (a span ends before its call's client
   * sees the end), and the client's own {@code traceparent} reached the upstream as it was sent.
   */
  private void assertUntraced(String prompt, ClientTrace trace) {
    assertThat(spans(trace)).isEmpty();
    assertThat(upstream.traceparent(prompt)).isEqualTo(trace.traceparent());
  }

  @Test
  void aReloadTurnsTracingOnForNewCallsWhileAStreamStartedBeforeFinishesUntraced() throws Exception {
    startProxy(config(""), sdk);
    ClientTrace before = ClientTrace.random();
    CompletableFuture<Integer> held = hold("hold: started untraced", before);

    reload(config(TRACED));

    ClientTrace after = ClientTrace.random();
    complete("after the reload", after);
    assertTraced("after the reload", after);
    upstream.release("hold: started untraced");
    assertThat(held.get(BOUND.toSeconds(), TimeUnit.SECONDS)).isEqualTo(2);
    assertUntraced("hold: started untraced", before);
  }

  @Test
  void aReloadTurnsTracingOffForNewCallsWhileAStreamStartedBeforeFinishesTraced() throws Exception {
    startProxy(config(TRACED), sdk);
    ClientTrace before = ClientTrace.random();
    CompletableFuture<Integer> held = hold("hold: started traced", before);

    reload(config(""));

    ClientTrace after = ClientTrace.random();
    complete("after the reload", after);
    assertUntraced("after the reload", after);
    upstream.release("hold: started traced");
    assertThat(held.get(BOUND.toSeconds(), TimeUnit.SECONDS)).isEqualTo(2);
    assertTraced("hold: started traced", before);
  }

  @Test
  void aReloadChangingTheEndpointSendsNewSpansThereWhileTheRunningStreamsSpansGoWhereTheyStarted()
      throws Exception {
    try (Collector first = new Collector(); Collector second = new Collector()) {
      startProxy(config(otlp(first, "llmproxy-first")), null); // the SDK the config describes
      ClientTrace before = ClientTrace.random();
      CompletableFuture<Integer> held = hold("hold: exported to the first", before);

      reload(config(otlp(second, "llmproxy-second")));

      ClientTrace after = ClientTrace.random();
      complete("after the reload", after);
      upstream.release("hold: exported to the first");
      assertThat(held.get(BOUND.toSeconds(), TimeUnit.SECONDS)).isEqualTo(2);
      // The first SDK exports the stream's spans (at the latest when it is shut down, after the
      // retired generation's last call) without the proxy stopping.
      await().atMost(BOUND).until(() -> first.received(before));
      proxy.close(); // exports what the second SDK still holds
      await().atMost(BOUND).until(() -> second.received(after));

      assertThat(second.received("llmproxy-second")).isTrue();
      assertThat(first.received(after)).isFalse();
      assertThat(second.received(before)).isFalse();
      assertThat(upstream.traceparent("after the reload")).startsWith("00-" + after.traceId() + "-")
          .isNotEqualTo(after.traceparent());
    }
  }

  private static String otlp(Collector collector, String serviceName) {
    return "observability:\n  tracing: {sample_ratio: 1.0, service_name: " + serviceName + ", endpoint: \""
        + collector.endpoint() + "\"}\n";
  }

  /** An OTLP/HTTP receiver that keeps the body of every export. */
  private static final class Collector implements AutoCloseable {
    private final List<byte[]> bodies = new CopyOnWriteArrayList<>();
    private final HttpServer server;

    Collector() throws java.io.IOException {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.createContext("/v1/traces", exchange -> {
        bodies.add(exchange.getRequestBody().readAllBytes());
        exchange.sendResponseHeaders(200, -1);
        exchange.close();
      });
      server.start();
    }

    String endpoint() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Whether an export held a span of {@code trace} (OTLP carries trace ids as 16 raw bytes). */
    boolean received(ClientTrace trace) {
      return received(HexFormat.of().parseHex(trace.traceId()));
    }

    boolean received(String text) {
      return received(text.getBytes(StandardCharsets.UTF_8));
    }

    private boolean received(byte[] needle) {
      return bodies.stream().anyMatch(body -> indexOf(body, needle) >= 0);
    }

    private static int indexOf(byte[] body, byte[] needle) {
      outer:
      for (int i = 0; i + needle.length <= body.length; i++) {
        for (int j = 0; j < needle.length; j++) {
          if (body[i + j] != needle[j]) {
            continue outer;
          }
        }
        return i;
      }
      return -1;
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }
}
