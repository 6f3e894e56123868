package dev.llmproxy.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.llmproxy.server.completion.CompletionAssembler;
import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.sim.CallRecorder;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.sim.openai.OpenAiSimulatedBackend;
import dev.llmproxy.testing.JsonSchemaCheck;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.ContentPart;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.FunctionCall;
import dev.llmproxy.v1.FunctionDefinition;
import dev.llmproxy.v1.ImagePart;
import dev.llmproxy.v1.JsonSchemaFormat;
import dev.llmproxy.v1.LlmProxyGrpc;
import dev.llmproxy.v1.Message;
import dev.llmproxy.v1.ResponseFormat;
import dev.llmproxy.v1.Tool;
import dev.llmproxy.v1.ToolCall;
import dev.llmproxy.v1.ToolChoice;
import dev.llmproxy.v1.ToolChoiceMode;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Tools, structured output, content parts, reasoning, logprobs and engine parameters end to end: a
 * proxy on a real socket, one route to a gRPC simulated backend and one to an OpenAI-compatible one,
 * each feature through both RPCs and both upstream protocols. The model name picks the protocol:
 * {@code sim-grpc}, {@code sim-openai} (and {@code reasoner-*} for reasoning).
 */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApiFeaturesE2ETest {
  static final Struct WEATHER_SCHEMA = schema("""
      {"type": "object", "properties": {
        "city": {"type": "string", "minLength": 3},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "hourly": {"type": "boolean"}},
       "required": ["city", "days"], "additionalProperties": false}""");
  static final Tool WEATHER = tool("get_weather", WEATHER_SCHEMA);
  static final Tool TIME = tool("get_time", schema("""
      {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}"""));

  private SimulatedBackend grpcSim;
  private OpenAiSimulatedBackend openAiSim;
  private ProxyServer proxy;
  private ManagedChannel channel;
  private LlmProxyGrpc.LlmProxyBlockingStub stub;

  @BeforeAll
  void start() throws Exception {
    grpcSim = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("grpc-sim"));
    openAiSim = OpenAiSimulatedBackend.start(SimulatedBackendConfig.defaults("openai-sim"));
    proxy = ProxyServer.start(new ConfigLoader().parse("""
        server: {port: 0}
        cache: {mode: deterministic}
        routes:
          - name: grpc
            models: [sim-grpc, reasoner-grpc]
            default: true
            upstreams: ["%s"]
          - name: openai
            models: [sim-openai, reasoner-openai]
            protocol: openai
            upstreams: ["%s"]
        """.formatted(grpcSim.address(), openAiSim.baseUrl())), new SimpleMeterRegistry());
    channel = Grpc.newChannelBuilder("127.0.0.1:" + proxy.port(), InsecureChannelCredentials.create()).build();
    stub = LlmProxyGrpc.newBlockingStub(channel);
  }

  @AfterAll
  void stop() {
    channel.shutdownNow();
    proxy.close();
    grpcSim.close();
    openAiSim.close();
  }

  static Struct schema(String json) {
    try {
      return dev.llmproxy.openai.StructJson.struct(new com.fasterxml.jackson.databind.ObjectMapper().readTree(json));
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }

  static Tool tool(String name, Struct parameters) {
    return Tool.newBuilder().setFunction(FunctionDefinition.newBuilder().setName(name)
        .setDescription("looks up " + name).setParameters(parameters)).build();
  }

  private LlmProxyGrpc.LlmProxyBlockingStub stub() {
    return stub.withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  private CallRecorder upstream(String protocol) {
    return protocol.equals("grpc") ? grpcSim.recorder() : openAiSim.recorder();
  }

  private static CompletionRequest.Builder chat(String protocol, String text) {
    return CompletionRequest.newBuilder().setModel("sim-" + protocol).setMaxTokens(12)
        .addMessages(Message.newBuilder().setRole("user").setContent(text));
  }

  private List<CompletionChunk> stream(CompletionRequest request) {
    List<CompletionChunk> chunks = new ArrayList<>();
    stub().streamComplete(request).forEachRemaining(chunks::add);
    return chunks;
  }

  private static Completion assemble(List<CompletionChunk> chunks, String model) {
    CompletionAssembler assembler = new CompletionAssembler();
    chunks.forEach(assembler::add);
    return assembler.build(model);
  }

  @ParameterizedTest
  @ValueSource(strings = {"grpc", "openai"})
  void requiredToolChoiceAnswersWithAToolCallWhoseArgumentsFitTheSchema(String protocol) {
    CompletionRequest request = chat(protocol, "Weather in Lisbon?").addTools(WEATHER).addTools(TIME)
        .setToolChoice(ToolChoice.newBuilder().setMode(ToolChoiceMode.TOOL_CHOICE_MODE_REQUIRED)).build();

    Completion whole = stub().complete(request);
    List<CompletionChunk> chunks = stream(request);

    assertThat(whole.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_TOOL_CALLS);
    assertThat(whole.getToolCallsList()).hasSize(1);
    ToolCall call = whole.getToolCalls(0);
    assertThat(call.getId()).startsWith("call_");
    assertThat(call.getFunction().getName()).isEqualTo("get_weather");
    assertThat(JsonSchemaCheck.violations(call.getFunction().getArguments(), WEATHER_SCHEMA)).isEmpty();
    // the stream carries the arguments in pieces; put together they are Complete's tool calls
    assertThat(chunks.stream().filter(c -> c.getToolCallsCount() > 0).count()).isGreaterThan(1);
    assertThat(chunks.get(0).getToolCalls(0).getName()).isEqualTo("get_weather");
    assertThat(chunks.get(1).getToolCalls(0).getName()).isEmpty();
    Completion assembled = assemble(chunks, whole.getModel());
    assertThat(assembled.getToolCallsList()).isEqualTo(whole.getToolCallsList());
    assertThat(assembled.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_TOOL_CALLS);
    assertThat(assembled.getUsage()).isEqualTo(whole.getUsage());
    assertThat(upstream(protocol).lastCall().request().getToolsList()).containsExactly(WEATHER, TIME);
  }

  @ParameterizedTest
  @ValueSource(strings = {"grpc", "openai"})
  void aNamedFunctionIsCalledAndParallelCallsCarryTheirIndex(String protocol) {
    Completion named = stub().complete(chat(protocol, "What time is it?").addTools(WEATHER).addTools(TIME)
        .setToolChoice(ToolChoice.newBuilder().setFunctionName("get_time")).build());
    assertThat(named.getToolCallsList()).extracting(c -> c.getFunction().getName()).containsExactly("get_time");

    CompletionRequest parallel = chat(protocol, "Both, please").addTools(WEATHER).addTools(TIME)
        .setParallelToolCalls(true).build();
    Completion whole = stub().complete(parallel);
    List<CompletionChunk> chunks = stream(parallel);
    assertThat(whole.getToolCallsList()).extracting(c -> c.getFunction().getName())
        .containsExactly("get_weather", "get_time");
    assertThat(chunks.stream().flatMap(c -> c.getToolCallsList().stream()).map(d -> d.getIndex()).distinct())
        .containsExactly(0, 1);
    assertThat(assemble(chunks, whole.getModel()).getToolCallsList()).isEqualTo(whole.getToolCallsList());
    assertThat(upstream(protocol).lastCall().request().getParallelToolCalls()).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {"grpc", "openai"})
  void aToolResultTurnReachesTheUpstreamAndIsAnsweredWithText(String protocol) {
    Completion first = stub().complete(chat(protocol, "Weather in Porto?").addTools(WEATHER).build());
    ToolCall call = first.getToolCalls(0);
    CompletionRequest second = chat(protocol, "Weather in Porto?").addTools(WEATHER)
        .addMessages(Message.newBuilder().setRole("assistant").addToolCalls(call))
        .addMessages(Message.newBuilder().setRole("tool").setToolCallId(call.getId()).setContent("{\"temp\": 21}"))
        .build();

    Completion answer = stub().complete(second);
    String streamed = String.join("", stream(second).stream().map(CompletionChunk::getText).toList());

    assertThat(answer.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(answer.getToolCallsList()).isEmpty();
    assertThat(answer.getText()).isNotEmpty().isEqualTo(streamed);
    List<Message> seen = upstream(protocol).lastCall().request().getMessagesList();
    assertThat(seen.get(1).getToolCallsList()).containsExactly(call);
    assertThat(seen.get(2).getRole()).isEqualTo("tool");
    assertThat(seen.get(2).getToolCallId()).isEqualTo(call.getId());
    assertThat(seen.get(2).getContent()).isEqualTo("{\"temp\": 21}");
  }

  @ParameterizedTest
  @ValueSource(strings = {"grpc", "openai"})
  void aJsonSchemaResponseFormatIsAnsweredWithJsonThatValidates(String protocol) {
    Struct answerSchema = schema("""
        {"type": "object", "properties": {"title": {"type": "string"},
          "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
          "score": {"type": "number", "minimum": 0, "maximum": 1}}, "required": ["title", "tags", "score"]}""");
    CompletionRequest request = chat(protocol, "Summarise").setResponseFormat(ResponseFormat.newBuilder()
        .setJsonSchema(JsonSchemaFormat.newBuilder().setName("summary").setSchema(answerSchema).setStrict(true)))
        .build();

    Completion whole = stub().complete(request);
    String streamed = String.join("", stream(request).stream().map(CompletionChunk::getText).toList());

    assertThat(JsonSchemaCheck.violations(whole.getText(), answerSchema)).isEmpty();
    assertThat(streamed).isEqualTo(whole.getText());
    assertThat(whole.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
    assertThat(upstream(protocol).lastCall().request().getResponseFormat().getJsonSchema().getSchema())
        .isEqualTo(answerSchema);
  }

  @ParameterizedTest
  @ValueSource(strings = {"grpc", "openai"})
  void aReasoningModelStreamsItsReasoningApartFromTheText(String protocol) {
    CompletionRequest request = chat(protocol, "Think first").setModel("reasoner-" + protocol).build();

    Completion whole = stub().complete(request);
    List<CompletionChunk> chunks = stream(request);

    assertThat(whole.getReasoning()).isNotEmpty();
    assertThat(whole.getText()).isNotEmpty().doesNotContain(whole.getReasoning());
    assertThat(whole.getUsage().getReasoningTokens()).isEqualTo(12);
    assertThat(whole.getUsage().getCompletionTokens()).isEqualTo(24);
    assertThat(chunks.get(0).getReasoning()).isNotEmpty();
    assertThat(chunks.get(0).getText()).isEmpty();
    Completion assembled = assemble(chunks, whole.getModel());
    assertThat(assembled.getReasoning()).isEqualTo(whole.getReasoning());
    assertThat(assembled.getText()).isEqualTo(whole.getText());
    assertThat(assembled.getUsage()).isEqualTo(whole.getUsage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"grpc", "openai"})
  void logprobsArriveOnChunksAndOnTheCompletion(String protocol) {
    CompletionRequest request = chat(protocol, "Be sure").setLogprobs(true).setTopLogprobs(3).build();
    CompletionRequest prompt = request.toBuilder().clearMessages().setPrompt("Be sure").build();

    Completion whole = stub().complete(request);
    List<CompletionChunk> chunks = stream(request);
    Completion legacy = stub().complete(prompt); // OpenAI: the completions API's other logprobs shape

    for (Completion c : List.of(whole, legacy)) {
      assertThat(c.getLogprobsList()).hasSize(12);
      assertThat(c.getLogprobsList()).allSatisfy(t -> {
        assertThat(t.getLogprob()).isLessThanOrEqualTo(0);
        assertThat(t.getTopLogprobsList()).hasSize(3);
        assertThat(t.getTopLogprobs(0).getToken()).isEqualTo(t.getToken());
      });
      assertThat(String.join("", c.getLogprobsList().stream().map(t -> t.getToken()).toList()))
          .isEqualTo(c.getText());
    }
    assertThat(chunks.get(0).getLogprobsList()).hasSize(1);
    assertThat(assemble(chunks, whole.getModel()).getLogprobsList()).isEqualTo(whole.getLogprobsList());
  }

  @ParameterizedTest
  @ValueSource(strings = {"grpc", "openai"})
  void contentPartsWithImagesReachTheUpstream(String protocol) {
    byte[] png = {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3};
    CompletionRequest request = CompletionRequest.newBuilder().setModel("sim-" + protocol).setMaxTokens(6)
        .addMessages(Message.newBuilder().setRole("user")
            .addParts(ContentPart.newBuilder().setText("What is in these pictures?"))
            .addParts(ContentPart.newBuilder().setImage(ImagePart.newBuilder()
                .setUrl("https://example.com/cat.png").setDetail("low")))
            .addParts(ContentPart.newBuilder().setImage(ImagePart.newBuilder()
                .setData(ByteString.copyFrom(png)).setMediaType("image/png"))))
        .build();

    Completion whole = stub().complete(request);
    String streamed = String.join("", stream(request).stream().map(CompletionChunk::getText).toList());

    assertThat(whole.getText()).isNotEmpty().isEqualTo(streamed);
    List<ContentPart> seen = upstream(protocol).lastCall().request().getMessages(0).getPartsList();
    assertThat(seen).hasSize(3);
    assertThat(seen.get(0).getText()).isEqualTo("What is in these pictures?");
    assertThat(seen.get(1).getImage().getUrl()).isEqualTo("https://example.com/cat.png");
    assertThat(seen.get(1).getImage().getDetail()).isEqualTo("low");
    if (protocol.equals("grpc")) {
      assertThat(seen.get(2).getImage().getData()).isEqualTo(ByteString.copyFrom(png));
    } else { // inline bytes travel as a data: URL
      assertThat(seen.get(2).getImage().getUrl())
          .isEqualTo("data:image/png;base64," + java.util.Base64.getEncoder().encodeToString(png));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"grpc", "openai"})
  void extraEngineParametersAndUserArePassedThrough(String protocol) {
    Struct extra = Struct.newBuilder()
        .putFields("top_k", Value.newBuilder().setNumberValue(40).build())
        .putFields("repetition_penalty", Value.newBuilder().setNumberValue(1.1).build())
        .putFields("guided_choice", Value.newBuilder().setListValue(ListValue.newBuilder()
            .addValues(Value.newBuilder().setStringValue("yes")).addValues(Value.newBuilder().setStringValue("no")))
            .build())
        .build();
    stub().complete(chat(protocol, "Yes or no?").setExtra(extra).setUser("user-42")
        .putMetadata("team", "search").build());

    CompletionRequest seen = upstream(protocol).lastCall().request();
    assertThat(seen.getExtra()).isEqualTo(extra);
    assertThat(seen.getUser()).isEqualTo("user-42");
    // metadata is for the proxy and gRPC upstreams; engines have no use for it
    assertThat(seen.getMetadataMap()).isEqualTo(protocol.equals("grpc") ? java.util.Map.of("team", "search")
        : java.util.Map.of());
  }

  @ParameterizedTest
  @ValueSource(strings = {"grpc", "openai"})
  void anIdenticalToolRequestIsACacheHitAndAChangedSchemaIsAMiss(String protocol) {
    CompletionRequest request = chat(protocol, "Cache my weather").addTools(WEATHER).setSeed(5)
        .setUser("first-user").build();
    Struct changed = WEATHER_SCHEMA.toBuilder().putFields("description",
        Value.newBuilder().setStringValue("now with a description").build()).build();

    assertThat(cacheStatus(request)).isEqualTo("miss");
    assertThat(cacheStatus(request.toBuilder().setUser("another-user").putMetadata("k", "v").build()))
        .as("user and metadata are not part of the key").isEqualTo("hit");
    assertThat(cacheStatus(request.toBuilder().setTools(0, tool("get_weather", changed)).build())).isEqualTo("miss");
    assertThat(cacheStatus(request)).isEqualTo("hit");
    // the entry a Complete stored replays as a stream whose deltas give the same tool calls
    AtomicReference<Metadata> headers = new AtomicReference<>();
    List<CompletionChunk> replayed = new ArrayList<>();
    stub().withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, new AtomicReference<>()))
        .streamComplete(request).forEachRemaining(replayed::add);
    assertThat(headers.get().get(Metadata.Key.of("llmproxy-cache", Metadata.ASCII_STRING_MARSHALLER))).isEqualTo("hit");
    assertThat(assemble(replayed, "m").getToolCallsList()).isEqualTo(stub().complete(request).getToolCallsList());
    assertThat(replayed.get(replayed.size() - 1).getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_TOOL_CALLS);
  }

  private String cacheStatus(CompletionRequest request) {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    Completion answer = stub().withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, new AtomicReference<>()))
        .complete(request);
    assertThat(answer.getToolCallsList()).hasSize(1);
    return headers.get().get(Metadata.Key.of("llmproxy-cache", Metadata.ASCII_STRING_MARSHALLER));
  }

  @Test
  void badToolsAreRejectedNamingTheField() {
    assertThatThrownBy(() -> stub().complete(chat("grpc", "x")
        .addTools(Tool.newBuilder().setFunction(FunctionDefinition.newBuilder().setDescription("no name"))).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).startsWith("tools[0].function.name: empty");
        });
    assertThatThrownBy(() -> stub().complete(chat("openai", "x")
        .addMessages(Message.newBuilder().setRole("tool").setContent("42")).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
            assertThat(e.getStatus().getDescription()).startsWith("messages[1].tool_call_id: empty"));
  }

  @Test
  void anAssistantTurnOfToolCallsAloneNeedsNoContent() {
    ToolCall call = ToolCall.newBuilder().setId("call_1")
        .setFunction(FunctionCall.newBuilder().setName("get_time").setArguments("{\"zone\":\"UTC\"}")).build();
    Completion answer = stub().complete(chat("openai", "Time?").addTools(TIME)
        .addMessages(Message.newBuilder().setRole("assistant").addToolCalls(call))
        .addMessages(Message.newBuilder().setRole("tool").setToolCallId("call_1").setContent("12:00"))
        .build());
    assertThat(answer.getText()).isNotEmpty();
  }
}
