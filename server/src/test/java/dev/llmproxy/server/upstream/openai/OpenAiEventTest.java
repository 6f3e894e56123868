package dev.llmproxy.server.upstream.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import static org.assertj.core.api.Assertions.tuple;

import com.google.protobuf.ByteString;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.TokenLogprob;
import dev.llmproxy.v1.ToolCallDelta;
import dev.llmproxy.v1.TopLogprob;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class OpenAiEventTest {
  @Test
  void readsAChatDelta() throws IOException {
    OpenAiEvent e = OpenAiEvent.parse("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
        + "\"model\":\"llama\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},"
        + "\"logprobs\":null,\"finish_reason\":null}]}");
    assertThat(e.id()).isEqualTo("chatcmpl-1");
    assertThat(e.model()).isEqualTo("llama");
    assertThat(e.text()).isEqualTo("Hel");
    assertThat(e.finishReason()).isNull();
    assertThat(e.usage()).isNull();
    assertThat(e.error()).isNull();
  }

  @Test
  void readsACompletionsTextAndFinishReason() throws IOException {
    OpenAiEvent e = OpenAiEvent.parse("{\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\" end\","
        + "\"finish_reason\":\"length\"}]}");
    assertThat(e.text()).isEqualTo(" end");
    assertThat(e.protoFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
  }

  @Test
  void mapsFinishReasons() throws IOException {
    assertThat(finish("stop")).isEqualTo(FinishReason.FINISH_REASON_STOP);
    assertThat(finish("length")).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(finish("content_filter")).isEqualTo(FinishReason.FINISH_REASON_CONTENT_FILTER);
    assertThat(finish("tool_calls")).isEqualTo(FinishReason.FINISH_REASON_TOOL_CALLS);
    assertThat(finish("something_new")).isEqualTo(FinishReason.FINISH_REASON_STOP);
  }

  private static FinishReason finish(String reason) throws IOException {
    return OpenAiEvent.parse("{\"choices\":[{\"delta\":{},\"finish_reason\":\"" + reason + "\"}]}").protoFinishReason();
  }

  @Test
  void readsTheUsageChunk() throws IOException {
    OpenAiEvent e = OpenAiEvent.parse("{\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
        + "\"completion_tokens\":5,\"total_tokens\":17,\"prompt_tokens_details\":{\"cached_tokens\":0}}}");
    assertThat(e.usage().getPromptTokens()).isEqualTo(12);
    assertThat(e.usage().getCompletionTokens()).isEqualTo(5);
    assertThat(e.usage().getTotalTokens()).isEqualTo(17);
    assertThat(e.hasText()).isFalse();
  }

  @Test
  void nullUsageIsNoUsage() throws IOException {
    assertThat(OpenAiEvent.parse("{\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":null}").usage()).isNull();
  }

  @Test
  void readsOnlyTheFirstChoice() throws IOException {
    OpenAiEvent e = OpenAiEvent.parse("{\"choices\":[{\"delta\":{\"content\":\"a\"}},{\"delta\":{\"content\":\"b\"}}]}");
    assertThat(e.text()).isEqualTo("a");
  }

  @Test
  void readsAWholeMessage() throws IOException {
    OpenAiEvent e = OpenAiEvent.parse("{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"whole\"},"
        + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}");
    assertThat(e.text()).isEqualTo("whole");
    assertThat(e.usage().getTotalTokens()).isEqualTo(3);
  }

  @Test
  void readsErrorObjectsInEveryShapeEnginesSend() throws IOException {
    OpenAiEvent openAi = OpenAiEvent.parse("{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\",\"code\":400}}");
    assertThat(openAi.error()).isEqualTo(new OpenAiEvent.OpenAiError("bad", "invalid_request_error", "400"));
    OpenAiEvent vllmOld = OpenAiEvent.parse("{\"object\":\"error\",\"message\":\"oops\",\"type\":\"BadRequestError\",\"code\":400}");
    assertThat(vllmOld.error()).isEqualTo(new OpenAiEvent.OpenAiError("oops", "BadRequestError", "400"));
    OpenAiEvent tgi = OpenAiEvent.parse("{\"error\":\"Input validation error\",\"error_type\":\"validation\"}");
    assertThat(tgi.error().message()).isEqualTo("Input validation error");
  }

  @Test
  void rejectsWhatIsNotOneJsonObject() {
    assertThatThrownBy(() -> OpenAiEvent.parse("{not json")).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> OpenAiEvent.parse("[1,2]")).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> OpenAiEvent.parse("{\"a\":1} trailing")).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> OpenAiEvent.parse("")).isInstanceOf(IOException.class);
  }

  @Test
  void readsToolCallDeltasAsVllmStreamsThem() throws IOException {
    OpenAiEvent first = OpenAiEvent.parse("{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
        + "\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"chatcmpl-tool-1\",\"type\":\"function\","
        + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}");
    OpenAiEvent piece = OpenAiEvent.parse("{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,"
        + "\"function\":{\"arguments\":\"{\\\"city\\\": \"}}]},\"finish_reason\":null}]}");

    assertThat(first.toolCalls()).containsExactly(ToolCallDelta.newBuilder().setIndex(0).setId("chatcmpl-tool-1")
        .setName("get_weather").build());
    assertThat(first.text()).isEmpty();
    assertThat(first.hasDelta()).isTrue();
    assertThat(piece.toolCalls()).containsExactly(ToolCallDelta.newBuilder().setIndex(1)
        .setArguments("{\"city\": ").build());
  }

  @Test
  void readsAWholeMessagesToolCallsIndexedByPosition() throws IOException {
    OpenAiEvent e = OpenAiEvent.parse("{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
        + "\"tool_calls\":[{\"id\":\"a\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
        + "{\"id\":\"b\",\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":{\"x\":1}}}]},"
        + "\"finish_reason\":\"tool_calls\"}]}");
    assertThat(e.toolCalls()).extracting(ToolCallDelta::getIndex, ToolCallDelta::getId, ToolCallDelta::getArguments)
        .containsExactly(tuple(0, "a", "{}"), tuple(1, "b", "{\"x\":1}"));
    assertThat(e.protoFinishReason()).isEqualTo(FinishReason.FINISH_REASON_TOOL_CALLS);
  }

  @Test
  void readsReasoningUnderEitherName() throws IOException {
    assertThat(OpenAiEvent.parse("{\"choices\":[{\"delta\":{\"reasoning_content\":\"Let me think\"}}]}")
        .reasoning()).isEqualTo("Let me think");
    assertThat(OpenAiEvent.parse("{\"choices\":[{\"delta\":{\"reasoning\":\"Hmm\",\"content\":null}}]}")
        .reasoning()).isEqualTo("Hmm");
  }

  @Test
  void readsChatAndLegacyLogprobs() throws IOException {
    OpenAiEvent chat = OpenAiEvent.parse("{\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"logprobs\":{\"content\":"
        + "[{\"token\":\"Hi\",\"logprob\":-0.25,\"bytes\":[72,105],\"top_logprobs\":[{\"token\":\"Hi\","
        + "\"logprob\":-0.25,\"bytes\":[72,105]},{\"token\":\"Hey\",\"logprob\":-1.5,\"bytes\":null}]}]}}]}");
    OpenAiEvent legacy = OpenAiEvent.parse("{\"choices\":[{\"text\":\" a b\",\"logprobs\":{\"tokens\":[\" a\",\" b\"],"
        + "\"token_logprobs\":[-0.5,-1.0],\"top_logprobs\":[{\" a\":-0.5,\" c\":-2.0},{\" b\":-1.0}],"
        + "\"text_offset\":[0,2]}}]}");

    assertThat(chat.logprobs()).containsExactly(TokenLogprob.newBuilder().setToken("Hi").setLogprob(-0.25)
        .setBytes(ByteString.copyFromUtf8("Hi"))
        .addTopLogprobs(TopLogprob.newBuilder().setToken("Hi").setLogprob(-0.25).setBytes(ByteString.copyFromUtf8("Hi")))
        .addTopLogprobs(TopLogprob.newBuilder().setToken("Hey").setLogprob(-1.5)).build());
    assertThat(legacy.logprobs()).extracting(TokenLogprob::getToken, TokenLogprob::getLogprob)
        .containsExactly(tuple(" a", -0.5), tuple(" b", -1.0));
    assertThat(legacy.logprobs().get(0).getTopLogprobsList()).extracting(TopLogprob::getToken)
        .containsExactly(" a", " c");
  }

  @Test
  void readsCachedAndReasoningTokensFromTheUsageDetails() throws IOException {
    OpenAiEvent e = OpenAiEvent.parse("{\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":40,"
        + "\"total_tokens\":140,\"prompt_tokens_details\":{\"cached_tokens\":64},"
        + "\"completion_tokens_details\":{\"reasoning_tokens\":30}}}");
    assertThat(e.usage().getCachedPromptTokens()).isEqualTo(64);
    assertThat(e.usage().getReasoningTokens()).isEqualTo(30);
    assertThat(OpenAiEvent.parse("{\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"prompt_tokens_details\":null}}")
        .usage().getCachedPromptTokens()).isZero();
  }
}
