package dev.llmproxy.server.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.ByteString;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.ContentPart;
import dev.llmproxy.v1.FunctionCall;
import dev.llmproxy.v1.FunctionDefinition;
import dev.llmproxy.v1.ImagePart;
import dev.llmproxy.v1.JsonObjectFormat;
import dev.llmproxy.v1.JsonSchemaFormat;
import dev.llmproxy.v1.Message;
import dev.llmproxy.v1.ResponseFormat;
import dev.llmproxy.v1.TextFormat;
import dev.llmproxy.v1.Tool;
import dev.llmproxy.v1.ToolCall;
import dev.llmproxy.v1.ToolChoice;
import dev.llmproxy.v1.ToolChoiceMode;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class CacheKeyTest {
  private static final CompletionRequest BASE = CompletionRequest.newBuilder()
      .setModel("m").setPrompt("hello").setMaxTokens(16).setTemperature(0).setTopP(1).addStop("\n").setSeed(3)
      .build();

  private static CacheKey key(CompletionRequest request) {
    return CacheKey.of("shared", "chat", request);
  }

  @Test
  void fieldOrderOnTheWireDoesNotChangeTheKey() throws Exception {
    // Another client writes the same request with its fields in reverse order.
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    out.writeInt64(8, 3);
    out.writeString(7, "\n");
    out.writeFloat(6, 1);
    out.writeFloat(5, 0);
    out.writeInt32(3, 16);
    out.writeString(2, "hello");
    out.writeString(1, "m");
    out.flush();
    CompletionRequest reordered = CompletionRequest.parseFrom(bytes.toByteArray());

    assertThat(reordered.toByteArray()).isNotEqualTo(bytes.toByteArray());
    assertThat(key(reordered)).isEqualTo(key(BASE)).hasSameHashCodeAs(key(BASE));
  }

  @Test
  void stopSequencesAreASet() {
    CompletionRequest a = BASE.toBuilder().clearStop().addStop("x").addStop("y").build();
    CompletionRequest b = BASE.toBuilder().clearStop().addStop("y").addStop("x").addStop("y").build();
    assertThat(key(a)).isEqualTo(key(b));
  }

  @Test
  void negativeZeroTemperatureMeansZero() {
    assertThat(key(BASE.toBuilder().setTemperature(-0.0f).build())).isEqualTo(key(BASE));
  }

  @Test
  void everyFieldThatChangesTheAnswerChangesTheKey() {
    List<UnaryOperator<CompletionRequest.Builder>> changes = List.of(
        b -> b.setModel("other"),
        b -> b.setPrompt("hello!"),
        b -> b.setMaxTokens(17),
        b -> b.setTemperature(0.5f),
        b -> b.clearTemperature(),
        b -> b.setTopP(0.9f),
        b -> b.clearTopP(),
        b -> b.addStop("."),
        b -> b.clearStop(),
        b -> b.setSeed(4),
        b -> b.clearSeed(),
        b -> b.clearPrompt().addMessages(Message.newBuilder().setRole("user").setContent("hello")));
    for (UnaryOperator<CompletionRequest.Builder> change : changes) {
      assertThat(key(change.apply(BASE.toBuilder()).build())).isNotEqualTo(key(BASE));
    }
  }

  private static final Struct SCHEMA = Struct.newBuilder()
      .putFields("type", Value.newBuilder().setStringValue("object").build())
      .putFields("properties", Value.newBuilder().setStructValue(Struct.newBuilder()
          .putFields("city", Value.newBuilder().setStructValue(Struct.newBuilder()
              .putFields("type", Value.newBuilder().setStringValue("string").build())).build())).build())
      .build();
  private static final CompletionRequest TOOLS = CompletionRequest.newBuilder().setModel("m").setSeed(3)
      .addMessages(Message.newBuilder().setRole("user").setContent("weather?"))
      .addTools(Tool.newBuilder().setFunction(FunctionDefinition.newBuilder().setName("get_weather")
          .setDescription("d").setParameters(SCHEMA)))
      .build();

  private static void assertChangesTheKey(String field, UnaryOperator<CompletionRequest.Builder> change) {
    assertThat(key(change.apply(TOOLS.toBuilder()).build())).as(field).isNotEqualTo(key(TOOLS));
  }

  @Test
  void aToolsSchemaNameDescriptionOrStrictnessChangesTheKey() {
    assertChangesTheKey("tools[].function.parameters", b -> b.setTools(0, b.getTools(0).toBuilder()
        .setFunction(b.getTools(0).getFunction().toBuilder().setParameters(SCHEMA.toBuilder()
            .putFields("required", Value.newBuilder().setListValue(ListValue.newBuilder()
                .addValues(Value.newBuilder().setStringValue("city"))).build())))));
    assertChangesTheKey("tools[].function.name", b -> b.setTools(0, Tool.newBuilder()
        .setFunction(b.getTools(0).getFunction().toBuilder().setName("get_weather2"))));
    assertChangesTheKey("tools[].function.description", b -> b.setTools(0, Tool.newBuilder()
        .setFunction(b.getTools(0).getFunction().toBuilder().setDescription("other"))));
    assertChangesTheKey("tools[].function.strict", b -> b.setTools(0, Tool.newBuilder()
        .setFunction(b.getTools(0).getFunction().toBuilder().setStrict(true))));
    assertChangesTheKey("tools", b -> b.addTools(Tool.newBuilder()
        .setFunction(FunctionDefinition.newBuilder().setName("get_time"))));
    assertChangesTheKey("tools (none)", b -> b.clearTools());
  }

  @Test
  void toolChoiceAndParallelToolCallsChangeTheKey() {
    assertChangesTheKey("tool_choice.mode", b -> b.setToolChoice(
        ToolChoice.newBuilder().setMode(ToolChoiceMode.TOOL_CHOICE_MODE_REQUIRED)));
    assertChangesTheKey("tool_choice.function_name", b -> b.setToolChoice(
        ToolChoice.newBuilder().setFunctionName("get_weather")));
    assertChangesTheKey("parallel_tool_calls", b -> b.setParallelToolCalls(false));
    assertThat(key(TOOLS.toBuilder().setToolChoice(ToolChoice.newBuilder().setMode(ToolChoiceMode.TOOL_CHOICE_MODE_NONE)).build()))
        .isNotEqualTo(key(TOOLS.toBuilder().setToolChoice(ToolChoice.newBuilder().setMode(ToolChoiceMode.TOOL_CHOICE_MODE_AUTO)).build()));
  }

  @Test
  void responseFormatChangesTheKey() {
    assertChangesTheKey("response_format.json_object", b -> b.setResponseFormat(
        ResponseFormat.newBuilder().setJsonObject(JsonObjectFormat.getDefaultInstance())));
    CompletionRequest schema = TOOLS.toBuilder().setResponseFormat(ResponseFormat.newBuilder()
        .setJsonSchema(JsonSchemaFormat.newBuilder().setName("a").setSchema(SCHEMA))).build();
    assertThat(key(schema)).isNotEqualTo(key(TOOLS));
    assertThat(key(schema.toBuilder().setResponseFormat(ResponseFormat.newBuilder()
        .setJsonSchema(JsonSchemaFormat.newBuilder().setName("a").setSchema(Struct.getDefaultInstance()))).build()))
        .as("response_format.json_schema.schema").isNotEqualTo(key(schema));
    assertThat(key(TOOLS.toBuilder().setResponseFormat(ResponseFormat.newBuilder()
        .setText(TextFormat.getDefaultInstance())).build())).as("text is the default").isEqualTo(key(TOOLS));
  }

  @Test
  void contentPartsToolCallsAndToolResultsChangeTheKey() {
    UnaryOperator<CompletionRequest.Builder> image = b -> b.setMessages(0, Message.newBuilder().setRole("user")
        .addParts(ContentPart.newBuilder().setText("weather?"))
        .addParts(ContentPart.newBuilder().setImage(ImagePart.newBuilder().setUrl("https://x/a.png"))));
    assertChangesTheKey("messages[].parts", image);
    assertThat(key(image.apply(TOOLS.toBuilder()).build())).as("messages[].parts[].image.url")
        .isNotEqualTo(key(TOOLS.toBuilder().setMessages(0, Message.newBuilder().setRole("user")
            .addParts(ContentPart.newBuilder().setText("weather?"))
            .addParts(ContentPart.newBuilder().setImage(ImagePart.newBuilder().setUrl("https://x/b.png")))).build()));
    assertThat(key(TOOLS.toBuilder().setMessages(0, Message.newBuilder().setRole("user")
        .addParts(ContentPart.newBuilder().setImage(ImagePart.newBuilder().setData(ByteString.copyFromUtf8("a"))
            .setMediaType("image/png")))).build())).as("messages[].parts[].image.data")
        .isNotEqualTo(key(TOOLS.toBuilder().setMessages(0, Message.newBuilder().setRole("user")
            .addParts(ContentPart.newBuilder().setImage(ImagePart.newBuilder().setData(ByteString.copyFromUtf8("b"))
                .setMediaType("image/png")))).build()));
    ToolCall call = ToolCall.newBuilder().setId("call_1")
        .setFunction(FunctionCall.newBuilder().setName("get_weather").setArguments("{\"city\":\"Oslo\"}")).build();
    CompletionRequest turn = TOOLS.toBuilder()
        .addMessages(Message.newBuilder().setRole("assistant").addToolCalls(call))
        .addMessages(Message.newBuilder().setRole("tool").setToolCallId("call_1").setContent("-3"))
        .build();
    assertThat(key(turn.toBuilder().setMessages(1, Message.newBuilder().setRole("assistant")
        .addToolCalls(call.toBuilder().setFunction(call.getFunction().toBuilder().setArguments("{}")))).build()))
        .as("messages[].tool_calls").isNotEqualTo(key(turn));
    assertThat(key(turn.toBuilder().setMessages(2, turn.getMessages(2).toBuilder().setToolCallId("call_2")).build()))
        .as("messages[].tool_call_id").isNotEqualTo(key(turn));
  }

  @Test
  void logprobsAndExtraChangeTheKey() {
    assertChangesTheKey("logprobs", b -> b.setLogprobs(true));
    assertThat(key(TOOLS.toBuilder().setLogprobs(true).setTopLogprobs(2).build())).as("top_logprobs")
        .isNotEqualTo(key(TOOLS.toBuilder().setLogprobs(true).build()));
    assertChangesTheKey("extra", b -> b.setExtra(Struct.newBuilder()
        .putFields("top_k", Value.newBuilder().setNumberValue(40).build())));
    assertThat(key(TOOLS.toBuilder().setExtra(Struct.newBuilder()
        .putFields("top_k", Value.newBuilder().setNumberValue(40).build())).build()))
        .as("extra values").isNotEqualTo(key(TOOLS.toBuilder().setExtra(Struct.newBuilder()
            .putFields("top_k", Value.newBuilder().setNumberValue(41).build())).build()));
  }

  @Test
  void userAndMetadataAreNotPartOfTheKey() {
    assertThat(key(TOOLS.toBuilder().setUser("alice").build())).isEqualTo(key(TOOLS));
    assertThat(key(TOOLS.toBuilder().putMetadata("team", "a").build())).isEqualTo(key(TOOLS));
  }

  @Test
  void theKeyOrderOfAJsonSchemaDoesNotChangeTheKey() {
    Struct reordered = Struct.newBuilder()
        .putFields("properties", SCHEMA.getFieldsOrThrow("properties"))
        .putFields("type", SCHEMA.getFieldsOrThrow("type"))
        .build();
    assertThat(key(TOOLS.toBuilder().setTools(0, Tool.newBuilder().setFunction(
        TOOLS.getTools(0).getFunction().toBuilder().setParameters(reordered))).build())).isEqualTo(key(TOOLS));
  }

  @Test
  void routeAndNamespaceArePartOfTheKey() {
    assertThat(CacheKey.of("shared", "code", BASE)).isNotEqualTo(key(BASE));
    assertThat(CacheKey.of("key:a", "chat", BASE)).isNotEqualTo(CacheKey.of("key:b", "chat", BASE));
    assertThat(CacheKey.of("key:a", "chat", BASE)).isEqualTo(CacheKey.of("key:a", "chat", BASE));
  }

  @Test
  void lengthPrefixesKeepAdjacentFieldsFromRunningTogether() {
    CompletionRequest a = chat(Message.newBuilder().setRole("user").setContent("ab").build());
    CompletionRequest b = chat(Message.newBuilder().setRole("usera").setContent("b").build());
    CompletionRequest c = chat(Message.newBuilder().setRole("user").setContent("a").build(),
        Message.newBuilder().setRole("b").build());
    assertThat(key(a)).isNotEqualTo(key(b));
    assertThat(key(a)).isNotEqualTo(key(c));
    assertThat(CacheKey.of("ab", "c", BASE)).isNotEqualTo(CacheKey.of("a", "bc", BASE));
  }

  @Test
  void theKeyPrintsAsASha256InHex() {
    assertThat(key(BASE).toString()).hasSize(64).matches("[0-9a-f]+");
  }

  private static CompletionRequest chat(Message... messages) {
    return CompletionRequest.newBuilder().addAllMessages(List.of(messages)).setSeed(1).build();
  }
}
