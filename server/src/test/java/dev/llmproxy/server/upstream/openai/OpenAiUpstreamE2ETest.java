package dev.llmproxy.server.upstream.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.RecordedCall;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.sim.openai.OpenAiSimulatedBackend;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import dev.llmproxy.v1.Message;
import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import java.util.logging.StreamHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy over real sockets in front of OpenAI-compatible simulated engines: everything the
 * proxy does for gRPC upstreams, done for HTTP ones.
 */
@Timeout(60)
class OpenAiUpstreamE2ETest {
  @TempDir Path dir;
  private final List<OpenAiSimulatedBackend> engines = new ArrayList<>();
  private ProxyServer proxy;
  private ManagedChannel channel;
  private LlmProxyGrpc.LlmProxyBlockingStub stub;

  @AfterEach
  void stop() {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (proxy != null) {
      proxy.close();
    }
    engines.forEach(OpenAiSimulatedBackend::close);
  }

  private void start(int count, String lb, UnaryOperator<SimulatedBackendConfig> engine, String extra) throws Exception {
    StringBuilder urls = new StringBuilder();
    for (int i = 0; i < count; i++) {
      OpenAiSimulatedBackend sim = OpenAiSimulatedBackend.start(engine.apply(SimulatedBackendConfig.defaults("vllm-" + i)));
      engines.add(sim);
      urls.append(i == 0 ? "" : ", ").append("{name: vllm-").append(i).append(", address: \"").append(sim.baseUrl())
          .append("\"}");
    }
    ProxyConfig config = new ConfigLoader().parse("""
        server: {port: 0}
        cache: {enabled: false}
        routes:
          - name: vllm
            models: ["*"]
            default: true
            protocol: openai
            lb: %s
            upstreams: [%s]
            health_check: {interval: 200ms}
            outlier_detection: {consecutive_failures: 1, base_ejection_time: 30s}
        %s
        """.formatted(lb, urls, extra.indent(4)));
    proxy = ProxyServer.start(config, new SimpleMeterRegistry());
    channel = Grpc.newChannelBuilder("127.0.0.1:" + proxy.port(), InsecureChannelCredentials.create()).build();
    stub = LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  private static CompletionRequest request(String text, int maxTokens) {
    return CompletionRequest.newBuilder().setModel("llama-3")
        .addMessages(Message.newBuilder().setRole("user").setContent(text)).setMaxTokens(maxTokens).setSeed(7).build();
  }

  private List<CompletionChunk> stream(CompletionRequest request) {
    List<CompletionChunk> chunks = new ArrayList<>();
    stub.streamComplete(request).forEachRemaining(chunks::add);
    return chunks;
  }

  @Test
  void bothRpcsAnswerAndTheStreamedTextEqualsCompletes() throws Exception {
    start(1, "least_outstanding", c -> c, "");
    CompletionRequest request = request("Tell me about proxies", 24);
    List<CompletionChunk> chunks = stream(request);
    Completion whole = stub.complete(request);

    assertThat(chunks).hasSize(24);
    StringBuilder text = new StringBuilder();
    chunks.forEach(c -> text.append(c.getText()));
    assertThat(text.toString()).isEqualTo(whole.getText()).isNotEmpty();
    CompletionChunk last = chunks.get(chunks.size() - 1);
    assertThat(last.getUsage()).isEqualTo(whole.getUsage());
    assertThat(last.getUsage().getCompletionTokens()).isEqualTo(24);
    assertThat(whole.getModel()).isEqualTo("llama-3");
  }

  @Test
  void withoutTheEnginesUsageTheProxyEstimatesAndSaysSo() throws Exception {
    start(1, "least_outstanding", c -> c, "");
    engines.get(0).setSettings(engines.get(0).settings().withUsageChunk(false));
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    List<CompletionChunk> chunks = new ArrayList<>();
    stub.withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(new AtomicReference<>(), trailers))
        .streamComplete(request("Count for me", 12)).forEachRemaining(chunks::add);

    assertThat(chunks.get(chunks.size() - 1).getUsage().getCompletionTokens()).isEqualTo(12);
    assertThat(trailers.get().get(OpenAiCall.USAGE_TRAILER)).isEqualTo("estimated");
  }

  @Test
  void leastOutstandingSpreads300CallsOverTheEngines() throws Exception {
    start(3, "least_outstanding", c -> c.withTimeToFirstToken(Duration.ofMillis(5)), "");
    awaitEveryEngineServing();
    engines.forEach(e -> e.recorder().reset());
    LlmProxyGrpc.LlmProxyStub async = LlmProxyGrpc.newStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    CountDownLatch done = new CountDownLatch(300);
    AtomicInteger failures = new AtomicInteger();
    for (int i = 0; i < 300; i++) {
      async.complete(request("call " + i, 4), new io.grpc.stub.StreamObserver<>() {
        @Override public void onNext(Completion value) { }
        @Override public void onError(Throwable t) { failures.incrementAndGet(); done.countDown(); }
        @Override public void onCompleted() { done.countDown(); }
      });
    }
    assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
    assertThat(failures).hasValue(0);
    for (OpenAiSimulatedBackend engine : engines) {
      assertThat(engine.recorder().started()).as(engine.name()).isGreaterThanOrEqualTo(45); // 15% or more
    }
  }

  @Test
  void aKilledEngineIsFailedOverBeforeTheFirstChunkAndLeavesTheRotation() throws Exception {
    start(2, "round_robin", c -> c, "");
    awaitEveryEngineServing();
    engines.get(1).recorder().reset();
    OpenAiSimulatedBackend killed = engines.get(0);
    killed.close();
    for (int i = 0; i < 10; i++) {
      assertThat(stream(request("after the crash " + i, 4))).hasSize(4);
    }
    assertThat(engines.get(1).recorder().completed()).isEqualTo(10);
  }

  @Test
  void aBusyEngineIsAvoidedNotEjected() throws Exception {
    start(2, "round_robin", c -> c, "");
    awaitEveryEngineServing();
    engines.get(0).setFaults(Faults.none().withHttpError(1.0, 429).withRetryAfterSeconds(1));
    engines.get(1).recorder().reset();
    for (int i = 0; i < 10; i++) {
      assertThat(stream(request("busy " + i, 4))).hasSize(4);
    }
    assertThat(engines.get(1).recorder().completed()).isEqualTo(10);
    assertThat(proxy.routes().routes().get(0).outliers().ejections()).isZero();
  }

  @Test
  void aClientCancelClosesTheEnginesConnectionPromptly() throws Exception {
    start(1, "least_outstanding", c -> c.withInterTokenLatency(Duration.ofMillis(20)), "");
    Context.CancellableContext context = Context.current().withCancellation();
    Iterator<CompletionChunk> it = context.call(() -> stub.streamComplete(request("a long story", 2000)));
    it.next();
    long cancelled = System.nanoTime();
    context.cancel(null);
    OpenAiSimulatedBackend engine = engines.get(0);
    await().atMost(Duration.ofSeconds(10)).until(() -> engine.recorder().cancelled() == 1);
    RecordedCall call = engine.recorder().lastCall();
    long tookMillis = TimeUnit.NANOSECONDS.toMillis(call.endNanos() - cancelled);
    assertThat(call.tokensSent()).isLessThan(2000);
    // Generous on a loaded machine; the engine sees the connection close at once (tens of ms).
    System.out.println("cancel reached the engine in " + tookMillis + " ms");
    assertThat(tookMillis).isLessThan(2000);
  }

  @Test
  void aSlowReaderHoldsTheEngineBack() throws Exception {
    start(1, "least_outstanding", c -> c, "max_tokens_limit: 1000000");
    CountDownLatch firstChunk = new CountDownLatch(1);
    AtomicReference<ClientCallStreamObserver<CompletionRequest>> call = new AtomicReference<>();
    // A client with a small HTTP/2 window, so what it buffers itself does not hide what the proxy holds.
    ManagedChannel smallWindow = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder
        .forTarget("127.0.0.1:" + proxy.port()).usePlaintext().flowControlWindow(64 << 10).build();
    LlmProxyGrpc.newStub(smallWindow).streamComplete(request("never read", 200_000),
        new ClientResponseObserver<CompletionRequest, CompletionChunk>() {
          @Override public void beforeStart(ClientCallStreamObserver<CompletionRequest> requestStream) {
            call.set(requestStream);
            requestStream.disableAutoRequestWithInitial(1);
          }
          @Override public void onNext(CompletionChunk value) { firstChunk.countDown(); }
          @Override public void onError(Throwable t) { }
          @Override public void onCompleted() { }
        });
    assertThat(firstChunk.await(10, TimeUnit.SECONDS)).isTrue();
    OpenAiSimulatedBackend engine = engines.get(0);
    // The engine may fill the windows on the way (HTTP socket buffers, the client's HTTP/2 window);
    // then it must stop, far short of the 200,000 tokens it was asked for.
    await().atMost(Duration.ofSeconds(10)).until(() -> tokensOf(engine) > 0);
    int settled = awaitSettled(engine);
    System.out.println("slow reader: engine settled at " + settled + " tokens");
    assertThat(settled).isLessThan(100_000);
    call.get().cancel("done", null);
    smallWindow.shutdownNow();
  }

  /** Calls until every engine has answered one: each has passed its first health poll. */
  private void awaitEveryEngineServing() {
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      stream(request("warm-up", 1));
      return engines.stream().allMatch(e -> e.recorder().completed() > 0);
    });
  }

  private static int tokensOf(OpenAiSimulatedBackend engine) {
    RecordedCall last = engine.recorder().lastCall();
    return last == null ? 0 : last.tokensSent();
  }

  /** Waits until the engine's token count stops growing for a while, and returns it. */
  private static int awaitSettled(OpenAiSimulatedBackend engine) {
    AtomicInteger previous = new AtomicInteger(-1);
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() -> {
      int now = tokensOf(engine);
      return previous.getAndSet(now) == now;
    });
    return previous.get();
  }

  @Test
  void aStalledEngineEndsTheCallWithUnavailable() throws Exception {
    start(1, "least_outstanding", c -> c.withFaults(Faults.none().withStallAfterTokens(3)),
        "timeouts: {first_token: 5s, between_tokens: 300ms}");
    Iterator<CompletionChunk> it = stub.streamComplete(request("stall", 50));
    int received = 0;
    try {
      while (it.hasNext()) {
        it.next();
        received++;
      }
      throw new AssertionError("expected a stall");
    } catch (StatusRuntimeException e) {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(e.getStatus().getDescription()).contains("stalled after 3 chunks");
    }
    assertThat(received).isEqualTo(3);
    await().atMost(Duration.ofSeconds(10)).until(() -> engines.get(0).recorder().cancelled() == 1);
  }

  @Test
  void theUpstreamCredentialIsSentButNeverLoggedOrShown() throws Exception {
    Path key = dir.resolve("key");
    Files.writeString(key, "sk-very-secret-1234");
    ByteArrayOutputStream logs = new ByteArrayOutputStream();
    Handler handler = new StreamHandler(logs, new SimpleFormatter());
    handler.setLevel(Level.ALL);
    Logger root = Logger.getLogger("");
    root.addHandler(handler);
    try {
      start(1, "least_outstanding", c -> c, "api_key: {file: " + key + "}");
      OpenAiSimulatedBackend engine = engines.get(0);
      engine.setSettings(engine.settings().withApiKey("sk-very-secret-1234"));
      assertThat(stream(request("with a key", 3))).hasSize(3);

      engine.setSettings(engine.settings().withApiKey("another-key"));
      StatusRuntimeException refused = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
          () -> stream(request("with a stale key", 3)));
      assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(refused.getStatus().getDescription()).contains("credential").doesNotContain("sk-very");
      assertThat(proxy.routes().routes().get(0).toString()).doesNotContain("sk-very");
      assertThat(proxy.config().toString()).doesNotContain("sk-very");
    } finally {
      handler.flush();
      root.removeHandler(handler);
    }
    assertThat(logs.toString()).doesNotContain("sk-very-secret")
        .contains("upstream vllm-0 answered HTTP 401 to llmproxy's credential");
  }
}
