package dev.llmproxy.sim.openai;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmproxy.sim.SimulatedBackendConfig;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** An OpenAI-mode simulated backend on an ephemeral port and an HTTP/1.1 client for it. */
final class OpenAiFixture implements AutoCloseable {
  /** Bound for every wait in the tests. */
  static final Duration WAIT = Duration.ofSeconds(10);
  static final ObjectMapper JSON = new ObjectMapper();

  final OpenAiSimulatedBackend backend;
  final HttpClient client;

  private OpenAiFixture(OpenAiSimulatedBackend backend) {
    this.backend = backend;
    this.client = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(WAIT)
        .build();
  }

  static OpenAiFixture start(SimulatedBackendConfig config) throws IOException {
    return new OpenAiFixture(OpenAiSimulatedBackend.start(config));
  }

  static OpenAiFixture start(SimulatedBackendConfig config, OpenAiSimSettings settings)
      throws IOException {
    return new OpenAiFixture(OpenAiSimulatedBackend.start("127.0.0.1", 0, config, settings));
  }

  HttpResponse<String> post(String path, String body, String... headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(backend.baseUrl() + path))
        .timeout(WAIT)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) {
      request.headers(headers);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> get(String path) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create(backend.baseUrl() + path)).timeout(WAIT).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** A chat request body. */
  static String chat(String content, int maxTokens, String extra) {
    return "{\"model\":\"sim-model\",\"messages\":[{\"role\":\"user\",\"content\":" + quote(content)
        + "}],\"max_tokens\":" + maxTokens + (extra.isEmpty() ? "" : "," + extra) + "}";
  }

  /** A completions request body. */
  static String completion(String prompt, int maxTokens, String extra) {
    return "{\"model\":\"sim-model\",\"prompt\":" + quote(prompt) + ",\"max_tokens\":" + maxTokens
        + (extra.isEmpty() ? "" : "," + extra) + "}";
  }

  static String quote(String text) {
    try {
      return JSON.writeValueAsString(text);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The {@code data:} payloads of an event-stream body, in order, checking the event framing. */
  static List<String> events(String body) {
    List<String> events = new ArrayList<>();
    assertThat(body).endsWith("\n\n");
    for (String event : body.split("\n\n")) {
      assertThat(event).startsWith("data: ");
      events.add(event.substring("data: ".length()));
    }
    return events;
  }

  static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + text, e);
    }
  }

  /** The text of streamed chunks, concatenated, from chat deltas or completion texts. */
  static String streamedText(List<String> events) {
    StringBuilder text = new StringBuilder();
    for (String event : events) {
      if (event.equals("[DONE]")) {
        continue;
      }
      for (JsonNode choice : json(event).path("choices")) {
        JsonNode piece = choice.has("delta") ? choice.path("delta").path("content") : choice.path("text");
        text.append(piece.asText());
      }
    }
    return text.toString();
  }

  @Override
  public void close() {
    backend.close();
  }
}
