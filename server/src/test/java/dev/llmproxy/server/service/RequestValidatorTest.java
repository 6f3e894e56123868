package dev.llmproxy.server.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.Message;
import io.grpc.Status;
import java.util.List;
import org.junit.jupiter.api.Test;

class RequestValidatorTest {
  private final RequestValidator validator = new RequestValidator();
  private final RouteConfig route = RouteConfig.forUpstreams(
      List.of(UpstreamEndpoint.parse("test", "127.0.0.1:1")), LbPolicy.ROUND_ROBIN);

  private Status check(CompletionRequest.Builder request) {
    return validator.check(request.build(), route);
  }

  @Test
  void acceptsAPromptOrMessages() {
    assertThat(check(CompletionRequest.newBuilder().setPrompt("hi")).isOk()).isTrue();
    assertThat(check(CompletionRequest.newBuilder()
        .addMessages(Message.newBuilder().setRole("user").setContent("hi"))
        .setTemperature(0).setTopP(1).setMaxTokens(4096)).isOk()).isTrue();
  }

  @Test
  void rejectsNeitherOrBothPromptAndMessages() {
    assertThat(check(CompletionRequest.newBuilder()).getDescription())
        .isEqualTo("prompt/messages: neither set (expected: exactly one of prompt or messages)");
    assertThat(check(CompletionRequest.newBuilder().setPrompt("a")
        .addMessages(Message.newBuilder().setRole("user").setContent("b"))).getDescription())
        .startsWith("prompt/messages: both set");
  }

  @Test
  void rejectsOutOfRangeValuesNamingTheField() {
    assertThat(check(CompletionRequest.newBuilder().setPrompt("a").setMaxTokens(-1)).getDescription())
        .isEqualTo("max_tokens: -1 (expected: 0 for the route default, up to 4096 on route 'default')");
    assertThat(check(CompletionRequest.newBuilder().setPrompt("a").setMaxTokens(4097)).getDescription())
        .startsWith("max_tokens: 4097");
    assertThat(check(CompletionRequest.newBuilder().setPrompt("a").setTemperature(2.5f)).getDescription())
        .isEqualTo("temperature: 2.5 (expected: 0 to 2)");
    assertThat(check(CompletionRequest.newBuilder().setPrompt("a").setTemperature(Float.NaN)).getDescription())
        .startsWith("temperature: NaN");
    assertThat(check(CompletionRequest.newBuilder().setPrompt("a").setTopP(-0.1f)).getDescription())
        .startsWith("top_p: -0.1");
    assertThat(check(CompletionRequest.newBuilder().setPrompt("a").addStop("")).getDescription())
        .isEqualTo("stop[0]: empty (expected: a non-empty string)");
    assertThat(check(CompletionRequest.newBuilder()
        .addMessages(Message.newBuilder().setRole("").setContent("x"))).getDescription())
        .startsWith("messages[0].role: empty");
    assertThat(check(CompletionRequest.newBuilder().setPrompt("a").setMaxTokens(-1)).getCode())
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  @Test
  void fillsTheRouteDefaultForZeroMaxTokens() {
    assertThat(validator.withDefaults(CompletionRequest.newBuilder().setPrompt("a").build(), route)
        .getMaxTokens()).isEqualTo(RouteConfig.DEFAULT_MAX_TOKENS);
    assertThat(validator.withDefaults(CompletionRequest.newBuilder().setPrompt("a").setMaxTokens(7).build(), route)
        .getMaxTokens()).isEqualTo(7);
  }
}
