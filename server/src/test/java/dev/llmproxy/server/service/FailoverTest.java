package dev.llmproxy.server.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.RetryPolicy;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class FailoverTest {
  private static final RetryPolicy RETRY = new RetryPolicy(3, EnumSet.of(Status.Code.UNAVAILABLE));
  private static final SocketAddress A = InetSocketAddress.createUnresolved("a", 1);
  private static final SocketAddress B = InetSocketAddress.createUnresolved("b", 1);

  private static Failover.AttemptEnd refused(SocketAddress upstream) {
    return new Failover.AttemptEnd(Status.Code.UNAVAILABLE, 0, false, false, upstream);
  }

  @Test
  void aRetryableFailureBeforeTheFirstMessageFailsOver() {
    assertThat(Failover.failsOver(refused(A), RETRY, true, 1, List.of())).isTrue();
  }

  @Test
  void nothingFailsOverOnceAMessageReachedTheClient() {
    var end = new Failover.AttemptEnd(Status.Code.UNAVAILABLE, 1, false, false, A);
    assertThat(Failover.failsOver(end, RETRY, true, 1, List.of())).isFalse();
  }

  @Test
  void aStallFailsOverWhateverItsCode() {
    var end = new Failover.AttemptEnd(Status.Code.CANCELLED, 0, true, false, A);
    assertThat(Failover.failsOver(end, RETRY, true, 1, List.of())).isTrue();
  }

  @Test
  void codesThePolicyDoesNotListAndAGoneClientDoNotFailOver() {
    var internal = new Failover.AttemptEnd(Status.Code.INTERNAL, 0, false, false, A);
    var gone = new Failover.AttemptEnd(Status.Code.UNAVAILABLE, 0, false, true, A);
    assertThat(Failover.failsOver(internal, RETRY, true, 1, List.of())).isFalse();
    assertThat(Failover.failsOver(gone, RETRY, true, 1, List.of())).isFalse();
  }

  @Test
  void attemptsAreCappedByThePolicy() {
    assertThat(Failover.failsOver(refused(B), RETRY, true, 2, List.of(A))).isTrue();
    assertThat(Failover.failsOver(refused(B), RETRY, true, 3, List.of(A))).isFalse();
  }

  @Test
  void failoverNeedsAnotherUpstream() {
    assertThat(Failover.failsOver(refused(A), RETRY, false, 1, List.of())).isFalse();
    assertThat(Failover.failsOver(refused(A), RETRY, true, 2, List.of(A))).isFalse();
    assertThat(Failover.failsOver(refused(null), RETRY, true, 2, List.of(A))).isTrue();
  }
}
