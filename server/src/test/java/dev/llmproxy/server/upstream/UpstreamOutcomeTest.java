package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class UpstreamOutcomeTest {

  @ParameterizedTest
  @EnumSource(value = Status.Code.class, names = {"UNAVAILABLE", "INTERNAL", "UNKNOWN", "DATA_LOSS", "UNIMPLEMENTED",
      "CANCELLED", "DEADLINE_EXCEEDED"})
  void countsTheUpstreamsOwnFailuresAsFaultsWhileTheClientIsStillThere(Status.Code code) {
    assertThat(UpstreamOutcome.of(code, false, false)).isEqualTo(UpstreamOutcome.FAULT);
  }

  @ParameterizedTest
  @EnumSource(value = Status.Code.class, names = {"INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS",
      "PERMISSION_DENIED", "UNAUTHENTICATED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE"})
  void neverBlamesTheUpstreamForAnAnswerAboutTheRequest(Status.Code code) {
    assertThat(UpstreamOutcome.of(code, false, false)).isEqualTo(UpstreamOutcome.NOT_COUNTED);
  }

  @ParameterizedTest
  @EnumSource(value = Status.Code.class, names = {"CANCELLED", "DEADLINE_EXCEEDED", "UNAVAILABLE", "INTERNAL"})
  void anythingEndingAfterTheClientCancelledOrItsDeadlinePassedIsNotCounted(Status.Code code) {
    assertThat(UpstreamOutcome.of(code, false, true)).isEqualTo(UpstreamOutcome.NOT_COUNTED);
  }

  @Test
  void resourceExhaustedMeansBusyNotBroken() {
    assertThat(UpstreamOutcome.of(Status.Code.RESOURCE_EXHAUSTED, false, false)).isEqualTo(UpstreamOutcome.BUSY);
  }

  @Test
  void aStallIsAFaultEvenThoughTheProxyCancelledTheCall() {
    assertThat(UpstreamOutcome.of(Status.Code.CANCELLED, true, false)).isEqualTo(UpstreamOutcome.FAULT);
    assertThat(UpstreamOutcome.of(Status.Code.CANCELLED, true, true)).isEqualTo(UpstreamOutcome.FAULT);
  }

  @Test
  void okIsSuccess() {
    assertThat(UpstreamOutcome.of(Status.Code.OK, false, false)).isEqualTo(UpstreamOutcome.SUCCESS);
    assertThat(UpstreamOutcome.of(Status.Code.OK, false, true)).isEqualTo(UpstreamOutcome.SUCCESS);
  }
}
