package dev.llmproxy.server.upstream.openai;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
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
import dev.llmproxy.v1.Tool;
import dev.llmproxy.v1.ToolCall;
import dev.llmproxy.v1.ToolChoice;
import dev.llmproxy.v1.ToolChoiceMode;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class OpenAiRequestWriterTest {
  private static String body(CompletionRequest request, String model) {
    return new String(OpenAiRequestWriter.body(request, model), StandardCharsets.UTF_8);
  }

  @Test
  void chatRequestCarriesEveryFieldAndAlwaysStreamsWithUsage() {
    CompletionRequest request = CompletionRequest.newBuilder().setModel("chat")
        .addMessages(Message.newBuilder().setRole("system").setContent("Be \"brief\""))
        .addMessages(Message.newBuilder().setRole("user").setContent("Hi\n"))
        .setMaxTokens(32).setTemperature(0.5f).setTopP(0.9f).addStop("END").addStop("\n\n").setSeed(42).build();
    assertThat(OpenAiRequestWriter.isChat(request)).isTrue();
    assertThat(body(request, "meta-llama/Llama-3")).isEqualTo("{\"model\":\"meta-llama/Llama-3\","
        + "\"messages\":[{\"role\":\"system\",\"content\":\"Be \\\"brief\\\"\"},{\"role\":\"user\",\"content\":\"Hi\\n\"}],"
        + "\"max_tokens\":32,\"temperature\":0.5,\"top_p\":0.9,\"stop\":[\"END\",\"\\n\\n\"],\"seed\":42,"
        + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
  }

  @Test
  void promptRequestLeavesUnsetFieldsToTheEngine() {
    CompletionRequest request = CompletionRequest.newBuilder().setPrompt("Once").build();
    assertThat(OpenAiRequestWriter.isChat(request)).isFalse();
    assertThat(body(request, "m")).isEqualTo(
        "{\"model\":\"m\",\"prompt\":\"Once\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
  }

  @Test
  void anEmptyModelIsLeftOut() {
    assertThat(body(CompletionRequest.newBuilder().setPrompt("x").build(), "")).doesNotContain("model");
  }

  @Test
  void temperatureZeroIsSentNotDropped() {
    assertThat(body(CompletionRequest.newBuilder().setPrompt("x").setTemperature(0f).build(), "m"))
        .contains("\"temperature\":0.0");
  }

  private static JsonNode json(CompletionRequest request) throws Exception {
    return new ObjectMapper().readTree(OpenAiRequestWriter.body(request, "m"));
  }

  private static JsonNode json(String text) throws Exception {
    return new ObjectMapper().readTree(text);
  }

  @Test
  void toolsToolChoiceAndToolTurnsTakeTheirOpenAiShapes() throws Exception {
    Struct schema = Struct.newBuilder().putFields("type", Value.newBuilder().setStringValue("object").build())
        .putFields("minProperties", Value.newBuilder().setNumberValue(1).build()).build();
    CompletionRequest request = CompletionRequest.newBuilder()
        .addMessages(Message.newBuilder().setRole("user").setContent("Weather?"))
        .addMessages(Message.newBuilder().setRole("assistant").addToolCalls(ToolCall.newBuilder().setId("call_1")
            .setFunction(FunctionCall.newBuilder().setName("get_weather").setArguments("{\"city\":\"Oslo\"}"))))
        .addMessages(Message.newBuilder().setRole("tool").setToolCallId("call_1").setContent("-3"))
        .addTools(Tool.newBuilder().setFunction(FunctionDefinition.newBuilder().setName("get_weather")
            .setDescription("Weather").setParameters(schema).setStrict(true)))
        .setToolChoice(ToolChoice.newBuilder().setFunctionName("get_weather"))
        .setParallelToolCalls(false)
        .build();

    JsonNode body = json(request);

    assertThat(body.get("messages").get(1)).isEqualTo(json("""
        {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
         "function":{"name":"get_weather","arguments":"{\\"city\\":\\"Oslo\\"}"}}]}"""));
    assertThat(body.get("messages").get(2)).isEqualTo(json("""
        {"role":"tool","content":"-3","tool_call_id":"call_1"}"""));
    assertThat(body.get("tools")).isEqualTo(json("""
        [{"type":"function","function":{"name":"get_weather","description":"Weather",
          "parameters":{"type":"object","minProperties":1},"strict":true}}]"""));
    assertThat(body.get("tool_choice")).isEqualTo(json("{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}"));
    assertThat(body.get("parallel_tool_calls").booleanValue()).isFalse();
    assertThat(json(request.toBuilder().setToolChoice(ToolChoice.newBuilder()
        .setMode(ToolChoiceMode.TOOL_CHOICE_MODE_REQUIRED)).build()).get("tool_choice").textValue()).isEqualTo("required");
  }

  @Test
  void contentPartsBecomeTextAndImageUrlPartsWithInlineBytesAsADataUrl() throws Exception {
    CompletionRequest request = CompletionRequest.newBuilder()
        .addMessages(Message.newBuilder().setRole("user")
            .addParts(ContentPart.newBuilder().setText("What is this?"))
            .addParts(ContentPart.newBuilder().setImage(ImagePart.newBuilder().setUrl("https://x/a.png").setDetail("high")))
            .addParts(ContentPart.newBuilder().setImage(ImagePart.newBuilder()
                .setData(ByteString.copyFrom(new byte[] {1, 2, 3})).setMediaType("image/jpeg"))))
        .build();
    assertThat(json(request).get("messages").get(0).get("content")).isEqualTo(json("""
        [{"type":"text","text":"What is this?"},
         {"type":"image_url","image_url":{"url":"https://x/a.png","detail":"high"}},
         {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,AQID"}}]"""));
  }

  @Test
  void responseFormatLogprobsUserAndExtraFieldsAreTopLevel() throws Exception {
    Struct schema = Struct.newBuilder().putFields("type", Value.newBuilder().setStringValue("object").build()).build();
    CompletionRequest chat = CompletionRequest.newBuilder()
        .addMessages(Message.newBuilder().setRole("user").setContent("hi"))
        .setResponseFormat(ResponseFormat.newBuilder().setJsonSchema(JsonSchemaFormat.newBuilder()
            .setName("answer").setSchema(schema).setStrict(true)))
        .setLogprobs(true).setTopLogprobs(2).setUser("u-1").putMetadata("team", "a")
        .setExtra(Struct.newBuilder().putFields("top_k", Value.newBuilder().setNumberValue(40).build())
            .putFields("min_p", Value.newBuilder().setNumberValue(0.05).build()))
        .build();

    JsonNode body = json(chat);

    assertThat(body.get("response_format")).isEqualTo(json("""
        {"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object"},"strict":true}}"""));
    assertThat(body.get("logprobs").booleanValue()).isTrue();
    assertThat(body.get("top_logprobs").intValue()).isEqualTo(2);
    assertThat(body.get("user").textValue()).isEqualTo("u-1");
    assertThat(body.get("top_k").isIntegralNumber()).as("40, not 40.0").isTrue();
    assertThat(body.get("top_k").intValue()).isEqualTo(40);
    assertThat(body.get("min_p").doubleValue()).isEqualTo(0.05);
    assertThat(body.has("metadata")).isFalse();
    // the legacy completions API asks for logprobs with the number of alternatives
    JsonNode legacy = json(chat.toBuilder().clearMessages().setPrompt("hi").build());
    assertThat(legacy.get("logprobs").intValue()).isEqualTo(2);
    assertThat(legacy.has("top_logprobs")).isFalse();
    assertThat(json(chat.toBuilder().setResponseFormat(ResponseFormat.newBuilder()
        .setJsonObject(JsonObjectFormat.getDefaultInstance())).build()).get("response_format"))
        .isEqualTo(json("{\"type\":\"json_object\"}"));
  }
}
