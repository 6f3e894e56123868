package dev.llmproxy.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.v1.CompletionChunk;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Retries through the channel's service config, against a scripted server over real sockets. The
 * backoff is set to at most 10 ms, so a wait of hundreds of milliseconds can only be the pushback.
 */
@Timeout(30)
class RetryE2ETest {
  private static final RetryPolicy FAST = RetryPolicy.defaults().withBackoff(Duration.ofMillis(10),
      Duration.ofMillis(10));

  private static StatusRuntimeException unavailable() {
    return Status.UNAVAILABLE.withDescription("route 'default': no upstream available").asRuntimeException();
  }

  @Test
  void retriesAnUnavailableAnswerTransparently() throws Exception {
    try (ScriptedServer server = ScriptedServer.start(attempt -> attempt == 1 ? unavailable() : null);
        LlmProxyClient client = server.client().retryPolicy(FAST).build()) {
      assertThat(client.complete("hello").getText()).isEqualTo(ScriptedServer.TEXT);
      assertThat(server.attempts).hasSize(2);
    }
  }

  @Test
  void retriesAStreamThatFailedBeforeItsFirstChunk() throws Exception {
    try (ScriptedServer server = ScriptedServer.start(attempt -> attempt == 1 ? unavailable() : null);
        LlmProxyClient client = server.client().retryPolicy(FAST).build();
        CompletionStream stream = client.stream("hello")) {
      List<String> words = new ArrayList<>();
      stream.forEach(chunk -> words.add(chunk.getText()));

      assertThat(words).isEqualTo(ScriptedServer.WORDS);
      assertThat(server.attempts).hasSize(2);
    }
  }

  @Test
  void waitsAsLongAsThePushbackAsksBeforeRetrying() throws Exception {
    try (ScriptedServer server = ScriptedServer.start(attempt -> attempt == 1
            ? Rejections.pushbackOnly(Status.Code.UNAVAILABLE, 300) : null);
        LlmProxyClient client = server.client().retryPolicy(FAST).build()) {
      client.complete("hello");

      List<Long> times = server.attemptTimes();
      assertThat(times).hasSize(2);
      assertThat(TimeUnit.NANOSECONDS.toMillis(times.get(1) - times.get(0))).isGreaterThanOrEqualTo(300);
    }
  }

  @Test
  void doesNotRetryWhenThePushbackIsNegative() throws Exception {
    try (ScriptedServer server = ScriptedServer.failing(Rejections.pushbackOnly(Status.Code.UNAVAILABLE, -1));
        LlmProxyClient client = server.client().retryPolicy(FAST).build()) {
      assertThatThrownBy(() -> client.complete("hello")).isInstanceOf(UnavailableException.class);
      assertThat(server.attempts).hasSize(1);
    }
  }

  @Test
  void givesUpAfterMaxAttemptsWithUnavailable() throws Exception {
    try (ScriptedServer server = ScriptedServer.failing(unavailable());
        LlmProxyClient client = server.client().retryPolicy(FAST.withMaxAttempts(3)).build()) {
      assertThatThrownBy(() -> client.complete("hello"))
          .isInstanceOf(UnavailableException.class)
          .hasMessage("UNAVAILABLE: route 'default': no upstream available");
      assertThat(server.attempts).hasSize(3);
    }
  }

  @Test
  void makesOneAttemptWhenRetriesAreDisabled() throws Exception {
    try (ScriptedServer server = ScriptedServer.failing(unavailable());
        LlmProxyClient client = server.client().retryPolicy(RetryPolicy.disabled()).build()) {
      assertThatThrownBy(() -> client.complete("hello")).isInstanceOf(UnavailableException.class);
      assertThat(server.attempts).hasSize(1);
    }
  }

  @Test
  void reportsAQuotaRejectionAtOnceDespiteItsPushback() throws Exception {
    // gRPC alone would retry this after the 400 ms pushback, up to 4 times.
    try (ScriptedServer server = ScriptedServer.failing(
            Rejections.quota("requests per minute: 10", "demo", Duration.ofMillis(400)));
        LlmProxyClient client = server.client().retryPolicy(FAST).build()) {
      assertThatThrownBy(() -> client.complete("hello"))
          .isInstanceOfSatisfying(QuotaExceededException.class,
              e -> assertThat(e.retryAfter()).contains(Duration.ofMillis(400)));
      assertThat(server.attempts).hasSize(1);
    }
  }

  @Test
  void neverReplaysAStreamThatFailedAfterItsFirstChunk() throws Exception {
    ScriptedServer.Script script = new ScriptedServer.Script() {
      @Override
      public StatusRuntimeException failure(int attempt) {
        return unavailable();
      }

      @Override
      public int chunksBeforeFailure(int attempt) {
        return 2;
      }
    };
    try (ScriptedServer server = ScriptedServer.start(script);
        LlmProxyClient client = server.client().retryPolicy(FAST).build();
        CompletionStream stream = client.stream("hello")) {
      List<CompletionChunk> received = new ArrayList<>();
      assertThatThrownBy(() -> stream.forEachRemaining(received::add)).isInstanceOf(UnavailableException.class);

      assertThat(received).extracting(CompletionChunk::getText).containsExactly("scripted", " answer");
      assertThat(server.attempts).hasSize(1);
    }
  }
}
