package dev.llmproxy.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Metadata;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a caller sees of the proxy's failures and metadata, in each of the four ways to call, against a
 * scripted server that fails exactly as SPEC.md says llmproxy does.
 */
@Timeout(30)
class ErrorMappingE2ETest {
  private static final CompletionRequest REQUEST =
      CompletionRequest.newBuilder().setModel("sim").setPrompt("hello").setMaxTokens(8).build();

  private static final Consumer<Throwable> IS_TOKEN_QUOTA = e -> assertThat(e)
      .isInstanceOfSatisfying(QuotaExceededException.class, q -> {
        assertThat(q.limit()).isEqualTo(QuotaLimit.TOKENS);
        assertThat(q.keyId()).contains("team-a");
        assertThat(q.retryAfter()).contains(Duration.ofSeconds(7));
        assertThat(q.metadata().remainingRequests()).hasValue(0);
        assertThat(q.getMessage()).doesNotContain("hello");
      });

  @Test
  void quotaRejectionIsAQuotaExceededExceptionInEveryCallStyle() throws Exception {
    try (ScriptedServer server = ScriptedServer.failing(
            Rejections.quota("tokens per minute: 1000", "team-a", Duration.ofSeconds(7)));
        LlmProxyClient client = server.client().build()) {
      assertThatThrownBy(() -> client.complete(REQUEST)).satisfies(IS_TOKEN_QUOTA);

      assertThatThrownBy(() -> client.completeAsync(REQUEST).get(10, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause().satisfies(IS_TOKEN_QUOTA);

      try (CompletionStream stream = client.stream(REQUEST)) {
        assertThatThrownBy(stream::hasNext).satisfies(IS_TOKEN_QUOTA);
        assertThatThrownBy(stream::next).satisfies(IS_TOKEN_QUOTA); // and again, not a silent end
      }

      RecordingSubscriber subscriber = new RecordingSubscriber(1);
      client.streamAsync(REQUEST, subscriber);
      assertThat(subscriber.awaitDone(Duration.ofSeconds(10))).isTrue();
      assertThat(subscriber.error.get()).satisfies(IS_TOKEN_QUOTA);

      assertThat(server.attempts).hasSize(4); // one per call: a quota rejection is never retried
    }
  }

  @Test
  void unauthenticatedAndInvalidRequestAreTyped() throws Exception {
    try (ScriptedServer unknownKey = ScriptedServer.failing(
            Status.UNAUTHENTICATED.withDescription("api key: unknown").asRuntimeException());
        LlmProxyClient client = unknownKey.client().apiKey("not-a-key").build()) {
      assertThatThrownBy(() -> client.complete(REQUEST)).isInstanceOf(UnauthenticatedException.class)
          .hasMessage("UNAUTHENTICATED: api key: unknown");
    }
    try (ScriptedServer badRequest = ScriptedServer.failing(Rejections.badRequest("top_p", "top_p: 1.5 (expected: 0 to 1)"));
        LlmProxyClient client = badRequest.client().build()) {
      assertThatThrownBy(() -> client.complete(REQUEST)).isInstanceOfSatisfying(InvalidRequestException.class,
          e -> assertThat(e.field()).contains("top_p"));
    }
  }

  @Test
  void sendsTheApiKeyAsCallCredentialsInTheConfiguredHeader() throws Exception {
    Metadata.Key<String> apiKey = Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER);
    Metadata.Key<String> authorization = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    try (ScriptedServer server = ScriptedServer.answering()) {
      try (LlmProxyClient client = server.client().apiKey("demo-key").build()) {
        client.complete(REQUEST);
      }
      try (LlmProxyClient client = server.client().apiKey("demo-key").apiKeyHeader("authorization").build()) {
        client.complete(REQUEST);
      }
      try (LlmProxyClient anonymous = server.client().build()) {
        anonymous.complete(REQUEST);
      }

      assertThat(server.attempts.get(0).headers().get(apiKey)).isEqualTo("demo-key");
      assertThat(server.attempts.get(1).headers().get(authorization)).isEqualTo("Bearer demo-key");
      assertThat(server.attempts.get(1).headers().get(apiKey)).isNull();
      assertThat(server.attempts.get(2).headers().get(apiKey)).isNull();
    }
  }

  @Test
  void responseMetadataIsReachableFromEveryResult() throws Exception {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("llmproxy-cache", Metadata.ASCII_STRING_MARSHALLER), "hit");
    headers.put(Metadata.Key.of("llmproxy-ratelimit-remaining-requests", Metadata.ASCII_STRING_MARSHALLER), "7");
    headers.put(Metadata.Key.of("llmproxy-ratelimit-remaining-tokens", Metadata.ASCII_STRING_MARSHALLER), "900");
    try (ScriptedServer server = ScriptedServer.answering().withResponseHeaders(headers);
        LlmProxyClient client = server.client().build()) {
      Consumer<ResponseMetadata> expected = m -> {
        assertThat(m.cacheStatus()).contains(CacheStatus.HIT);
        assertThat(m.remainingRequests()).hasValue(7);
        assertThat(m.remainingTokens()).hasValue(900);
        assertThat(m.upstream()).isEmpty(); // a cache hit called no upstream
      };

      Response<dev.llmproxy.v1.Completion> response = client.completeWithResponse(REQUEST);
      assertThat(response.value().getText()).isEqualTo(ScriptedServer.TEXT);
      expected.accept(response.metadata());
      expected.accept(client.completeAsync(REQUEST).get(10, TimeUnit.SECONDS).metadata());
      try (CompletionStream stream = client.stream(REQUEST)) {
        expected.accept(stream.metadata());
      }
      RecordingSubscriber subscriber = new RecordingSubscriber(Long.MAX_VALUE);
      expected.accept(client.streamAsync(REQUEST, subscriber).get(10, TimeUnit.SECONDS));
      assertThat(subscriber.awaitDone(Duration.ofSeconds(10))).isTrue();
      assertThat(subscriber.text()).isEqualTo(ScriptedServer.TEXT);
    }
  }
}
