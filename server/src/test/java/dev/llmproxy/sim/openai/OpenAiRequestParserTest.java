package dev.llmproxy.sim.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmproxy.sim.openai.OpenAiRequest.Endpoint;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.ContentPart;
import dev.llmproxy.v1.ImagePart;
import dev.llmproxy.v1.Message;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class OpenAiRequestParserTest {
  private final OpenAiRequestParser parser = new OpenAiRequestParser(new ObjectMapper());

  private OpenAiRequest parse(Endpoint endpoint, String json) throws InvalidRequestException {
    return parser.parse(endpoint, new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void chatRequestMapsEveryFieldOneToOne() throws Exception {
    OpenAiRequest parsed = parse(Endpoint.CHAT, """
        {"model":"llama","messages":[{"role":"system","content":"be brief"},
         {"role":"user","content":"hi"}],"max_tokens":7,"temperature":0.5,"top_p":0.25,
         "stop":["\\n","end"],"seed":42,"stream":true,"stream_options":{"include_usage":true},
         "n":1,"tools":[],"logit_bias":{}}""");

    assertThat(parsed.endpoint()).isEqualTo(Endpoint.CHAT);
    assertThat(parsed.stream()).isTrue();
    assertThat(parsed.includeUsage()).isTrue();
    assertThat(parsed.request()).isEqualTo(CompletionRequest.newBuilder()
        .setModel("llama")
        .addMessages(Message.newBuilder().setRole("system").setContent("be brief"))
        .addMessages(Message.newBuilder().setRole("user").setContent("hi"))
        .setMaxTokens(7)
        .setTemperature(0.5f)
        .setTopP(0.25f)
        .addStop("\n")
        .addStop("end")
        .setSeed(42)
        .setExtra(Struct.newBuilder().putFields("logit_bias",
            Value.newBuilder().setStructValue(Struct.getDefaultInstance()).build()))
        .build());
  }

  @Test
  void completionsTakeAStringPromptAndASingleStop() throws Exception {
    OpenAiRequest parsed = parse(Endpoint.COMPLETIONS,
        "{\"model\":\"m\",\"prompt\":[\"once\"],\"stop\":\".\",\"max_completion_tokens\":3}");

    assertThat(parsed.stream()).isFalse();
    assertThat(parsed.includeUsage()).isFalse();
    assertThat(parsed.request().getPrompt()).isEqualTo("once");
    assertThat(parsed.request().getStopList()).containsExactly(".");
    assertThat(parsed.request().getMaxTokens()).isEqualTo(3);
  }

  @Test
  void nullsAreAbsentAndContentPartsKeepTheirText() throws Exception {
    OpenAiRequest parsed = parse(Endpoint.CHAT, """
        {"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},
         {"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"b"}]},
         {"role":"assistant","content":null}],"max_tokens":null,"seed":null,"stream":null}""");

    // with an image among them, the parts stay parts, in order
    assertThat(parsed.request().getMessages(0).getContent()).isEmpty();
    assertThat(parsed.request().getMessages(0).getPartsList()).containsExactly(
        ContentPart.newBuilder().setText("a").build(),
        ContentPart.newBuilder().setImage(ImagePart.newBuilder().setUrl("x")).build(),
        ContentPart.newBuilder().setText("b").build());
    assertThat(parsed.request().getMessages(1).getContent()).isEmpty();
    assertThat(parsed.request().getMaxTokens()).isZero();
    assertThat(parsed.request().hasSeed()).isFalse();
    assertThat(parsed.stream()).isFalse();
  }

  @Test
  void rejectsWhatIsNotARequestNamingTheParameter() {
    assertThatThrownBy(() -> parse(Endpoint.CHAT, "{\"model\":"))
        .isInstanceOf(InvalidRequestException.class)
        .hasMessageStartingWith("The request body is not valid JSON");
    assertThatThrownBy(() -> parse(Endpoint.CHAT, "[1]"))
        .hasMessage("The request body must be a JSON object");
    assertParam(Endpoint.CHAT, "{\"model\":\"m\"}", "messages");
    assertParam(Endpoint.CHAT, "{\"messages\":[]}", "messages");
    assertParam(Endpoint.CHAT, "{\"messages\":[{\"content\":\"x\"}]}", "messages[0].role");
    assertParam(Endpoint.COMPLETIONS, "{\"model\":\"m\"}", "prompt");
    assertParam(Endpoint.COMPLETIONS, "{\"prompt\":\"x\",\"max_tokens\":\"ten\"}", "max_tokens");
    assertParam(Endpoint.COMPLETIONS, "{\"prompt\":\"x\",\"max_tokens\":1.5}", "max_tokens");
    assertParam(Endpoint.COMPLETIONS, "{\"prompt\":\"x\",\"stream\":\"yes\"}", "stream");
    assertParam(Endpoint.COMPLETIONS, "{\"prompt\":\"x\",\"stop\":[1]}", "stop");
    assertParam(Endpoint.COMPLETIONS, "{\"prompt\":\"x\",\"temperature\":\"hot\"}", "temperature");
    assertParam(Endpoint.COMPLETIONS, "{\"prompt\":\"x\",\"stream_options\":true}", "stream_options");
  }

  private void assertParam(Endpoint endpoint, String json, String param) {
    assertThatThrownBy(() -> parse(endpoint, json))
        .isInstanceOfSatisfying(InvalidRequestException.class,
            e -> assertThat(e.param()).as(json).isEqualTo(param))
        .hasMessageStartingWith(param + ": ");
  }
}
