package dev.llmproxy.server.upstream.openai;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HttpStatusMappingTest {
  @ParameterizedTest
  @CsvSource({
      "500, UNAVAILABLE", "502, UNAVAILABLE", "503, UNAVAILABLE", "504, UNAVAILABLE", "408, UNAVAILABLE",
      "429, RESOURCE_EXHAUSTED",
      "400, INVALID_ARGUMENT", "413, INVALID_ARGUMENT", "422, INVALID_ARGUMENT",
      "404, NOT_FOUND",
      "401, UNAVAILABLE", "403, UNAVAILABLE"})
  void mapsEachHttpStatus(int http, Status.Code expected) {
    assertThat(HttpStatusMapping.forHttpStatus(http, "engine says no", "gpu-a", "").getCode()).isEqualTo(expected);
  }

  @Test
  void passesTheEnginesMessageCutShort() {
    Status status = HttpStatusMapping.forHttpStatus(400, "max_tokens is too large\n" + "x".repeat(500), "gpu-a", "");
    assertThat(status.getDescription()).startsWith("upstream gpu-a answered HTTP 400: max_tokens is too large x")
        .hasSizeLessThan(300);
  }

  @Test
  void neverRepeatsAMessageThatQuotesThePrompt() {
    Status status = HttpStatusMapping.forHttpStatus(400, "cannot tokenize 'my secret prompt text here'", "gpu-a",
        "my secret prompt text here");
    assertThat(status.getDescription()).doesNotContain("secret").contains("withheld");
  }

  @Test
  void credentialRejectionNamesTheMisconfigurationNotTheKey() {
    Status status = HttpStatusMapping.forHttpStatus(401, "Incorrect API key provided: sk-abc", "gpu-a", "");
    assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(status.getDescription()).contains("credential").contains("api_key").doesNotContain("sk-abc");
  }

  @Test
  void streamErrorsWithAnHttpCodeMapLikeTheStatusOtherwiseInternal() {
    assertThat(HttpStatusMapping.forStreamError(new OpenAiEvent.OpenAiError("slow down", null, "429"), "a", "")
        .getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(HttpStatusMapping.forStreamError(new OpenAiEvent.OpenAiError("boom", "internal_error", "500"), "a", "")
        .getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(HttpStatusMapping.forStreamError(new OpenAiEvent.OpenAiError("boom", null, "oops"), "a", "")
        .getCode()).isEqualTo(Status.Code.INTERNAL);
  }

  @Test
  void connectionFailuresAreUnavailable() {
    assertThat(HttpStatusMapping.forException(new CompletionException(new ConnectException()), "a").getDescription())
        .isEqualTo("upstream a refused the connection");
    assertThat(HttpStatusMapping.forException(new HttpConnectTimeoutException("t"), "a").getDescription())
        .isEqualTo("upstream a timed out connecting");
    assertThat(HttpStatusMapping.forException(new IOException("Connection reset"), "a").getCode())
        .isEqualTo(Status.Code.UNAVAILABLE);
  }
}
