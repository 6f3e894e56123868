package dev.llmproxy.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class StatusExceptionMapperTest {
  private static final CompletionRequest REQUEST =
      CompletionRequest.newBuilder().setModel("gpt-x").setPrompt("hi").build();

  private static LlmProxyException map(StatusRuntimeException e) {
    return StatusExceptionMapper.toException(e.getStatus(), null,
        e.getTrailers() == null ? new Metadata() : e.getTrailers(), REQUEST);
  }

  private static LlmProxyException map(Status status) {
    return StatusExceptionMapper.toException(status, null, new Metadata(), REQUEST);
  }

  @Test
  void quotaRejectionCarriesLimitKeyIdRetryAfterAndRemainingQuota() {
    LlmProxyException e = map(Rejections.quota("tokens per minute: 1000", "team-a", Duration.ofMillis(7500)));

    assertThat(e).isInstanceOfSatisfying(QuotaExceededException.class, q -> {
      assertThat(q.limit()).isEqualTo(QuotaLimit.TOKENS);
      assertThat(q.limitDescription()).isEqualTo("tokens per minute: 1000");
      assertThat(q.keyId()).contains("team-a");
      assertThat(q.retryAfter()).contains(Duration.ofMillis(7500));
      assertThat(q.code()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(q.metadata().remainingRequests()).hasValue(0);
    });
    assertThat(e.getMessage()).startsWith("RESOURCE_EXHAUSTED: quota exceeded for key 'team-a'");
  }

  @Test
  void quotaRejectionWithOnlyAPushbackTakesItsRetryAfterFromThePushback() {
    LlmProxyException e = map(Rejections.pushbackOnly(Status.Code.RESOURCE_EXHAUSTED, 1200));

    assertThat(e).isInstanceOfSatisfying(QuotaExceededException.class, q -> {
      assertThat(q.retryAfter()).contains(Duration.ofMillis(1200));
      assertThat(q.limit()).isEqualTo(QuotaLimit.UNKNOWN);
      assertThat(q.keyId()).isEmpty();
    });
  }

  @Test
  void pushbackHeldBackFromTheRetryStillGivesTheRetryAfter() {
    Metadata trailers = new Metadata();
    trailers.put(PushbackScopingTracerFactory.HELD_PUSHBACK_MS, "2500");

    LlmProxyException e = StatusExceptionMapper.toException(
        Status.RESOURCE_EXHAUSTED.withDescription("requests per minute: 10"), null, trailers, REQUEST);

    assertThat(e).isInstanceOfSatisfying(QuotaExceededException.class, q -> {
      assertThat(q.retryAfter()).contains(Duration.ofMillis(2500));
      assertThat(q.limit()).isEqualTo(QuotaLimit.REQUESTS);
    });
  }

  @Test
  void resourceExhaustedWithoutQuotaSignsIsAPlainFailure() {
    LlmProxyException e = map(Status.RESOURCE_EXHAUSTED.withDescription("gRPC message exceeds maximum size 4194304"));

    assertThat(e).isExactlyInstanceOf(LlmProxyException.class);
    assertThat(e.code()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
  }

  @Test
  void invalidArgumentNamesTheFieldThatStartsTheDescription() {
    assertThat(field(map(Status.INVALID_ARGUMENT.withDescription(
        "max_tokens: 9000 (expected: 0 for the route default, up to 4096 on route 'default')"))))
        .isEqualTo("max_tokens");
    assertThat(field(map(Status.INVALID_ARGUMENT.withDescription(
        "messages[1].content: empty (expected: non-empty text)")))).isEqualTo("messages[1].content");
    assertThat(field(map(Status.INVALID_ARGUMENT.withDescription(
        "prompt/messages: both set (expected: exactly one of prompt or messages)")))).isEqualTo("prompt/messages");
  }

  @Test
  void invalidArgumentPrefersTheFieldOfABadRequestDetail() {
    assertThat(field(map(Rejections.badRequest("top_p", "must be at most 1")))).isEqualTo("top_p");
  }

  @Test
  void invalidArgumentWithoutAFieldLeavesItEmpty() {
    LlmProxyException e = map(Status.INVALID_ARGUMENT.withDescription("The request is bad. Very bad."));

    assertThat(((InvalidRequestException) e).field()).isEmpty();
    assertThat(((InvalidRequestException) map(Status.INVALID_ARGUMENT)).field()).isEmpty();
  }

  @Test
  void notFoundNamesTheRequestedModel() {
    LlmProxyException e = map(Status.NOT_FOUND.withDescription("model: \"gpt-x\" has no route"));

    assertThat(e).isInstanceOfSatisfying(ModelNotFoundException.class, m -> assertThat(m.model()).isEqualTo("gpt-x"));
  }

  @Test
  void eachCaseGetsItsOwnType() {
    assertThat(map(Status.UNAUTHENTICATED)).isInstanceOf(UnauthenticatedException.class);
    assertThat(map(Status.PERMISSION_DENIED.withDescription("key 'team-b' may not use model \"gpt-x\"")))
        .isInstanceOfSatisfying(PermissionDeniedException.class, p -> assertThat(p.model()).isEqualTo("gpt-x"));
    assertThat(map(Status.UNAVAILABLE)).isInstanceOf(UnavailableException.class);
    assertThat(map(Status.DEADLINE_EXCEEDED)).isExactlyInstanceOf(LlmProxyException.class)
        .extracting(LlmProxyException::code).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
  }

  @Test
  void detailsThatContradictTheStatusAreIgnored() {
    StatusRuntimeException quota = Rejections.quota("requests per minute: 10", "k", Duration.ofSeconds(1));

    // The details say RESOURCE_EXHAUSTED; the status says INTERNAL: the status wins, without a crash.
    LlmProxyException e = StatusExceptionMapper.toException(Status.INTERNAL, null, quota.getTrailers(), REQUEST);

    assertThat(e).isExactlyInstanceOf(LlmProxyException.class);
    assertThat(e.code()).isEqualTo(Status.Code.INTERNAL);
  }

  @Test
  void quotaLimitIsReadFromTheViolationDescription() {
    assertThat(QuotaLimit.fromDescription("concurrent streams: 4")).isEqualTo(QuotaLimit.CONCURRENT_STREAMS);
    assertThat(QuotaLimit.fromDescription("Tokens per minute")).isEqualTo(QuotaLimit.TOKENS);
    assertThat(QuotaLimit.fromDescription("requests_per_minute")).isEqualTo(QuotaLimit.REQUESTS);
    assertThat(QuotaLimit.fromDescription("open streams: 2")).isEqualTo(QuotaLimit.CONCURRENT_STREAMS);
    assertThat(QuotaLimit.fromDescription("budget")).isEqualTo(QuotaLimit.UNKNOWN);
  }

  private static String field(LlmProxyException e) {
    assertThat(e).isInstanceOf(InvalidRequestException.class);
    return ((InvalidRequestException) e).field().orElse(null);
  }
}
