package dev.llmproxy.server.quota;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.Message;
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
  void reservesThePromptPlusMaxTokensOrTheRouteDefault() {
    CompletionRequest request = CompletionRequest.newBuilder().setPrompt("").setMaxTokens(100).build();
    assertThat(estimator.estimate(request, 256)).isEqualTo(1 + 100);
    assertThat(estimator.estimate(request.toBuilder().setMaxTokens(0).build(), 256)).isEqualTo(1 + 256);
  }
}
