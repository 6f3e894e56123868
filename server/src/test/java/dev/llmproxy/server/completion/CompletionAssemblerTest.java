package dev.llmproxy.server.completion;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.FunctionCall;
import dev.llmproxy.v1.TokenLogprob;
import dev.llmproxy.v1.ToolCall;
import dev.llmproxy.v1.ToolCallDelta;
import dev.llmproxy.v1.Usage;
import org.junit.jupiter.api.Test;

class CompletionAssemblerTest {
  private static ToolCallDelta delta(int index, String id, String name, String arguments) {
    return ToolCallDelta.newBuilder().setIndex(index).setId(id).setName(name).setArguments(arguments).build();
  }

  @Test
  void joinsInterleavedToolCallDeltasByIndexAndConcatenatesTheRest() {
    CompletionAssembler assembler = new CompletionAssembler();
    assembler.add(CompletionChunk.newBuilder().setId("c1").setReasoning("Two ").build());
    assembler.add(CompletionChunk.newBuilder().setId("c1").setReasoning("calls.")
        .addToolCalls(delta(0, "call_a", "f", "{\"x\":")).build());
    assembler.add(CompletionChunk.newBuilder().setId("c1").addToolCalls(delta(1, "call_b", "g", "{}")).build());
    assembler.add(CompletionChunk.newBuilder().setId("c1").addToolCalls(delta(0, "", "", "1}"))
        .addLogprobs(TokenLogprob.newBuilder().setToken("t").setLogprob(-1))
        .setFinishReason(FinishReason.FINISH_REASON_TOOL_CALLS)
        .setUsage(Usage.newBuilder().setCompletionTokens(4)).build());

    Completion c = assembler.build("m");

    assertThat(c.getId()).isEqualTo("c1");
    assertThat(c.getModel()).isEqualTo("m");
    assertThat(c.getReasoning()).isEqualTo("Two calls.");
    assertThat(c.getToolCallsList()).containsExactly(
        ToolCall.newBuilder().setId("call_a").setFunction(FunctionCall.newBuilder().setName("f").setArguments("{\"x\":1}")).build(),
        ToolCall.newBuilder().setId("call_b").setFunction(FunctionCall.newBuilder().setName("g").setArguments("{}")).build());
    assertThat(c.getLogprobsCount()).isEqualTo(1);
    assertThat(c.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_TOOL_CALLS);
    assertThat(c.getUsage().getCompletionTokens()).isEqualTo(4);
  }

  @Test
  void theChunkOfACompletionAssemblesBackToIt() {
    Completion original = Completion.newBuilder().setId("x").setModel("m").setText("hi").setReasoning("r")
        .addToolCalls(ToolCall.newBuilder().setId("call_1").setFunction(FunctionCall.newBuilder().setName("f").setArguments("{}")))
        .addLogprobs(TokenLogprob.newBuilder().setToken("hi").setLogprob(-0.5))
        .setFinishReason(FinishReason.FINISH_REASON_TOOL_CALLS).setUsage(Usage.newBuilder().setTotalTokens(3)).build();

    CompletionAssembler assembler = new CompletionAssembler();
    assembler.add(CompletionAssembler.chunkOf(original));

    assertThat(assembler.build("m")).isEqualTo(original);
  }
}
