package dev.llmproxy.sim.openai;

import static dev.llmproxy.sim.openai.OpenAiFixture.WAIT;
import static dev.llmproxy.sim.openai.OpenAiFixture.chat;
import static dev.llmproxy.sim.openai.OpenAiFixture.completion;
import static dev.llmproxy.sim.openai.OpenAiFixture.events;
import static dev.llmproxy.sim.openai.OpenAiFixture.json;
import static dev.llmproxy.sim.openai.OpenAiFixture.streamedText;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmproxy.sim.RecordedCall;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import dev.llmproxy.v1.Message;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.http.HttpResponse;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class OpenAiSimulatedBackendE2ETest {
  private OpenAiFixture sim;

  @BeforeEach
  void start() throws Exception {
    sim = OpenAiFixture.start(SimulatedBackendConfig.defaults("sim-o"));
  }

  @AfterEach
  void stop() {
    sim.close();
  }

  @Test
  void streamedChatChunksFollowTheOpenAiFormatAndEndWithDone() throws Exception {
    HttpResponse<String> response = sim.post("/v1/chat/completions", chat("hello there", 5, "\"stream\":true"));

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type")).hasValueSatisfying(
        v -> assertThat(v).startsWith("text/event-stream"));
    assertThat(response.headers().firstValue("llmproxy-upstream")).hasValue("sim-o");
    List<String> events = events(response.body());
    assertThat(events).hasSize(6).last().isEqualTo("[DONE]");
    JsonNode first = json(events.get(0));
    assertThat(first.path("id").asText()).startsWith("chatcmpl-");
    assertThat(first.path("object").asText()).isEqualTo("chat.completion.chunk");
    assertThat(first.path("model").asText()).isEqualTo("sim-model");
    assertThat(first.path("created").isIntegralNumber()).isTrue();
    assertThat(first.at("/choices/0/index").asInt()).isZero();
    assertThat(first.at("/choices/0/delta/role").asText()).isEqualTo("assistant");
    assertThat(first.at("/choices/0/finish_reason").isNull()).isTrue();
    for (String event : events.subList(1, 4)) {
      assertThat(json(event).at("/choices/0/delta").has("role")).isFalse();
      assertThat(json(event).at("/choices/0/finish_reason").isNull()).isTrue();
      assertThat(json(event).path("id").asText()).isEqualTo(first.path("id").asText());
    }
    assertThat(json(events.get(4)).at("/choices/0/finish_reason").asText()).isEqualTo("length");
    assertThat(events).noneMatch(e -> e.contains("\"usage\""));
  }

  @Test
  void streamedTextEqualsTheNonStreamedTextAndTheGrpcBackendsText() throws Exception {
    String streamed = streamedText(events(sim.post("/v1/chat/completions",
        chat("same words", 12, "\"stream\":true,\"seed\":7")).body()));
    JsonNode whole = json(sim.post("/v1/chat/completions", chat("same words", 12, "\"seed\":7")).body());

    assertThat(whole.path("object").asText()).isEqualTo("chat.completion");
    assertThat(whole.at("/choices/0/message/role").asText()).isEqualTo("assistant");
    assertThat(whole.at("/choices/0/message/content").asText()).isEqualTo(streamed);
    assertThat(whole.at("/choices/0/finish_reason").asText()).isEqualTo("length");
    assertThat(whole.at("/usage/completion_tokens").asInt()).isEqualTo(12);
    assertThat(whole.at("/usage/prompt_tokens").asInt()).isEqualTo(2);
    assertThat(whole.at("/usage/total_tokens").asInt()).isEqualTo(14);
    assertThat(streamed).isEqualTo(grpcText(CompletionRequest.newBuilder()
        .setModel("sim-model")
        .addMessages(Message.newBuilder().setRole("user").setContent("same words"))
        .setMaxTokens(12)
        .setSeed(7)
        .build()));
  }

  @Test
  void completionsStreamAndAnswerTheSameTextAsTheGrpcBackend() throws Exception {
    List<String> events = events(sim.post("/v1/completions",
        completion("once upon", 9, "\"stream\":true")).body());
    JsonNode whole = json(sim.post("/v1/completions", completion("once upon", 9, "")).body());

    JsonNode first = json(events.get(0));
    assertThat(first.path("object").asText()).isEqualTo("text_completion");
    assertThat(first.path("id").asText()).startsWith("cmpl-");
    assertThat(first.at("/choices/0/text").isTextual()).isTrue();
    assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
    assertThat(whole.path("object").asText()).isEqualTo("text_completion");
    assertThat(whole.at("/choices/0/text").asText()).isEqualTo(streamedText(events));
    assertThat(streamedText(events)).isEqualTo(grpcText(CompletionRequest.newBuilder()
        .setModel("sim-model").setPrompt("once upon").setMaxTokens(9).build()));
  }

  @Test
  void stopStringEndsTheStreamWithFinishReasonStop() throws Exception {
    String full = json(sim.post("/v1/completions", completion("stops", 20, "")).body())
        .at("/choices/0/text").asText();
    String stop = full.split(" ")[3];

    List<String> events = events(sim.post("/v1/completions",
        completion("stops", 20, "\"stream\":true,\"stop\":[" + OpenAiFixture.quote(" " + stop) + "]"))
        .body());

    assertThat(json(events.get(events.size() - 2)).at("/choices/0/finish_reason").asText()).isEqualTo("stop");
    assertThat(full).startsWith(streamedText(events));
    assertThat(streamedText(events)).doesNotContain(" " + stop);
  }

  @Test
  void usageChunkComesLastBeforeDoneOnlyWhenAsked() throws Exception {
    List<String> events = events(sim.post("/v1/chat/completions",
        chat("count me", 4, "\"stream\":true,\"stream_options\":{\"include_usage\":true}")).body());

    assertThat(events).hasSize(6);
    JsonNode usage = json(events.get(4));
    assertThat(usage.path("choices").isArray()).isTrue();
    assertThat(usage.path("choices")).isEmpty();
    assertThat(usage.at("/usage/prompt_tokens").asInt()).isEqualTo(2);
    assertThat(usage.at("/usage/completion_tokens").asInt()).isEqualTo(4);
    assertThat(usage.at("/usage/total_tokens").asInt()).isEqualTo(6);
    assertThat(events.get(5)).isEqualTo("[DONE]");
  }

  @Test
  void usageChunkIsNeverSentWhenTheSettingTurnsItOff() throws Exception {
    sim.backend.setSettings(OpenAiSimSettings.defaults().withUsageChunk(false));

    List<String> events = events(sim.post("/v1/chat/completions",
        chat("count me", 4, "\"stream\":true,\"stream_options\":{\"include_usage\":true}")).body());

    assertThat(events).hasSize(5).noneMatch(e -> e.contains("usage"));
  }

  @Test
  void healthIsOkUntilTheBackendIsSetNotServing() throws Exception {
    HttpResponse<String> ok = sim.get("/health");
    sim.backend.setServing(false);
    HttpResponse<String> down = sim.get("/health");

    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ok.body()).isEmpty();
    assertThat(ok.headers().firstValue("llmproxy-upstream")).hasValue("sim-o");
    assertThat(down.statusCode()).isEqualTo(503);
    assertThat(sim.post("/v1/completions", completion("still served", 2, "")).statusCode()).isEqualTo(200);
  }

  @Test
  void modelsListsTheServedModels() throws Exception {
    sim.backend.setSettings(OpenAiSimSettings.defaults().withServedModels(List.of("llama-3", "qwen")));

    JsonNode models = json(sim.get("/v1/models").body());

    assertThat(models.path("object").asText()).isEqualTo("list");
    assertThat(models.path("data")).hasSize(2);
    assertThat(models.at("/data/0/id").asText()).isEqualTo("llama-3");
    assertThat(models.at("/data/0/object").asText()).isEqualTo("model");
    assertThat(models.at("/data/0/owned_by").asText()).isEqualTo("llmproxy-sim");
  }

  @Test
  void unknownModelIsNotFoundWhenModelsAreConfigured() throws Exception {
    sim.backend.setSettings(OpenAiSimSettings.defaults().withServedModels(List.of("llama-3")));

    HttpResponse<String> response = sim.post("/v1/chat/completions", chat("hi", 2, ""));

    assertThat(response.statusCode()).isEqualTo(404);
    JsonNode error = json(response.body()).path("error");
    assertThat(error.path("message").asText()).isEqualTo("The model `sim-model` does not exist.");
    assertThat(error.path("type").asText()).isEqualTo("NotFoundError");
    assertThat(error.path("code").asInt()).isEqualTo(404);
  }

  @Test
  void metricsUseVllmNames() throws Exception {
    sim.post("/v1/completions", completion("one two three", 5, ""));

    HttpResponse<String> metrics = sim.get("/metrics");

    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.headers().firstValue("content-type")).hasValueSatisfying(
        v -> assertThat(v).startsWith("text/plain"));
    assertThat(metrics.body())
        .contains("# TYPE vllm:num_requests_running gauge\n")
        .contains("vllm:num_requests_running{model_name=\"sim-o\"} 0.0\n")
        .contains("vllm:num_requests_waiting{model_name=\"sim-o\"} 0.0\n")
        .contains("vllm:prompt_tokens_total{model_name=\"sim-o\"} 3.0\n")
        .contains("vllm:generation_tokens_total{model_name=\"sim-o\"} 5.0\n");
  }

  @Test
  void badRequestsGetOpenAiErrorBodies() throws Exception {
    HttpResponse<String> badJson = sim.post("/v1/chat/completions", "{\"model\": ");
    HttpResponse<String> noMessages = sim.post("/v1/chat/completions", "{\"model\":\"m\"}");
    HttpResponse<String> negative = sim.post("/v1/completions", completion("x", -1, ""));

    assertThat(badJson.statusCode()).isEqualTo(400);
    assertThat(json(badJson.body()).at("/error/type").asText()).isEqualTo("invalid_request_error");
    assertThat(noMessages.statusCode()).isEqualTo(400);
    assertThat(json(noMessages.body()).at("/error/param").asText()).isEqualTo("messages");
    assertThat(negative.statusCode()).isEqualTo(400);
    assertThat(json(negative.body()).at("/error/message").asText()).contains("max_tokens: -1");
    assertThat(badJson.headers().firstValue("llmproxy-upstream")).hasValue("sim-o");
  }

  @Test
  void unknownPathIsNotFoundAndWrongMethodIsNotAllowed() throws Exception {
    assertThat(sim.get("/v1/embeddings").statusCode()).isEqualTo(404);
    HttpResponse<String> wrongMethod = sim.get("/v1/chat/completions");
    assertThat(wrongMethod.statusCode()).isEqualTo(405);
    assertThat(wrongMethod.headers().firstValue("allow")).hasValue("POST");
  }

  @Test
  void unknownFieldsAreIgnoredAndMaxCompletionTokensIsAccepted() throws Exception {
    HttpResponse<String> response = sim.post("/v1/chat/completions",
        "{\"model\":\"sim-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
            + "\"max_completion_tokens\":3,\"logprobs\":false,\"n\":1,\"user\":\"u\","
            + "\"temperature\":0.5,\"top_p\":0.9}");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(json(response.body()).at("/usage/completion_tokens").asInt()).isEqualTo(3);
  }

  @Test
  void apiKeyIsRequiredWhenConfigured() throws Exception {
    sim.backend.setSettings(OpenAiSimSettings.defaults().withApiKey("sekret"));

    HttpResponse<String> missing = sim.post("/v1/completions", completion("x", 2, ""));
    HttpResponse<String> wrong = sim.post("/v1/completions", completion("x", 2, ""),
        "Authorization", "Bearer nope");
    HttpResponse<String> right = sim.post("/v1/completions", completion("x", 2, ""),
        "Authorization", "Bearer sekret");

    assertThat(missing.statusCode()).isEqualTo(401);
    assertThat(json(missing.body()).at("/error/code").asText()).isEqualTo("invalid_api_key");
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(wrong.body()).doesNotContain("nope").doesNotContain("sekret");
    assertThat(right.statusCode()).isEqualTo(200);
    assertThat(sim.get("/health").statusCode()).isEqualTo(200);
    assertThat(sim.backend.recorder().lastCall().headers().get(
        io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER)))
        .isEqualTo("Bearer sekret");
  }

  @Test
  void sequentialRequestsReuseOneKeepAliveConnection() throws Exception {
    assertThat(sim.post("/v1/completions", completion("first", 3, "\"stream\":true")).statusCode())
        .isEqualTo(200);
    assertThat(sim.post("/v1/completions", completion("second", 3, "")).statusCode()).isEqualTo(200);
    assertThat(sim.post("/v1/chat/completions", chat("third", 3, "\"stream\":true")).statusCode())
        .isEqualTo(200);

    assertThat(sim.backend.openConnections()).isEqualTo(1);
    assertThat(sim.backend.recorder().completed()).isEqualTo(3);
    List<RecordedCall> calls = sim.backend.recorder().calls();
    assertThat(calls).extracting(RecordedCall::method)
        .containsExactly("/v1/completions", "/v1/completions", "/v1/chat/completions");
  }

  private static String grpcText(CompletionRequest request) throws Exception {
    try (SimulatedBackend grpc = SimulatedBackend.start(SimulatedBackendConfig.defaults("sim-g"))) {
      ManagedChannel channel = NettyChannelBuilder.forTarget(grpc.address()).usePlaintext().build();
      try {
        StringBuilder text = new StringBuilder();
        Iterator<CompletionChunk> chunks = LlmProxyGrpc.newBlockingStub(channel)
            .withDeadlineAfter(WAIT.toMillis(), TimeUnit.MILLISECONDS)
            .streamComplete(request);
        chunks.forEachRemaining(c -> text.append(c.getText()));
        return text.toString();
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }
}
