package dev.llmproxy.server.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.ContentPart;
import dev.llmproxy.v1.FunctionCall;
import dev.llmproxy.v1.FunctionDefinition;
import dev.llmproxy.v1.ImagePart;
import dev.llmproxy.v1.JsonSchemaFormat;
import dev.llmproxy.v1.Message;
import dev.llmproxy.v1.ResponseFormat;
import dev.llmproxy.v1.Tool;
import dev.llmproxy.v1.ToolCall;
import dev.llmproxy.v1.ToolChoice;
import dev.llmproxy.v1.ToolChoiceMode;
import io.grpc.Status;
import java.util.List;
import org.junit.jupiter.api.Test;

class RequestValidatorTest {
  private final RequestValidator validator = new RequestValidator();
  private final RouteConfig route = RouteConfig.forUpstreams(
      List.of(UpstreamEndpoint.parse("test", "127.0.0.1:1")), LbPolicy.ROUND_ROBIN);

  private Status check(CompletionRequest.Builder request) {
    return validator.check(request.build(), route);
  }

  @Test
  void acceptsAPromptOrMessages() {
    assertThat(check(CompletionRequest.newBuilder().setPrompt("hi")).isOk()).isTrue();
    assertThat(check(CompletionRequest.newBuilder()
        .addMessages(Message.newBuilder().setRole("user").setContent("hi"))
        .setTemperature(0).setTopP(1).setMaxTokens(4096)).isOk()).isTrue();
  }

  @Test
  void rejectsNeitherOrBothPromptAndMessages() {
    assertThat(check(CompletionRequest.newBuilder()).getDescription())
        .isEqualTo("prompt/messages: neither set (expected: exactly one of prompt or messages)");
    assertThat(check(CompletionRequest.newBuilder().setPrompt("a")
        .addMessages(Message.newBuilder().setRole("user").setContent("b"))).getDescription())
        .startsWith("prompt/messages: both set");
  }

  @Test
  void rejectsOutOfRangeValuesNamingTheField() {
    assertThat(check(CompletionRequest.newBuilder().setPrompt("a").setMaxTokens(-1)).getDescription())
        .isEqualTo("max_tokens: -1 (expected: 0 for the route default, up to 4096 on route 'default')");
    assertThat(check(CompletionRequest.newBuilder().setPrompt("a").setMaxTokens(4097)).getDescription())
        .startsWith("max_tokens: 4097");
    assertThat(check(CompletionRequest.newBuilder().setPrompt("a").setTemperature(2.5f)).getDescription())
        .isEqualTo("temperature: 2.5 (expected: 0 to 2)");
    assertThat(check(CompletionRequest.newBuilder().setPrompt("a").setTemperature(Float.NaN)).getDescription())
        .startsWith("temperature: NaN");
    assertThat(check(CompletionRequest.newBuilder().setPrompt("a").setTopP(-0.1f)).getDescription())
        .startsWith("top_p: -0.1");
    assertThat(check(CompletionRequest.newBuilder().setPrompt("a").addStop("")).getDescription())
        .isEqualTo("stop[0]: empty (expected: a non-empty string)");
    assertThat(check(CompletionRequest.newBuilder()
        .addMessages(Message.newBuilder().setRole("").setContent("x"))).getDescription())
        .startsWith("messages[0].role: empty");
    assertThat(check(CompletionRequest.newBuilder().setPrompt("a").setMaxTokens(-1)).getCode())
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  private static CompletionRequest.Builder chat() {
    return CompletionRequest.newBuilder().addMessages(Message.newBuilder().setRole("user").setContent("hi"));
  }

  private static Tool function(String name, Struct parameters) {
    FunctionDefinition.Builder f = FunctionDefinition.newBuilder().setName(name);
    if (parameters != null) {
      f.setParameters(parameters);
    }
    return Tool.newBuilder().setFunction(f).build();
  }

  private static Struct type(String type) {
    return Struct.newBuilder().putFields("type", Value.newBuilder().setStringValue(type).build()).build();
  }

  @Test
  void acceptsAToolCallingConversation() {
    ToolCall call = ToolCall.newBuilder().setId("call_1")
        .setFunction(FunctionCall.newBuilder().setName("f").setArguments("{}")).build();
    assertThat(check(chat().addTools(function("f", type("object"))).addTools(function("g", null))
        .setToolChoice(ToolChoice.newBuilder().setFunctionName("g")).setParallelToolCalls(true)
        .addMessages(Message.newBuilder().setRole("assistant").addToolCalls(call))
        .addMessages(Message.newBuilder().setRole("tool").setToolCallId("call_1").setContent("ok"))
        .setResponseFormat(ResponseFormat.newBuilder().setJsonSchema(JsonSchemaFormat.newBuilder()
            .setName("answer").setSchema(type("object"))))
        .setLogprobs(true).setTopLogprobs(5).setUser("u").putMetadata("team", "a")
        .setExtra(Struct.newBuilder().putFields("top_k", Value.newBuilder().setNumberValue(4).build())))
        .isOk()).isTrue();
  }

  @Test
  void rejectsBadToolsNamingTheField() {
    assertThat(check(chat().addTools(function("", null))).getDescription())
        .startsWith("tools[0].function.name: empty");
    assertThat(check(chat().addTools(Tool.getDefaultInstance())).getDescription())
        .startsWith("tools[0].function: missing");
    assertThat(check(chat().addTools(function("get weather", null))).getDescription())
        .startsWith("tools[0].function.name: \"get weather\" (expected: letters");
    assertThat(check(chat().addTools(function("f", null)).addTools(function("f", null))).getDescription())
        .startsWith("tools[1].function.name: \"f\" twice");
    assertThat(check(chat().addTools(function("f", type("string")))).getDescription())
        .isEqualTo("tools[0].function.parameters.type: \"string\" (expected: \"object\")");
    assertThat(check(CompletionRequest.newBuilder().setPrompt("p").addTools(function("f", null))).getDescription())
        .startsWith("tools: set on a prompt request");
    assertThat(check(chat().addTools(function("f", null))
        .setToolChoice(ToolChoice.newBuilder().setFunctionName("g"))).getDescription())
        .startsWith("tool_choice.function_name: \"g\"");
    assertThat(check(chat().setToolChoice(ToolChoice.newBuilder()
        .setMode(ToolChoiceMode.TOOL_CHOICE_MODE_REQUIRED))).getDescription())
        .startsWith("tool_choice.mode: REQUIRED without tools");
  }

  @Test
  void rejectsBadToolTurnsAndContentParts() {
    assertThat(check(chat().addMessages(Message.newBuilder().setRole("tool").setContent("42"))).getDescription())
        .startsWith("messages[1].tool_call_id: empty");
    assertThat(check(chat().addMessages(Message.newBuilder().setRole("user").setContent("x")
        .addToolCalls(ToolCall.newBuilder().setId("a")))).getDescription())
        .startsWith("messages[1].tool_calls: set on role \"user\"");
    assertThat(check(chat().addMessages(Message.newBuilder().setRole("assistant")
        .addToolCalls(ToolCall.newBuilder().setId("a")))).getDescription())
        .startsWith("messages[1].tool_calls[0].function.name: empty");
    assertThat(check(chat().addMessages(Message.newBuilder().setRole("user").setContent("x")
        .addParts(ContentPart.newBuilder().setText("y")))).getDescription())
        .startsWith("messages[1].content/parts: both set");
    assertThat(check(chat().addMessages(Message.newBuilder().setRole("user")
        .addParts(ContentPart.newBuilder().setImage(ImagePart.getDefaultInstance())))).getDescription())
        .startsWith("messages[1].parts[0].image: neither url nor data set");
    assertThat(check(chat().addMessages(Message.newBuilder().setRole("user")
        .addParts(ContentPart.newBuilder().setImage(ImagePart.newBuilder().setUrl("file:///etc/passwd"))))).getDescription())
        .isEqualTo("messages[1].parts[0].image.url: file scheme (expected: an http, https or data: URL)");
    assertThat(check(chat().addMessages(Message.newBuilder().setRole("user")
        .addParts(ContentPart.newBuilder().setImage(ImagePart.newBuilder()
            .setData(ByteString.copyFrom(new byte[] {1})))))).getDescription())
        .startsWith("messages[1].parts[0].image.media_type: \"\"");
  }

  @Test
  void rejectsAnImageOverTheLimit() {
    ByteString big = ByteString.copyFrom(new byte[MessageValidator.MAX_IMAGE_BYTES + 1]);
    assertThat(check(chat().addMessages(Message.newBuilder().setRole("user").addParts(ContentPart.newBuilder()
        .setImage(ImagePart.newBuilder().setData(big).setMediaType("image/png"))))).getDescription())
        .isEqualTo("messages[1].parts[0].image.data: 20971521 bytes (expected: at most 20971520)");
    String dataUrl = "data:image/png;base64," + "A".repeat(MessageValidator.MAX_IMAGE_BYTES / 3 * 4 + 8);
    assertThat(check(chat().addMessages(Message.newBuilder().setRole("user").addParts(ContentPart.newBuilder()
        .setImage(ImagePart.newBuilder().setUrl(dataUrl))))).getDescription())
        .startsWith("messages[1].parts[0].image.url: a data: URL of about");
  }

  @Test
  void rejectsBadResponseFormatLogprobsExtraAndMetadata() {
    assertThat(check(chat().setResponseFormat(ResponseFormat.newBuilder().setJsonSchema(
        JsonSchemaFormat.newBuilder().setName("a")))).getDescription())
        .startsWith("response_format.json_schema.schema: missing");
    assertThat(check(chat().setResponseFormat(ResponseFormat.newBuilder().setJsonSchema(
        JsonSchemaFormat.newBuilder().setSchema(type("object"))))).getDescription())
        .startsWith("response_format.json_schema.name: \"\"");
    assertThat(check(chat().setResponseFormat(ResponseFormat.newBuilder().setJsonSchema(
        JsonSchemaFormat.newBuilder().setName("a").setSchema(type("array"))))).getDescription())
        .isEqualTo("response_format.json_schema.schema.type: \"array\" (expected: \"object\")");
    assertThat(check(chat().setLogprobs(true).setTopLogprobs(21)).getDescription())
        .isEqualTo("top_logprobs: 21 (expected: 0 to 20)");
    assertThat(check(chat().setTopLogprobs(2)).getDescription())
        .startsWith("top_logprobs: 2 without logprobs");
    assertThat(check(chat().setExtra(Struct.newBuilder()
        .putFields("stream", Value.newBuilder().setBoolValue(false).build()))).getDescription())
        .startsWith("extra.stream: a field the API carries");
    CompletionRequest.Builder many = chat();
    for (int i = 0; i < 17; i++) {
      many.putMetadata("k" + i, "v");
    }
    assertThat(check(many).getDescription()).isEqualTo("metadata: 17 entries (expected: at most 16)");
  }

  @Test
  void fillsTheRouteDefaultForZeroMaxTokens() {
    assertThat(validator.withDefaults(CompletionRequest.newBuilder().setPrompt("a").build(), route)
        .getMaxTokens()).isEqualTo(RouteConfig.DEFAULT_MAX_TOKENS);
    assertThat(validator.withDefaults(CompletionRequest.newBuilder().setPrompt("a").setMaxTokens(7).build(), route)
        .getMaxTokens()).isEqualTo(7);
  }
}
