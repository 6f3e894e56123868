package dev.llmproxy.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.ToolCall;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** The SDK's tool, message and response-format builders and its delta assembly, against the demo. */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ToolCallingE2ETest {
  private static final String CITY = """
      {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}""";
  private ProxyServer proxy;
  private LlmProxyClient client;

  @BeforeAll
  void start() throws Exception {
    proxy = ProxyServer.start(ProxyConfig.demo().withServer(ServerConfig.defaults().withAddress("127.0.0.1", 0)));
    client = LlmProxyClient.builder("127.0.0.1:" + proxy.port()).usePlaintext()
        .defaultDeadline(Duration.ofSeconds(20)).build();
  }

  @AfterAll
  void stop() {
    client.close();
    proxy.close();
  }

  @Test
  void aStreamsAssembledToolCallsAreCompletesToolCalls() {
    CompletionRequest request = CompletionRequest.newBuilder().setModel("sim").setMaxTokens(8)
        .addMessages(Messages.system("Use the tools."))
        .addMessages(Messages.user("Weather in Oslo?"))
        .addTools(Tools.function("get_weather", "Weather of a city", CITY))
        .addTools(Tools.function("ping", "Takes no arguments"))
        .setToolChoice(Tools.function("get_weather"))
        .build();

    Completion whole = client.complete(request);
    Completion streamed;
    int pieces = 0;
    try (CompletionStream stream = client.stream(request)) {
      for (CompletionChunk chunk : stream) {
        pieces += chunk.getToolCallsCount();
      }
      streamed = stream.completion();
    }

    assertThat(whole.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_TOOL_CALLS);
    assertThat(pieces).isGreaterThan(1);
    assertThat(streamed.getToolCallsList()).isEqualTo(whole.getToolCallsList()).hasSize(1);
    assertThat(streamed.getFinishReason()).isEqualTo(whole.getFinishReason());
    assertThat(streamed.getModel()).isEqualTo("sim");
    ToolCall call = streamed.getToolCalls(0);
    assertThat(Tools.arguments(call).getFieldsOrThrow("city").getStringValue()).isNotEmpty();
  }

  @Test
  void aJsonSchemaAnswerAndAnImagePartGoThrough() {
    Completion json = client.complete(CompletionRequest.newBuilder().setModel("sim")
        .addMessages(Messages.user(Messages.text("Describe"), Messages.imageUrl("https://example.com/a.png"),
            Messages.image(new byte[] {1, 2, 3}, "image/png")))
        .setResponseFormat(ResponseFormats.jsonSchema("weather", CITY, true))
        .build());
    ToolCall asIfArguments = ToolCall.newBuilder().setId("x")
        .setFunction(dev.llmproxy.v1.FunctionCall.newBuilder().setArguments(json.getText())).build();
    assertThat(Tools.arguments(asIfArguments).getFieldsOrThrow("city").getStringValue()).isNotEmpty();
  }

  @Test
  void aBadToolIsATypedErrorNamingTheField() {
    assertThatThrownBy(() -> client.complete(CompletionRequest.newBuilder().setModel("sim")
        .addMessages(Messages.user("x")).addTools(Tools.function("has space", "bad name")).build()))
        .isInstanceOfSatisfying(InvalidRequestException.class,
            e -> assertThat(e.field()).contains("tools[0].function.name"));
  }

  @Test
  void buildersRefuseWhatIsNotJson() {
    assertThatThrownBy(() -> Tools.function("f", "d", "[1, 2]"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("jsonSchema: not a JSON object");
    assertThatThrownBy(() -> Messages.assistant(java.util.List.of()))
        .hasMessage("toolCalls: empty (expected: the calls the model made)");
  }
}
