package dev.llmproxy.server.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class RouteFallbackTest {
  private static Failover.AttemptEnd end(Status.Code code, int relayed, boolean stalled, boolean clientGone) {
    return new Failover.AttemptEnd(code, relayed, stalled, clientGone, InetSocketAddress.createUnresolved("a", 1));
  }

  @Test
  void aPoolThatIsDownBusyOrStalledBeforeTheFirstChunkFallsBack() {
    assertThat(RouteFallback.fallsBack(end(Status.Code.UNAVAILABLE, 0, false, false))).isTrue();
    assertThat(RouteFallback.fallsBack(end(Status.Code.RESOURCE_EXHAUSTED, 0, false, false))).isTrue();
    assertThat(RouteFallback.fallsBack(end(Status.Code.CANCELLED, 0, true, false))).isTrue();
  }

  @Test
  void nothingFallsBackAfterTheFirstChunkOrForAGoneClient() {
    assertThat(RouteFallback.fallsBack(end(Status.Code.UNAVAILABLE, 1, false, false))).isFalse();
    assertThat(RouteFallback.fallsBack(end(Status.Code.UNAVAILABLE, 0, false, true))).isFalse();
  }

  @Test
  void anAnswerAboutTheRequestIsPassedOnNotRetriedElsewhere() {
    assertThat(RouteFallback.fallsBack(end(Status.Code.INVALID_ARGUMENT, 0, false, false))).isFalse();
    assertThat(RouteFallback.fallsBack(end(Status.Code.OK, 0, false, false))).isFalse();
    assertThat(RouteFallback.fallsBack(end(Status.Code.DEADLINE_EXCEEDED, 0, false, false))).isFalse();
  }
}
