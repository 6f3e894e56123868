package dev.llmproxy.server.quota;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.ContentPart;
import dev.llmproxy.v1.FunctionDefinition;
import dev.llmproxy.v1.ImagePart;
import dev.llmproxy.v1.Message;
import dev.llmproxy.v1.Tool;
import org.junit.jupiter.api.Test;

class TokenEstimatorTest {
  private final TokenEstimator estimator = new TokenEstimator();

  @Test
  void countsAboutFourCharactersOfPromptPerTokenRoundingUp() {
    assertThat(estimator.promptTokens(CompletionRequest.newBuilder().setPrompt("12345678").build())).isEqualTo(2);
    assertThat(estimator.promptTokens(CompletionRequest.newBuilder().setPrompt("123456789").build())).isEqualTo(3);
  }

  @Test
  void countsEveryChatMessagesRoleAndContent() {
    CompletionRequest chat = CompletionRequest.newBuilder()
        .addMessages(Message.newBuilder().setRole("user").setContent("abcd"))
        .addMessages(Message.newBuilder().setRole("assistant").setContent("abc"))
        .build();
    assertThat(estimator.promptTokens(chat)).isEqualTo(5); // 20 characters
  }

  @Test
  void countsEachToolsSchemaAsItsJsonText() {
    CompletionRequest chat = CompletionRequest.newBuilder()
        .addMessages(Message.newBuilder().setRole("user").setContent("abcd"))
        .build();
    Struct schema = Struct.newBuilder().putFields("type", Value.newBuilder().setStringValue("object").build())
        .putFields("description", Value.newBuilder().setStringValue("x".repeat(400)).build()).build();
    CompletionRequest withTool = chat.toBuilder().addTools(Tool.newBuilder().setFunction(
        FunctionDefinition.newBuilder().setName("lookup").setParameters(schema))).build();
    // {"type":"object","description":"xxx..."}: about 430 characters, a hundred tokens more
    assertThat(estimator.promptTokens(withTool) - estimator.promptTokens(chat)).isBetween(100L, 115L);
  }

  @Test
  void countsAnImageAsAFixedNumberOfTokensByDetail() {
    CompletionRequest text = CompletionRequest.newBuilder()
        .addMessages(Message.newBuilder().setRole("user").addParts(ContentPart.newBuilder().setText("abcd")))
        .build();
    CompletionRequest image = text.toBuilder().setMessages(0, text.getMessages(0).toBuilder()
        .addParts(ContentPart.newBuilder().setImage(ImagePart.newBuilder().setUrl("https://x/y.png")))).build();
    CompletionRequest lowDetail = text.toBuilder().setMessages(0, text.getMessages(0).toBuilder()
        .addParts(ContentPart.newBuilder().setImage(ImagePart.newBuilder().setUrl("https://x/y.png").setDetail("low"))))
        .build();
    assertThat(estimator.promptTokens(text)).isEqualTo(2); // "user" + "abcd"
    assertThat(estimator.promptTokens(image)).isEqualTo(2 + TokenEstimator.IMAGE_TOKENS);
    assertThat(estimator.promptTokens(lowDetail)).isEqualTo(2 + TokenEstimator.LOW_DETAIL_IMAGE_TOKENS);
  }

  @Test
  void reservesThePromptPlusMaxTokensOrTheRouteDefault() {
    CompletionRequest request = CompletionRequest.newBuilder().setPrompt("").setMaxTokens(100).build();
    assertThat(estimator.estimate(request, 256)).isEqualTo(1 + 100);
    assertThat(estimator.estimate(request.toBuilder().setMaxTokens(0).build(), 256)).isEqualTo(1 + 256);
  }
}
