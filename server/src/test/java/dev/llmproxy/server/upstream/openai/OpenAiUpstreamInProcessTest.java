package dev.llmproxy.server.upstream.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.upstream.RouteTable;
import dev.llmproxy.server.upstream.UpstreamChannelFactory;
import dev.llmproxy.server.upstream.openai.FakeOpenAiServer.Answer;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.LlmProxyGrpc;
import dev.llmproxy.v1.FunctionCall;
import dev.llmproxy.v1.Message;
import dev.llmproxy.v1.ToolCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy served in-process over an OpenAI-compatible route whose upstreams are scripted HTTP
 * servers on loopback: translation both ways, usage, and each row of the error mapping as the
 * client sees it.
 */
@Timeout(30)
class OpenAiUpstreamInProcessTest {
  private static final String CHAT_CHUNK = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
      + "\"model\":\"llama\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},\"finish_reason\":%s}]}";
  private static final String USAGE = "{\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
      + "\"completion_tokens\":3,\"total_tokens\":12}}";

  @TempDir Path dir;
  private final List<FakeOpenAiServer> fakes = new ArrayList<>();
  private RouteTable routes;
  private Server server;
  private ManagedChannel channel;
  private LlmProxyGrpc.LlmProxyBlockingStub stub;
  private final AtomicReference<Metadata> trailers = new AtomicReference<>();
  /** The route's policy; a test may set another before starting the proxy. */
  private String lb = "round_robin";

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      routes.close();
    }
    fakes.forEach(FakeOpenAiServer::close);
  }

  private static String chunk(String text, String finish) {
    return String.format(CHAT_CHUNK, text, finish == null ? "null" : "\"" + finish + "\"");
  }

  private static Answer threeTokens() {
    return Answer.stream(chunk("Hel", null), chunk("lo", null), chunk("!", "stop"), USAGE, "[DONE]");
  }

  private FakeOpenAiServer fake(java.util.function.Function<FakeOpenAiServer.Seen, Answer> script) throws Exception {
    FakeOpenAiServer fake = new FakeOpenAiServer(script);
    fakes.add(fake);
    return fake;
  }

  /** Starts the proxy over {@code fakes}, with {@code extra} YAML lines in the route. */
  private void proxy(String extra, FakeOpenAiServer... upstreams) throws Exception {
    Path key = dir.resolve("key");
    Files.writeString(key, "sk-test-123\n");
    StringBuilder urls = new StringBuilder();
    for (int i = 0; i < upstreams.length; i++) {
      urls.append(i == 0 ? "" : ", ").append("{name: gpu-").append((char) ('a' + i)).append(", address: \"")
          .append(upstreams[i].baseUrl()).append("\"}");
    }
    proxyWithRoute("""
        upstreams: [%s]
        api_key: {file: %s}
        %s
        """.formatted(urls, key, extra));
  }

  /** Starts the proxy with one OpenAI route: {@code lines} are its upstream source and any extra settings. */
  private void proxyWithRoute(String lines) throws Exception {
    ProxyConfig config = new ConfigLoader().parse("""
        routes:
          - name: chat
            models: [llama]
            default: true
            protocol: openai
            lb: %s
            health_check: {path: /health, interval: 200ms}
        """.formatted(lb) + lines.indent(4));
    RouteConfig route = config.routes().get(0);
    routes = new RouteTable(List.of(new UpstreamChannelFactory(4 << 20).create(route, route.upstreams())));
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(ProxyServer.proxyService(routes, ServerConfig.defaults(), new SimpleMeterRegistry()))
        .build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    stub = LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(new AtomicReference<>(), trailers));
  }

  /**
   * Waits until each upstream's first health poll has been answered and published (a second poll
   * starts only after the first one ended), so no pick sees an upstream still waiting for it.
   */
  private void awaitHealthPolled(FakeOpenAiServer... upstreams) {
    routes.routes().get(0).channel().getState(true); // a channel resolves (and so starts polling) once asked to connect
    await().atMost(Duration.ofSeconds(10))
        .until(() -> java.util.Arrays.stream(upstreams).allMatch(u -> u.healthPolls() >= 2));
  }

  private static CompletionRequest chat(String text) {
    return CompletionRequest.newBuilder().setModel("llama")
        .addMessages(Message.newBuilder().setRole("user").setContent(text)).setMaxTokens(16).build();
  }

  private List<CompletionChunk> stream(CompletionRequest request) {
    List<CompletionChunk> chunks = new ArrayList<>();
    stub.streamComplete(request).forEachRemaining(chunks::add);
    return chunks;
  }

  private Status failure(CompletionRequest request) {
    try {
      stream(request);
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
    throw new AssertionError("expected the call to fail");
  }

  @Test
  void streamRelaysEachDeltaAndEndsWithFinishReasonAndTheEnginesUsage() throws Exception {
    proxy("", fake(seen -> threeTokens()));
    List<CompletionChunk> chunks = stream(chat("Say hello"));

    assertThat(chunks).extracting(CompletionChunk::getText).containsExactly("Hel", "lo", "!");
    assertThat(chunks).extracting(CompletionChunk::getIndex).containsExactly(0, 1, 2);
    assertThat(chunks).extracting(CompletionChunk::getId).containsOnly("chatcmpl-1");
    CompletionChunk last = chunks.get(2);
    assertThat(last.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
    assertThat(last.getUsage().getTotalTokens()).isEqualTo(12);
    assertThat(chunks.get(0).hasUsage()).isFalse();
    assertThat(trailers.get().get(OpenAiCall.USAGE_TRAILER)).isNull();
  }

  /** A tool-calling answer as vLLM streams it: reasoning first, the call's arguments in pieces, the usage. */
  private static Answer vllmToolCall() {
    String prefix = "{\"id\":\"chatcmpl-7\",\"object\":\"chat.completion.chunk\",\"model\":\"llama\",\"choices\":"
        + "[{\"index\":0,\"delta\":";
    return Answer.stream(
        prefix + "{\"role\":\"assistant\",\"reasoning_content\":\"User wants weather.\"},\"finish_reason\":null}]}",
        prefix + "{\"tool_calls\":[{\"index\":0,\"id\":\"chatcmpl-tool-9\",\"type\":\"function\","
            + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}",
        prefix + "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\": \"}}]},"
            + "\"finish_reason\":null}]}",
        prefix + "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Oslo\\\"}\"}}]},"
            + "\"finish_reason\":null}]}",
        prefix + "{\"content\":\"\"},\"finish_reason\":\"tool_calls\"}]}",
        "{\"id\":\"chatcmpl-7\",\"choices\":[],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":9,"
            + "\"total_tokens\":59,\"prompt_tokens_details\":{\"cached_tokens\":32},"
            + "\"completion_tokens_details\":{\"reasoning_tokens\":4}}}",
        "[DONE]");
  }

  @Test
  void anEnginesStreamedToolCallReachesBothRpcsTheSame() throws Exception {
    proxy("", fake(seen -> vllmToolCall()));
    List<CompletionChunk> chunks = stream(chat("Weather in Oslo?"));
    Completion whole = stub.complete(chat("Weather in Oslo?"));

    assertThat(chunks).extracting(CompletionChunk::getReasoning)
        .containsExactly("User wants weather.", "", "", "", "");
    assertThat(chunks.get(1).getToolCalls(0).getName()).isEqualTo("get_weather");
    assertThat(chunks.get(2).getToolCalls(0).getArguments()).isEqualTo("{\"city\": ");
    CompletionChunk last = chunks.get(chunks.size() - 1);
    assertThat(last.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_TOOL_CALLS);
    assertThat(last.getUsage().getCachedPromptTokens()).isEqualTo(32);
    assertThat(last.getUsage().getReasoningTokens()).isEqualTo(4);
    assertThat(whole.getToolCallsList()).containsExactly(ToolCall.newBuilder().setId("chatcmpl-tool-9")
        .setFunction(FunctionCall.newBuilder().setName("get_weather").setArguments("{\"city\": \"Oslo\"}")).build());
    assertThat(whole.getReasoning()).isEqualTo("User wants weather.");
    assertThat(whole.getText()).isEmpty();
    assertThat(whole.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_TOOL_CALLS);
    assertThat(whole.getUsage()).isEqualTo(last.getUsage());
  }

  @Test
  void anEngineThatKnowsNoToolsStillAnswersARequestThatHasThem() throws Exception {
    FakeOpenAiServer fake = fake(seen -> threeTokens()); // answers text, whatever the request asks
    proxy("", fake);
    CompletionRequest withTools = chat("Say hello").toBuilder()
        .addTools(dev.llmproxy.v1.Tool.newBuilder().setFunction(dev.llmproxy.v1.FunctionDefinition.newBuilder()
            .setName("get_time")))
        .setLogprobs(true).build();

    Completion whole = stub.complete(withTools);

    assertThat(whole.getText()).isEqualTo("Hello!");
    assertThat(whole.getToolCallsList()).isEmpty();
    assertThat(whole.getLogprobsList()).isEmpty();
    assertThat(whole.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
    assertThat(fake.seen().get(0).body()).contains("\"tools\":[{\"type\":\"function\"");
  }

  @Test
  void asksEnginesForTheirLoadOnALeastLoadedRouteAndKeepsTheReportFromTheClient() throws Exception {
    Answer streamed = threeTokens();
    FakeOpenAiServer fake = fake(seen -> new Answer(200, Map.of("content-type", "text/event-stream",
        "endpoint-load-metrics", "TEXT named_metrics.num_requests_waiting=2"), streamed.pieces(), false));
    lb = "least_loaded";
    proxy("", fake);

    assertThat(stub.complete(chat("Say hello")).getText()).isEqualTo("Hello!");
    assertThat(fake.seen().get(0).header("endpoint-load-metrics-format")).isEqualTo("TEXT");
    assertThat(trailers.get().get(dev.llmproxy.orca.LoadReportProto.TRAILER)).isNull();
  }

  @Test
  void doesNotAskEnginesForTheirLoadOnARouteWhosePolicyIgnoresIt() throws Exception {
    FakeOpenAiServer fake = fake(seen -> threeTokens());
    proxy("", fake); // round_robin

    assertThat(stub.complete(chat("Say hello")).getText()).isEqualTo("Hello!");
    assertThat(fake.seen().get(0).header("endpoint-load-metrics-format")).isNull();
  }

  @Test
  void completeAggregatesTheSameStream() throws Exception {
    proxy("", fake(seen -> threeTokens()));
    Completion whole = stub.complete(chat("Say hello"));

    assertThat(whole.getText()).isEqualTo("Hello!");
    assertThat(whole.getId()).isEqualTo("chatcmpl-1");
    assertThat(whole.getModel()).isEqualTo("llama");
    assertThat(whole.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
    assertThat(whole.getUsage().getPromptTokens()).isEqualTo(9);
  }

  @Test
  void sendsAStreamingRequestWithTheUpstreamModelAndTheCredential() throws Exception {
    FakeOpenAiServer fake = fake(seen -> threeTokens());
    proxy("upstream_model: meta-llama/Meta-Llama-3-8B-Instruct", fake);
    stream(chat("Say hello"));
    stub.complete(CompletionRequest.newBuilder().setModel("llama").setPrompt("Once upon").build());

    FakeOpenAiServer.Seen first = fake.seen().get(0);
    assertThat(first.path()).isEqualTo("/v1/chat/completions");
    assertThat(first.header("authorization")).isEqualTo("Bearer sk-test-123");
    assertThat(first.body()).contains("\"model\":\"meta-llama/Meta-Llama-3-8B-Instruct\"")
        .contains("\"messages\":[{\"role\":\"user\",\"content\":\"Say hello\"}]")
        .contains("\"max_tokens\":16").contains("\"stream\":true").contains("\"include_usage\":true");
    assertThat(fake.seen().get(1).path()).isEqualTo("/v1/completions");
    assertThat(fake.seen().get(1).body()).contains("\"prompt\":\"Once upon\"");
  }

  @Test
  void withoutUsageTheProxyCountsTokensAndSaysItEstimated() throws Exception {
    proxy("", fake(seen -> Answer.stream(chunk("a", null), chunk("b", null), chunk("", "length"), "[DONE]")));
    List<CompletionChunk> chunks = stream(chat("12345678"));

    CompletionChunk last = chunks.get(chunks.size() - 1);
    assertThat(last.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(last.getUsage().getCompletionTokens()).isEqualTo(2);
    assertThat(last.getUsage().getPromptTokens()).isPositive();
    assertThat(trailers.get().get(OpenAiCall.USAGE_TRAILER)).isEqualTo("estimated");
  }

  @Test
  void badRequestReachesTheClientWithTheEnginesMessage() throws Exception {
    proxy("", fake(seen -> Answer.error(400, "{\"error\":{\"message\":\"max_tokens must be at most 8\","
        + "\"type\":\"invalid_request_error\"}}", Map.of("content-type", "application/json"))));
    Status status = failure(chat("x"));
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("max_tokens must be at most 8");
  }

  @Test
  void unknownModelIsNotFound() throws Exception {
    proxy("", fake(seen -> Answer.error(404, "{\"error\":{\"message\":\"The model `llama` does not exist.\"}}",
        Map.of())));
    assertThat(failure(chat("x")).getCode()).isEqualTo(Status.Code.NOT_FOUND);
  }

  @Test
  void rejectedCredentialIsUnavailableAndNeverShowsTheKey() throws Exception {
    proxy("", fake(seen -> Answer.error(401, "{\"error\":{\"message\":\"Incorrect API key sk-test-123\"}}", Map.of())));
    Status status = failure(chat("x"));
    assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(status.getDescription()).contains("credential").doesNotContain("sk-test");
  }

  @Test
  void serverErrorFailsOverToAnotherUpstream() throws Exception {
    FakeOpenAiServer broken = fake(seen -> Answer.error(500, "{\"error\":{\"message\":\"CUDA out of memory\"}}", Map.of()));
    FakeOpenAiServer healthy = fake(seen -> threeTokens());
    proxy("", broken, healthy);
    awaitHealthPolled(broken, healthy);
    for (int i = 0; i < 4; i++) {
      assertThat(stream(chat("x" + i))).hasSize(3);
    }
    assertThat(healthy.seen()).hasSize(4);
  }

  @Test
  void busyUpstreamIsAvoidedForItsRetryAfterWhileTheOtherServes() throws Exception {
    FakeOpenAiServer busy = fake(seen -> Answer.error(429, "{\"error\":{\"message\":\"slow down\"}}",
        Map.of("retry-after", "30")));
    FakeOpenAiServer free = fake(seen -> threeTokens());
    proxy("", busy, free);
    awaitHealthPolled(busy, free);
    for (int i = 0; i < 6; i++) {
      assertThat(stream(chat("x" + i))).hasSize(3);
    }
    assertThat(busy.seen()).hasSizeLessThanOrEqualTo(1); // asked once at most, then avoided
    assertThat(free.seen()).hasSize(6);
  }

  @Test
  void aMalformedEventMidStreamFailsTheCallWithTheChunkCount() throws Exception {
    proxy("", fake(seen -> Answer.stream(chunk("a", null), chunk("b", null), "{not json")));
    Iterator<CompletionChunk> it = stub.streamComplete(chat("x"));
    assertThat(it.next().getText()).isEqualTo("a");
    assertThat(it.next().getText()).isEqualTo("b");
    assertThatThrownBy(it::next).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
      assertThat(e.getStatus().getDescription()).contains("after 2 chunks").contains("malformed event");
    });
  }

  @Test
  void anErrorEventMidStreamIsNeverASilentShortStream() throws Exception {
    proxy("", fake(seen -> Answer.stream(chunk("a", null),
        "{\"error\":{\"message\":\"engine crashed\",\"type\":\"internal_error\",\"code\":500}}")));
    Status status = failure(chat("x"));
    assertThat(status.getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(status.getDescription()).contains("after 1 chunks").contains("engine crashed");
  }

  @Test
  void aStreamCutShortEndsWithAnErrorNotOk() throws Exception {
    proxy("", fake(seen -> Answer.stream(chunk("a", null), chunk("b", null)).thenDropConnection()));
    Status status = failure(chat("x"));
    assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(status.getDescription()).contains("after 2 chunks");
  }

  @Test
  void anUpstreamAnswering503OnHealthGetsNoCalls() throws Exception {
    FakeOpenAiServer loading = fake(seen -> threeTokens());
    loading.healthStatus = 503;
    FakeOpenAiServer ready = fake(seen -> threeTokens());
    proxy("", loading, ready);
    for (int i = 0; i < 6; i++) {
      assertThat(stream(chat("x" + i))).hasSize(3);
    }
    assertThat(loading.seen()).isEmpty();
    assertThat(loading.healthPolls()).isPositive();
  }

  @Test
  void pastMaxConnectionsACallIsRefusedAsBusyInsteadOfOpeningAnother() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    FakeOpenAiServer slow = fake(seen -> {
      try {
        release.await(20, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return threeTokens();
    });
    proxy("http: {max_connections: 1}", slow);
    Iterator<CompletionChunk> first = LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
        .streamComplete(chat("holds the only connection"));
    java.util.concurrent.CompletableFuture<Integer> firstChunks = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      int n = 0;
      while (first.hasNext()) {
        first.next();
        n++;
      }
      return n;
    });
    await().atMost(Duration.ofSeconds(10)).until(() -> slow.seen().size() == 1);

    Status refused = failure(chat("one too many"));
    assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.getDescription()).contains("max_connections");
    assertThat(slow.seen()).hasSize(1);

    release.countDown();
    assertThat(firstChunks.get(20, TimeUnit.SECONDS)).isEqualTo(3);
    assertThat(stream(chat("the connection is free again"))).hasSize(3); // the slot was given back
  }

  @Test
  void aDnsTargetBecomesOneUpstreamPerAddressNamedByIt() throws Exception {
    FakeOpenAiServer engine = fake(seen -> threeTokens());
    int port = java.net.URI.create(engine.baseUrl()).getPort();
    proxyWithRoute("target: dns:///127.0.0.1:" + port + "\nscheme: http");
    AtomicReference<Metadata> headers = new AtomicReference<>();
    List<CompletionChunk> chunks = new ArrayList<>();
    stub.withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, new AtomicReference<>()))
        .streamComplete(chat("resolved")).forEachRemaining(chunks::add);

    assertThat(chunks).hasSize(3);
    assertThat(engine.seen().get(0).path()).isEqualTo("/v1/chat/completions");
    assertThat(headers.get().get(Metadata.Key.of("llmproxy-upstream", Metadata.ASCII_STRING_MARSHALLER)))
        .isEqualTo("127.0.0.1:" + port);
  }
}
