package dev.llmproxy.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.llmproxy.testing.JsonSchemaCheck;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.FunctionDefinition;
import dev.llmproxy.v1.JsonObjectFormat;
import dev.llmproxy.v1.Message;
import dev.llmproxy.v1.ResponseFormat;
import dev.llmproxy.v1.Tool;
import dev.llmproxy.v1.ToolChoice;
import dev.llmproxy.v1.ToolChoiceMode;
import org.junit.jupiter.api.Test;

class AnswerScriptTest {
  private static final Struct SCHEMA = struct(
      "type", str("object"),
      "properties", Value.newBuilder().setStructValue(struct(
          "n", Value.newBuilder().setStructValue(struct("type", str("integer"),
              "minimum", num(5), "maximum", num(9))).build(),
          "mode", Value.newBuilder().setStructValue(struct("enum", Value.newBuilder().setListValue(
              com.google.protobuf.ListValue.newBuilder().addValues(str("fast")).addValues(str("slow"))).build()))
              .build(),
          "note", Value.newBuilder().setStructValue(struct("type", Value.newBuilder().setListValue(
              com.google.protobuf.ListValue.newBuilder().addValues(str("null")).addValues(str("string"))).build()))
              .build())).build(),
      "required", Value.newBuilder().setListValue(com.google.protobuf.ListValue.newBuilder()
          .addValues(str("n")).addValues(str("mode"))).build());

  private static Value str(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  private static Value num(double d) {
    return Value.newBuilder().setNumberValue(d).build();
  }

  private static Struct struct(Object... kv) {
    Struct.Builder b = Struct.newBuilder();
    for (int i = 0; i < kv.length; i += 2) {
      b.putFields((String) kv[i], (Value) kv[i + 1]);
    }
    return b.build();
  }

  private static CompletionRequest.Builder chat(String lastRole) {
    return CompletionRequest.newBuilder().setModel("sim").setMaxTokens(8)
        .addMessages(Message.newBuilder().setRole(lastRole).setContent("go").setToolCallId(
            lastRole.equals("tool") ? "call_1" : ""))
        .addTools(Tool.newBuilder().setFunction(FunctionDefinition.newBuilder().setName("run").setParameters(SCHEMA)));
  }

  @Test
  void aRequiredToolIsCalledWithArgumentsThatFitItsSchemaTheSameEveryTime() {
    CompletionRequest request = chat("user").setToolChoice(ToolChoice.newBuilder()
        .setMode(ToolChoiceMode.TOOL_CHOICE_MODE_REQUIRED)).build();
    AnswerScript.Answer answer = new AnswerScript(request).drain();

    assertThat(answer.toolCalls()).hasSize(1);
    assertThat(answer.text()).isEmpty();
    String arguments = answer.toolCalls().get(0).getFunction().getArguments();
    assertThat(JsonSchemaCheck.violations(arguments, SCHEMA)).isEmpty();
    assertThat(new AnswerScript(request).drain()).isEqualTo(answer);
  }

  @Test
  void autoCallsAToolForTheUserAndAnswersAToolResultWithText() {
    AnswerScript afterUser = new AnswerScript(chat("user").build());
    AnswerScript afterTool = new AnswerScript(chat("tool").build());
    AnswerScript none = new AnswerScript(chat("user").setToolChoice(ToolChoice.newBuilder()
        .setMode(ToolChoiceMode.TOOL_CHOICE_MODE_NONE)).build());

    assertThat(afterUser.drain().toolCalls()).hasSize(1);
    assertThat(afterUser.finishReason()).isEqualTo(FinishReason.FINISH_REASON_TOOL_CALLS);
    assertThat(afterTool.drain().toolCalls()).isEmpty();
    assertThat(afterTool.finishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(none.drain().text()).isNotEmpty();
  }

  @Test
  void aJsonObjectFormatIsAnsweredWithAWholeJsonObject() {
    AnswerScript script = new AnswerScript(CompletionRequest.newBuilder().setPrompt("x").setMaxTokens(2)
        .setResponseFormat(ResponseFormat.newBuilder().setJsonObject(JsonObjectFormat.getDefaultInstance())).build());
    String text = script.drain().text();
    assertThat(text).startsWith("{\"answer\": \"").endsWith("\"}");
    assertThat(JsonSchemaCheck.violations(text, struct("type", str("object")))).isEmpty();
    assertThat(script.finishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
  }

  @Test
  void aPlainRequestGetsTheSameWordsAsBefore() {
    CompletionRequest request = CompletionRequest.newBuilder().setPrompt("Hello").setMaxTokens(10).setSeed(3).build();
    assertThat(new AnswerScript(request).drain().text()).isEqualTo(new SeededTokenGenerator(request).drain());
  }
}
