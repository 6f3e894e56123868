package dev.llmproxy.server.quota;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.completion.RelayedChunk;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.Usage;
import io.grpc.Metadata;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

class CallUsageTest {
  private final CallUsage usage = new CallUsage(100, 10);

  private static Usage usage(int prompt, int completion) {
    return Usage.newBuilder().setPromptTokens(prompt).setCompletionTokens(completion)
        .setTotalTokens(prompt + completion).build();
  }

  private static CompletionChunk chunk(int index) {
    return CompletionChunk.newBuilder().setIndex(index).setText("x").build();
  }

  @Test
  void chargesTheUsageTheLastChunkReportsEvenAboveTheReservation() {
    usage.onMessage(chunk(0));
    usage.onMessage(chunk(1).toBuilder().setUsage(usage(50, 90)).build());
    assertThat(usage.usedTokens(Status.Code.OK)).isEqualTo(140);
    assertThat(usage.refundsRequest(Status.Code.OK)).isFalse();
  }

  @Test
  void chargesTheUsageOfARelayedLastChunk() throws Exception {
    usage.onMessage(RelayedChunk.of(chunk(0).toByteArray()));
    usage.onMessage(RelayedChunk.of(chunk(1).toBuilder().setUsage(usage(50, 90)).build().toByteArray()));
    assertThat(usage.usedTokens(Status.Code.OK)).isEqualTo(140);
  }

  @Test
  void chargesTheUsageOfAUnaryCompletion() {
    usage.onMessage(Completion.newBuilder().setUsage(usage(5, 7)).build());
    assertThat(usage.usedTokens(Status.Code.OK)).isEqualTo(12);
  }

  @Test
  void keepsTheReservationWhenAnOkAnswerReportsNoUsage() {
    usage.onMessage(Completion.newBuilder().setText("no usage").build());
    assertThat(usage.usedTokens(Status.Code.OK)).isEqualTo(100);
  }

  @Test
  void anUpstreamFailureBeforeAnyAnswerCostsNothing() {
    assertThat(usage.usedTokens(Status.Code.UNAVAILABLE)).isZero();
    assertThat(usage.refundsRequest(Status.Code.UNAVAILABLE)).isTrue();
  }

  @Test
  void aClientThatGivesUpBeforeAnyAnswerKeepsItsRequestCountedButPaysNoTokens() {
    assertThat(usage.usedTokens(Status.Code.CANCELLED)).isZero();
    assertThat(usage.refundsRequest(Status.Code.CANCELLED)).isFalse();
    assertThat(usage.refundsRequest(Status.Code.DEADLINE_EXCEEDED)).isFalse();
  }

  @Test
  void aStreamCutShortPaysThePromptAndOneTokenPerChunkRelayed() {
    usage.onMessage(chunk(0));
    usage.onMessage(chunk(1));
    usage.onMessage(chunk(2));
    assertThat(usage.usedTokens(Status.Code.INTERNAL)).isEqualTo(10 + 3);
    assertThat(usage.refundsRequest(Status.Code.INTERNAL)).isFalse();
  }

  @Test
  void anAnswerFromTheCacheCostsARequestButNoTokens() {
    Metadata headers = new Metadata();
    headers.put(CallUsage.CACHE_HEADER, "hit");
    usage.onHeaders(headers);
    usage.onMessage(Completion.newBuilder().setUsage(usage(50, 50)).build());
    assertThat(usage.usedTokens(Status.Code.OK)).isZero();
    assertThat(usage.refundsRequest(Status.Code.OK)).isFalse();
  }

  @Test
  void joiningACallAlreadyInFlightCostsNoTokensEither() {
    Metadata headers = new Metadata();
    headers.put(CallUsage.CACHE_HEADER, "coalesced");
    usage.onHeaders(headers);
    assertThat(usage.usedTokens(Status.Code.OK)).isZero();
  }

  @Test
  void aCacheMissIsChargedLikeAnyOtherCall() {
    Metadata headers = new Metadata();
    headers.put(CallUsage.CACHE_HEADER, "miss");
    usage.onHeaders(headers);
    usage.onMessage(Completion.newBuilder().setUsage(usage(5, 7)).build());
    assertThat(usage.usedTokens(Status.Code.OK)).isEqualTo(12);
  }
}
