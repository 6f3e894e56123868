package dev.llmproxy.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.FunctionCall;
import dev.llmproxy.v1.ToolCall;
import dev.llmproxy.v1.ToolCallDelta;
import dev.llmproxy.v1.Usage;
import org.junit.jupiter.api.Test;

class CompletionAccumulatorTest {
  private static CompletionChunk pieces(ToolCallDelta... deltas) {
    return CompletionChunk.newBuilder().setId("c").addAllToolCalls(java.util.List.of(deltas)).build();
  }

  private static ToolCallDelta delta(int index, String id, String name, String arguments) {
    return ToolCallDelta.newBuilder().setIndex(index).setId(id).setName(name).setArguments(arguments).build();
  }

  @Test
  void interleavedDeltasOfTwoCallsAddUpToTwoWholeCalls() {
    CompletionAccumulator answer = new CompletionAccumulator()
        .add(pieces(delta(0, "call_a", "get_weather", "")))
        .add(pieces(delta(0, "", "", "{\"city\":"), delta(1, "call_b", "get_time", "{\"zone\"")))
        .add(pieces(delta(1, "", "", ":\"UTC\"}")))
        .add(pieces(delta(0, "", "", "\"Oslo\"}")))
        .add(CompletionChunk.newBuilder().setId("c").setFinishReason(FinishReason.FINISH_REASON_TOOL_CALLS)
            .setUsage(Usage.newBuilder().setTotalTokens(9)).build());

    assertThat(answer.toolCalls()).containsExactly(
        ToolCall.newBuilder().setId("call_a")
            .setFunction(FunctionCall.newBuilder().setName("get_weather").setArguments("{\"city\":\"Oslo\"}")).build(),
        ToolCall.newBuilder().setId("call_b")
            .setFunction(FunctionCall.newBuilder().setName("get_time").setArguments("{\"zone\":\"UTC\"}")).build());
    assertThat(answer.completion().getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_TOOL_CALLS);
    assertThat(answer.completion().getUsage().getTotalTokens()).isEqualTo(9);
    assertThat(answer.completion().getId()).isEqualTo("c");
    assertThat(Tools.arguments(answer.toolCalls().get(0)).getFieldsOrThrow("city").getStringValue())
        .isEqualTo("Oslo");
  }

  @Test
  void textAndReasoningAreConcatenatedInOrder() {
    CompletionAccumulator answer = new CompletionAccumulator()
        .add(CompletionChunk.newBuilder().setReasoning("Think. ").build())
        .add(CompletionChunk.newBuilder().setText("Hello").build())
        .add(CompletionChunk.newBuilder().setText(", world").build());
    assertThat(answer.text()).isEqualTo("Hello, world");
    assertThat(answer.completion().getReasoning()).isEqualTo("Think. ");
    assertThat(answer.toolCalls()).isEmpty();
  }
}
