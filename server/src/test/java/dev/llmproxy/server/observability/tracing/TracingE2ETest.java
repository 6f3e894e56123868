package dev.llmproxy.server.observability.tracing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.llmproxy.server.observability.Observability;
import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.RecordedCall;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.sim.openai.OpenAiSimulatedBackend;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import dev.llmproxy.v1.Message;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Traces over real sockets, recorded by the SDK's in-memory exporter: a client's trace continues
 * through the proxy's server span into one client span per upstream attempt, and on to the upstream
 * itself in {@code traceparent}, over gRPC and over HTTP to an OpenAI-compatible engine.
 */
@Timeout(60)
class TracingE2ETest {
  private static final Metadata.Key<String> TRACEPARENT = Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);

  private final InMemorySpanExporter exporter = InMemorySpanExporter.create();
  private final List<AutoCloseable> closeLater = new ArrayList<>();
  private OpenTelemetrySdk sdk;
  private ProxyServer proxy;

  @BeforeEach
  void sdk() {
    sdk = OpenTelemetrySdk.builder()
        .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter)).build())
        .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
        .build();
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = closeLater.size() - 1; i >= 0; i--) {
      closeLater.get(i).close();
    }
    if (proxy != null) {
      proxy.close();
    }
    sdk.close();
  }

  private void startProxy(String yaml) throws Exception {
    ProxyConfig config = new ConfigLoader().parse(yaml + """
        observability:
          tracing: {sample_ratio: 1.0}
        """);
    proxy = ProxyServer.start(config, new SimpleMeterRegistry(), sdk);
  }

  /** A stub that sends {@code traceparent} as a traced client would. */
  private LlmProxyGrpc.LlmProxyBlockingStub client(String traceparent) {
    ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:" + proxy.port(), InsecureChannelCredentials.create())
        .build();
    closeLater.add(channel::shutdownNow);
    Metadata headers = new Metadata();
    headers.put(TRACEPARENT, traceparent);
    return LlmProxyGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  static String hex(int digits) {
    StringBuilder out = new StringBuilder();
    while (out.length() < digits) {
      out.append(Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE));
    }
    return out.substring(0, digits);
  }

  private List<SpanData> spans(String traceId) {
    return exporter.getFinishedSpanItems().stream().filter(s -> s.getTraceId().equals(traceId)).toList();
  }

  private static String attr(SpanData span, String key) {
    return span.getAttributes().get(AttributeKey.stringKey(key));
  }

  private static Long longAttr(SpanData span, String key) {
    return span.getAttributes().get(AttributeKey.longKey(key));
  }

  private SimulatedBackend sim(String name, Faults faults) throws Exception {
    SimulatedBackend sim = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults(name)
        .withTimeToFirstToken(Duration.ZERO).withInterTokenLatency(Duration.ZERO).withFaults(faults));
    closeLater.add(sim::close);
    return sim;
  }

  @Test
  void aFailoverIsTwoAttemptsUnderTheServerSpanAndTheClientsTraceReachesTheUpstream() throws Exception {
    SimulatedBackend broken = sim("broken", Faults.none().withFailRate(1.0, Status.Code.UNAVAILABLE));
    SimulatedBackend good = sim("good", Faults.none());
    startProxy("""
        server: {port: 0}
        cache: {enabled: false}
        routes:
          - name: chat
            models: [llama]
            default: true
            lb: round_robin
            health_check: false
            outlier_detection: {consecutive_failures: 0}
            upstreams: [{name: broken, address: "%s"}, {name: good, address: "%s"}]
        """.formatted(broken.address(), good.address()));

    // Round robin alternates, so within a few calls one lands on the broken upstream first. Until the
    // good upstream is connected (no health checks here), a call can fail on the broken one alone:
    // such a call is not the failover this test looks for, so the next one is tried.
    String traceId = null;
    String clientSpanId = null;
    for (int i = 0; i < 20 && traceId == null; i++) {
      String trace = hex(32);
      String parent = hex(16);
      try {
        client("00-" + trace + "-" + parent + "-01").complete(CompletionRequest.newBuilder().setModel("llama")
            .setPrompt("call " + i).setMaxTokens(3).build());
      } catch (io.grpc.StatusRuntimeException e) {
        continue;
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> spans(trace).stream().anyMatch(s -> s.getKind() == SpanKind.SERVER));
      if (spans(trace).stream().filter(s -> s.getKind() == SpanKind.CLIENT).count() == 2) {
        traceId = trace;
        clientSpanId = parent;
      }
    }
    assertThat(traceId).as("a call that failed over").isNotNull();

    List<SpanData> spans = spans(traceId);
    SpanData server = spans.stream().filter(s -> s.getKind() == SpanKind.SERVER).findFirst().orElseThrow();
    assertThat(server.getParentSpanId()).isEqualTo(clientSpanId);
    assertThat(server.getName()).isEqualTo("llmproxy.v1.LlmProxy/Complete");
    assertThat(attr(server, "llmproxy.route")).isEqualTo("chat");
    assertThat(attr(server, "llmproxy.upstream")).isEqualTo("good");
    assertThat(attr(server, "gen_ai.operation.name")).isEqualTo("text_completion");
    assertThat(attr(server, "gen_ai.request.model")).isEqualTo("llama");
    assertThat(longAttr(server, "gen_ai.usage.output_tokens")).isEqualTo(3);
    assertThat(longAttr(server, "gen_ai.usage.input_tokens")).isPositive();
    assertThat(server.getAttributes().get(AttributeKey.stringArrayKey("gen_ai.response.finish_reasons")))
        .containsExactly("length");
    assertThat(attr(server, "llmproxy.request_id")).hasSize(32);
    assertThat(server.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);

    List<SpanData> attempts = spans.stream().filter(s -> s.getKind() == SpanKind.CLIENT)
        .sorted((a, b) -> Long.compare(a.getStartEpochNanos(), b.getStartEpochNanos())).toList();
    assertThat(attempts).allSatisfy(a -> {
      assertThat(a.getParentSpanId()).isEqualTo(server.getSpanId());
      assertThat(a.getName()).isEqualTo("text_completion llama");
      assertThat(attr(a, "llmproxy.route")).isEqualTo("chat");
    });
    SpanData failed = attempts.get(0);
    SpanData served = attempts.get(1);
    assertThat(attr(failed, "llmproxy.upstream")).isEqualTo("broken");
    assertThat(failed.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(longAttr(failed, "rpc.grpc.status_code")).isEqualTo(Status.Code.UNAVAILABLE.value());
    assertThat(attr(served, "llmproxy.upstream")).isEqualTo("good");
    assertThat(longAttr(served, "gen_ai.usage.output_tokens")).isEqualTo(3);
    assertThat(served.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);

    // Each upstream saw the trace, with its own attempt's span as the parent.
    String expectedAtGood = "00-" + traceId + "-" + served.getSpanId() + "-01";
    assertThat(good.recorder().calls().stream().map(c -> c.headers().get(TRACEPARENT))).contains(expectedAtGood);
    assertThat(broken.recorder().calls().stream().map(c -> c.headers().get(TRACEPARENT)))
        .contains("00-" + traceId + "-" + failed.getSpanId() + "-01");
  }

  @Test
  void aCacheHitIsAServerSpanWithoutAttemptsAndSaysHit() throws Exception {
    SimulatedBackend sim = sim("only", Faults.none());
    startProxy("""
        server: {port: 0}
        routes:
          - name: chat
            models: ["*"]
            default: true
            health_check: false
            upstreams: [{name: only, address: "%s"}]
        """.formatted(sim.address()));
    CompletionRequest request = CompletionRequest.newBuilder().setPrompt("same question").setMaxTokens(4)
        .setSeed(7).build();
    String missTrace = hex(32);
    String hitTrace = hex(32);
    String hitParent = hex(16);

    client("00-" + missTrace + "-" + hex(16) + "-01").streamComplete(request).forEachRemaining(c -> {});
    client("00-" + hitTrace + "-" + hitParent + "-01").streamComplete(request).forEachRemaining(c -> {});

    await().atMost(Duration.ofSeconds(10)).until(() -> spans(missTrace).size() == 2 && spans(hitTrace).size() == 1);
    SpanData miss = spans(missTrace).stream().filter(s -> s.getKind() == SpanKind.SERVER).findFirst().orElseThrow();
    assertThat(attr(miss, "llmproxy.cache.result")).isEqualTo("miss");
    assertThat(miss.getAttributes().get(AttributeKey.doubleKey("gen_ai.response.time_to_first_chunk"))).isNotNull();
    // The miss was relayed from a gRPC upstream as bytes: its attempt span still reads the last chunk's usage.
    SpanData attempt = spans(missTrace).stream().filter(s -> s.getKind() == SpanKind.CLIENT).findFirst().orElseThrow();
    assertThat(longAttr(attempt, "gen_ai.usage.output_tokens")).isEqualTo(4);
    assertThat(attempt.getAttributes().get(AttributeKey.stringArrayKey("gen_ai.response.finish_reasons")))
        .containsExactly("length");
    SpanData hit = spans(hitTrace).get(0);
    assertThat(hit.getKind()).isEqualTo(SpanKind.SERVER);
    assertThat(hit.getParentSpanId()).isEqualTo(hitParent);
    assertThat(attr(hit, "llmproxy.cache.result")).isEqualTo("hit");
    assertThat(attr(hit, "llmproxy.upstream")).isEqualTo("none");
    assertThat(longAttr(hit, "gen_ai.usage.output_tokens")).isEqualTo(4);
    assertThat(sim.recorder().started()).isEqualTo(1);
  }

  @Test
  void theClientsTraceReachesAnOpenAiCompatibleEngineOverHttp() throws Exception {
    OpenAiSimulatedBackend engine = OpenAiSimulatedBackend.start(SimulatedBackendConfig.defaults("vllm-0")
        .withTimeToFirstToken(Duration.ZERO).withInterTokenLatency(Duration.ZERO));
    closeLater.add(engine::close);
    startProxy("""
        server: {port: 0}
        cache: {enabled: false}
        routes:
          - name: vllm
            models: ["*"]
            default: true
            protocol: openai
            upstreams: [{name: vllm-0, address: "%s"}]
            health_check: {interval: 200ms}
        """.formatted(engine.baseUrl()));
    String trace = hex(32);

    client("00-" + trace + "-" + hex(16) + "-01").complete(CompletionRequest.newBuilder().setModel("llama-3")
        .addMessages(Message.newBuilder().setRole("user").setContent("hi")).setMaxTokens(2).build());

    await().atMost(Duration.ofSeconds(10)).until(() -> spans(trace).size() == 2);
    SpanData attempt = spans(trace).stream().filter(s -> s.getKind() == SpanKind.CLIENT).findFirst().orElseThrow();
    assertThat(attempt.getName()).isEqualTo("chat llama-3");
    assertThat(attr(attempt, "llmproxy.upstream")).isEqualTo("vllm-0");
    RecordedCall call = engine.recorder().calls().get(0);
    assertThat(call.headers().get(TRACEPARENT)).isEqualTo("00-" + trace + "-" + attempt.getSpanId() + "-01");
  }

  @Test
  void spansAreExportedOverOtlpToTheConfiguredEndpoint() throws Exception {
    List<String> received = new java.util.concurrent.CopyOnWriteArrayList<>();
    HttpServer collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    collector.createContext("/", exchange -> {
      byte[] body = exchange.getRequestBody().readAllBytes();
      received.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath() + " "
          + exchange.getRequestHeaders().getFirst("Content-Type") + " " + body.length);
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    collector.start();
    closeLater.add(() -> collector.stop(0));
    SimulatedBackend sim = sim("only", Faults.none());
    ProxyConfig config = new ConfigLoader().parse("""
        server: {port: 0}
        routes:
          - {name: chat, models: ["*"], default: true, health_check: false, upstreams: ["%s"]}
        observability:
          tracing: {endpoint: "http://127.0.0.1:%d", service_name: llmproxy-test}
        """.formatted(sim.address(), collector.getAddress().getPort()));
    ProxyServer exporting = ProxyServer.start(config, new SimpleMeterRegistry(), null); // the SDK from the config
    try {
      ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:" + exporting.port(),
          InsecureChannelCredentials.create()).build();
      closeLater.add(channel::shutdownNow);
      LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
          .complete(CompletionRequest.newBuilder().setPrompt("exported").setMaxTokens(2).build());
    } finally {
      exporting.close(); // flushes the batch of spans
    }

    await().atMost(Duration.ofSeconds(10)).until(() -> !received.isEmpty());
    assertThat(received.get(0)).startsWith("POST /v1/traces application/x-protobuf");
    assertThat(Long.parseLong(received.get(0).substring(received.get(0).lastIndexOf(' ') + 1))).isPositive();
  }

  @Test
  void theOtelEnvironmentAloneTurnsTracingOnAndExportsOverOtlp() throws Exception {
    List<String> received = new java.util.concurrent.CopyOnWriteArrayList<>();
    HttpServer collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    collector.createContext("/", exchange -> {
      received.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath());
      exchange.getRequestBody().readAllBytes();
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    collector.start();
    closeLater.add(() -> collector.stop(0));
    SimulatedBackend sim = sim("only", Faults.none());
    ProxyConfig file = new ConfigLoader().parse("""
        server: {port: 0}
        routes:
          - {name: chat, models: ["*"], default: true, health_check: false, upstreams: ["%s"]}
        """.formatted(sim.address())); // no observability section
    TracingEnvironment env = TracingEnvironment.of(Map.of("OTEL_TRACES_EXPORTER", "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + collector.getAddress().getPort()), new Properties());
    ProxyConfig config = file.withObservability(env.apply(file.observability()));
    assertThat(config.observability().tracing().enabled()).isTrue();
    ProxyServer exporting = ProxyServer.start(config, new SimpleMeterRegistry(), null);
    try {
      ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:" + exporting.port(),
          InsecureChannelCredentials.create()).build();
      closeLater.add(channel::shutdownNow);
      LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
          .complete(CompletionRequest.newBuilder().setPrompt("env only").setMaxTokens(2).build());
    } finally {
      exporting.close(); // flushes the batch of spans
    }

    await().atMost(Duration.ofSeconds(10)).until(() -> !received.isEmpty());
    assertThat(received.get(0)).isEqualTo("POST /v1/traces");
  }

  @Test
  void otelSdkDisabledKeepsTracingOffDespiteTheSection() throws Exception {
    ProxyConfig file = new ConfigLoader().parse("""
        server: {port: 0}
        routes:
          - {name: chat, models: ["*"], default: true, health_check: false, upstreams: ["127.0.0.1:1"]}
        observability:
          tracing: {endpoint: "http://127.0.0.1:1"}
        """);
    ProxyConfig config = file.withObservability(TracingEnvironment.of(Map.of("OTEL_SDK_DISABLED", "true"),
        new Properties()).apply(file.observability()));
    assertThat(config.observability().tracing().enabled()).isFalse();
    try (Observability off = Observability.start(config.observability(), new SimpleMeterRegistry(),
        new java.io.ByteArrayOutputStream())) {
      Observability.Generation generation = off.generation(config.observability());
      assertThat(generation.serverInterceptor()).isNull();
      assertThat(generation.upstreamInterceptor()).isNull();
      assertThat(off.upstreamInterceptors()).isEmpty();
    }
  }

  @Test
  void aCallThatJoinsAnotherInFlightLinksToItsServerSpanAndHasNoAttemptOfItsOwn() throws Exception {
    SimulatedBackend slow = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("slow")
        // The first token waits long enough for the second call to arrive on a loaded machine.
        .withTimeToFirstToken(Duration.ofSeconds(3)).withInterTokenLatency(Duration.ZERO));
    closeLater.add(slow::close);
    startProxy("""
        server: {port: 0}
        routes:
          - {name: chat, models: ["*"], default: true, health_check: false, upstreams: [{name: slow, address: "%s"}]}
        """.formatted(slow.address()));
    CompletionRequest request = CompletionRequest.newBuilder().setPrompt("asked twice at once").setMaxTokens(3)
        .setSeed(11).build();
    String leaderTrace = hex(32);
    String joinerTrace = hex(32);

    var leader = java.util.concurrent.CompletableFuture.runAsync(() ->
        client("00-" + leaderTrace + "-" + hex(16) + "-01").streamComplete(request).forEachRemaining(c -> {}));
    await().atMost(Duration.ofSeconds(10)).until(() -> slow.recorder().started() == 1);
    client("00-" + joinerTrace + "-" + hex(16) + "-01").streamComplete(request).forEachRemaining(c -> {});
    leader.get(20, TimeUnit.SECONDS);

    await().atMost(Duration.ofSeconds(10)).until(() -> spans(leaderTrace).size() == 2 && spans(joinerTrace).size() == 1);
    SpanData leaderSpan = spans(leaderTrace).stream().filter(s -> s.getKind() == SpanKind.SERVER).findFirst().orElseThrow();
    SpanData joiner = spans(joinerTrace).get(0);
    assertThat(attr(leaderSpan, "llmproxy.cache.result")).isEqualTo("miss");
    assertThat(attr(joiner, "llmproxy.cache.result")).isEqualTo("coalesced");
    assertThat(joiner.getLinks()).singleElement().satisfies(link -> {
      assertThat(link.getSpanContext().getTraceId()).isEqualTo(leaderTrace);
      assertThat(link.getSpanContext().getSpanId()).isEqualTo(leaderSpan.getSpanId());
      assertThat(link.getAttributes().get(AttributeKey.stringKey("llmproxy.link"))).isEqualTo("coalesced_with");
    });
    assertThat(slow.recorder().started()).isEqualTo(1);
  }
}
