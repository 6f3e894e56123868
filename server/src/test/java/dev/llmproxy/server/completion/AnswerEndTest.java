package dev.llmproxy.server.completion;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.Usage;
import org.junit.jupiter.api.Test;

class AnswerEndTest {
  private static final Usage USAGE = Usage.newBuilder().setPromptTokens(17).setCompletionTokens(5).build();

  @Test
  void aUnaryAnswerGivesItsUsageFinishReasonAndModel() {
    Completion completion = Completion.newBuilder().setText("hi").setModel("llama-3")
        .setFinishReason(FinishReason.FINISH_REASON_LENGTH).setUsage(USAGE).build();

    assertThat(AnswerEnd.of(completion)).isEqualTo(new AnswerEnd(USAGE, "length", "llama-3"));
  }

  @Test
  void aUnaryAnswerWithoutThemGivesNulls() {
    assertThat(AnswerEnd.of(Completion.newBuilder().setText("hi").build())).isEqualTo(new AnswerEnd(null, null, null));
  }

  @Test
  void chunksBeforeTheLastEndNothing() throws Exception {
    CompletionChunk middle = CompletionChunk.newBuilder().setId("cmpl-1").setText(" world").build();

    assertThat(AnswerEnd.of(middle)).isNull();
    assertThat(AnswerEnd.of(RelayedChunk.of(middle.toByteArray()))).isNull();
  }

  @Test
  void theLastChunkGivesUsageAndFinishReasonWhetherParsedOrRelayed() throws Exception {
    CompletionChunk last = CompletionChunk.newBuilder().setId("cmpl-1")
        .setFinishReason(FinishReason.FINISH_REASON_TOOL_CALLS).setUsage(USAGE).build();
    AnswerEnd expected = new AnswerEnd(USAGE, "tool_calls", null);

    assertThat(AnswerEnd.of(last)).isEqualTo(expected);
    assertThat(AnswerEnd.of(RelayedChunk.of(last.toByteArray()))).isEqualTo(expected);
  }

  @Test
  void usageAloneOrAFinishReasonAloneEndsTheAnswer() {
    assertThat(AnswerEnd.of(CompletionChunk.newBuilder().setUsage(USAGE).build()))
        .isEqualTo(new AnswerEnd(USAGE, null, null));
    assertThat(AnswerEnd.of(CompletionChunk.newBuilder().setFinishReason(FinishReason.FINISH_REASON_STOP).build()))
        .isEqualTo(new AnswerEnd(null, "stop", null));
  }

  @Test
  void aFinishReasonThisBuildDoesNotKnowIsNoName() {
    CompletionChunk fromNewerUpstream = CompletionChunk.newBuilder().setFinishReasonValue(99).build();

    assertThat(AnswerEnd.of(fromNewerUpstream)).isEqualTo(new AnswerEnd(null, null, null));
  }

  @Test
  void finishReasonsAreNamedAsTheOpenAiApiNamesThem() {
    assertThat(AnswerEnd.wireName(FinishReason.FINISH_REASON_UNSPECIFIED)).isNull();
    assertThat(AnswerEnd.wireName(FinishReason.FINISH_REASON_STOP)).isEqualTo("stop");
    assertThat(AnswerEnd.wireName(FinishReason.FINISH_REASON_LENGTH)).isEqualTo("length");
    assertThat(AnswerEnd.wireName(FinishReason.FINISH_REASON_CONTENT_FILTER)).isEqualTo("content_filter");
    assertThat(AnswerEnd.wireName(FinishReason.FINISH_REASON_TOOL_CALLS)).isEqualTo("tool_calls");
    assertThat(AnswerEnd.wireName(FinishReason.UNRECOGNIZED)).isNull();
  }

  @Test
  void otherMessagesEndNothing() {
    assertThat(AnswerEnd.of("not an answer")).isNull();
    assertThat(AnswerEnd.of(null)).isNull();
  }
}
