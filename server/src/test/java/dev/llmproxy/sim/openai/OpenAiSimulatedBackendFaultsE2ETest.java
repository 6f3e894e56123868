package dev.llmproxy.sim.openai;

import static dev.llmproxy.sim.openai.OpenAiFixture.chat;
import static dev.llmproxy.sim.openai.OpenAiFixture.completion;
import static dev.llmproxy.sim.openai.OpenAiFixture.events;
import static dev.llmproxy.sim.openai.OpenAiFixture.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.RecordedCall;
import dev.llmproxy.sim.SeededTokenGenerator;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Status;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class OpenAiSimulatedBackendFaultsE2ETest {
  private OpenAiFixture sim;

  @BeforeEach
  void start() throws Exception {
    sim = OpenAiFixture.start(SimulatedBackendConfig.defaults("sim-x"));
  }

  @AfterEach
  void stop() {
    sim.close();
  }

  @Test
  void injectedTooManyRequestsCarriesRetryAfter() throws Exception {
    sim.backend.setFaults(Faults.none().withHttpError(1, 429).withRetryAfterSeconds(3));

    HttpResponse<String> response = sim.post("/v1/chat/completions", chat("busy", 4, "\"stream\":true"));

    assertThat(response.statusCode()).isEqualTo(429);
    assertThat(response.headers().firstValue("retry-after")).hasValue("3");
    assertThat(response.headers().firstValue("llmproxy-upstream")).hasValue("sim-x");
    assertThat(json(response.body()).at("/error/type").asText()).isEqualTo("rate_limit_error");
    assertThat(sim.backend.recorder().lastCall().status().getCode())
        .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
  }

  @Test
  void injectedServerErrorsKeepTheirStatus() throws Exception {
    sim.backend.setFaults(Faults.none().withHttpError(1, 502));

    HttpResponse<String> response = sim.post("/v1/completions", completion("bad gateway", 4, ""));

    assertThat(response.statusCode()).isEqualTo(502);
    assertThat(response.headers().firstValue("retry-after")).isEmpty();
    assertThat(json(response.body()).at("/error/code").asInt()).isEqualTo(502);
  }

  @Test
  void grpcFailRateMapsToTheMatchingHttpStatus() throws Exception {
    sim.backend.setFaults(Faults.none().withFailRate(1, Status.Code.UNAVAILABLE));
    assertThat(sim.post("/v1/completions", completion("x", 2, "")).statusCode()).isEqualTo(503);
    sim.backend.setFaults(Faults.none().withFailRate(1, Status.Code.PERMISSION_DENIED));
    assertThat(sim.post("/v1/completions", completion("x", 2, "")).statusCode()).isEqualTo(403);
    sim.backend.setFaults(Faults.none().withFailRate(1, Status.Code.INTERNAL));
    assertThat(sim.post("/v1/completions", completion("x", 2, "\"stream\":true")).statusCode())
        .isEqualTo(500);
  }

  @Test
  void loadingEngineAnswersServiceUnavailableOnHealthAndCompletions() throws Exception {
    sim.backend.setFaults(Faults.none().withRetryAfterSeconds(5));
    sim.backend.setLoading(true);

    HttpResponse<String> completion = sim.post("/v1/chat/completions", chat("early", 2, ""));

    assertThat(sim.get("/health").statusCode()).isEqualTo(503);
    assertThat(completion.statusCode()).isEqualTo(503);
    assertThat(completion.headers().firstValue("retry-after")).hasValue("5");
    sim.backend.setLoading(false);
    assertThat(sim.get("/health").statusCode()).isEqualTo(200);
    assertThat(sim.post("/v1/chat/completions", chat("later", 2, "")).statusCode()).isEqualTo(200);
  }

  @Test
  void failureAfterTokensEndsTheStreamWithAnErrorEvent() throws Exception {
    sim.backend.setFaults(Faults.none().withFailAfterTokens(3, Status.Code.INTERNAL));

    HttpResponse<String> response = sim.post("/v1/chat/completions", chat("fail", 10, "\"stream\":true"));

    assertThat(response.statusCode()).isEqualTo(200);
    List<String> events = events(response.body());
    assertThat(events).hasSize(5);
    JsonNode error = json(events.get(3)).path("error");
    assertThat(error.path("type").asText()).isEqualTo("internal_error");
    assertThat(error.path("code").asInt()).isEqualTo(500);
    assertThat(error.path("message").asText()).contains("after 3 tokens");
    assertThat(events.get(4)).isEqualTo("[DONE]");
    RecordedCall call = sim.backend.recorder().lastCall();
    assertThat(call.outcome()).isEqualTo(RecordedCall.Outcome.FAILED);
    assertThat(call.tokensSent()).isEqualTo(3);
  }

  @Test
  void failureAtTheFirstTokenIsAPlainHttpError() throws Exception {
    sim.backend.setFaults(Faults.none().withFailAfterTokens(0, Status.Code.UNAVAILABLE));

    assertThat(sim.post("/v1/chat/completions", chat("fail", 10, "\"stream\":true")).statusCode())
        .isEqualTo(503);
  }

  @Test
  void malformedEventIsSentOnceAndTheStreamGoesOn() throws Exception {
    sim.backend.setFaults(Faults.none().withMalformedAfterTokens(2));

    List<String> events = events(sim.post("/v1/completions",
        completion("garbled", 4, "\"stream\":true")).body());

    assertThat(events).hasSize(6);
    assertThat(events.get(2)).isEqualTo("{not json");
    String expected = new SeededTokenGenerator(CompletionRequest.newBuilder()
        .setModel("sim-model").setPrompt("garbled").setMaxTokens(4).build()).drain();
    assertThat(OpenAiFixture.streamedText(events.subList(0, 2))
        + OpenAiFixture.streamedText(events.subList(3, 6))).isEqualTo(expected);
  }

  @Test
  void malformedNonStreamedAnswerIsNotJson() throws Exception {
    sim.backend.setFaults(Faults.none().withMalformedAfterTokens(0));

    HttpResponse<String> response = sim.post("/v1/completions", completion("garbled", 4, ""));

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo("{not json");
  }

  @Test
  void closeAfterTokensDropsTheConnectionWithoutEndingTheResponse() throws Exception {
    sim.backend.setFaults(Faults.none().withCloseAfterTokens(2));

    assertThatThrownBy(() -> sim.post("/v1/chat/completions", chat("crash", 10, "\"stream\":true")))
        .isInstanceOf(IOException.class);
    RecordedCall call = sim.backend.recorder().lastCall();
    assertThat(call.outcome()).isEqualTo(RecordedCall.Outcome.FAILED);
    assertThat(call.tokensSent()).isEqualTo(2);
  }

  @Test
  void queueOverflowIsTooManyRequests() throws Exception {
    sim.backend.setConfig(sim.backend.config().withMaxConcurrency(1).withMaxQueue(0));
    sim.backend.setFaults(Faults.none().withStallAfterTokens(0));
    var first = sim.client.sendAsync(java.net.http.HttpRequest.newBuilder(
            java.net.URI.create(sim.backend.baseUrl() + "/v1/completions"))
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(completion("hold", 4, ""))).build(),
        HttpResponse.BodyHandlers.ofString());
    // Recorded first, admitted a moment later: wait for the slot to be taken.
    assertThat(sim.backend.recorder().await(
        r -> r.inFlight() == 1 && sim.backend.requestsRunning() == 1, OpenAiFixture.WAIT)).isTrue();

    HttpResponse<String> second = sim.post("/v1/completions", completion("overflow", 4, ""));

    assertThat(second.statusCode()).isEqualTo(429);
    assertThat(sim.backend.requestsRunning()).isEqualTo(1);
    first.cancel(true);
  }
}
