package dev.llmproxy.server.quota;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.rpc.QuotaFailure;
import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class QuotaRejectionTest {
  private static final QuotaSubject TEAM_A =
      new QuotaSubject("team-a", new QuotaLimits(Duration.ofMinutes(1), 10, 5000, 2), List.of());

  @Test
  void namesEveryExceededLimitWithTheLongestWaitAsRetryInfoAndPushback() throws Exception {
    QuotaDecision decision = QuotaDecision.exceeded(EnumSet.of(QuotaLimit.TOKENS, QuotaLimit.CONCURRENCY),
        Duration.ofMillis(2501), 3, 10);
    QuotaRejection rejection = QuotaRejection.of(decision, TEAM_A, 400);

    assertThat(rejection.status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(rejection.status().getDescription()).isEqualTo("quota exceeded for key 'team-a': tokens limit 5000 "
        + "per 1m reached (this call needs 400); concurrent calls limit 2 reached; retry after 2.5s");
    assertThat(rejection.trailers().get(QuotaRejection.RETRY_PUSHBACK)).isEqualTo("2501");
    assertThat(rejection.trailers().get(SettlingServerCall.REMAINING_REQUESTS)).isEqualTo("3");
    assertThat(rejection.trailers().get(SettlingServerCall.REMAINING_TOKENS)).isEqualTo("10");
    com.google.rpc.Status details = StatusProto.fromStatusAndTrailers(rejection.status(), rejection.trailers());
    assertThat(details.getDetails(0).unpack(RetryInfo.class).getRetryDelay().getNanos()).isEqualTo(501_000_000);
    QuotaFailure failure = details.getDetails(1).unpack(QuotaFailure.class);
    assertThat(failure.getViolationsList()).extracting(QuotaFailure.Violation::getQuotaMetric)
        .containsExactly("llmproxy/tokens", "llmproxy/concurrent_calls");
    assertThat(failure.getViolations(1).getQuotaValue()).isEqualTo(2);
  }

  @Test
  void aCallThatCanNeverFitGetsNoRetryInfoAndTellsClientsNotToRetry() throws Exception {
    QuotaDecision decision = QuotaDecision.exceeded(Set.of(QuotaLimit.TOKENS), null, 10, 5000);
    QuotaRejection rejection = QuotaRejection.of(decision, TEAM_A, 6000);

    assertThat(rejection.status().getDescription()).isEqualTo("quota exceeded for key 'team-a': tokens limit 5000 "
        + "per 1m is below the 6000 tokens this call needs; this call can never fit: lower max_tokens or shorten "
        + "the prompt");
    assertThat(rejection.trailers().get(QuotaRejection.RETRY_PUSHBACK)).isEqualTo("-1");
    com.google.rpc.Status details = StatusProto.fromStatusAndTrailers(rejection.status(), rejection.trailers());
    assertThat(details.getDetailsList()).hasSize(1);
    assertThat(details.getDetails(0).is(QuotaFailure.class)).isTrue();
  }
}
