package dev.llmproxy.server.upstream.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.Message;
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
}
