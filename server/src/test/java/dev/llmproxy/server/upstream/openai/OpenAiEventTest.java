package dev.llmproxy.server.upstream.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.v1.FinishReason;
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
}
