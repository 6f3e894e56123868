package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.OutlierDetection;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ConsecutiveFailureOutlierDetectorTest {
  private static final SocketAddress A = new InetSocketAddress("127.0.0.1", 7001);
  private static final SocketAddress B = new InetSocketAddress("127.0.0.1", 7002);
  private static final SocketAddress C = new InetSocketAddress("127.0.0.1", 7003);
  private static final OutlierDetection CONFIG = new OutlierDetection(3, Duration.ofSeconds(10),
      Duration.ofSeconds(60), 50, Duration.ofSeconds(1));

  private final AtomicLong now = new AtomicLong(-5_000_000_000L); // nanoTime may be negative
  private ConsecutiveFailureOutlierDetector detector;

  @BeforeEach
  void create() {
    detector = new ConsecutiveFailureOutlierDetector(CONFIG, now::get);
    // Three upstreams known to the route.
    for (SocketAddress address : new SocketAddress[] {A, B, C}) {
      detector.record(address, UpstreamOutcome.SUCCESS);
    }
  }

  private void advance(Duration d) {
    now.addAndGet(d.toNanos());
  }

  private void record(SocketAddress address, UpstreamOutcome outcome, int times) {
    for (int i = 0; i < times; i++) {
      detector.record(address, outcome);
    }
  }

  @Test
  void ejectsAnUpstreamAfterConsecutiveFaults() {
    record(A, UpstreamOutcome.FAULT, 2);
    assertThat(detector.avoids(A)).isFalse();
    record(A, UpstreamOutcome.FAULT, 1);
    assertThat(detector.avoids(A)).isTrue();
    assertThat(detector.isEjected(A)).isTrue();
    assertThat(detector.ejectedCount()).isEqualTo(1);
    assertThat(detector.ejections()).isEqualTo(1);
    assertThat(detector.avoids(B)).isFalse();
  }

  @Test
  void aSuccessResetsTheRunOfFaults() {
    record(A, UpstreamOutcome.FAULT, 2);
    record(A, UpstreamOutcome.SUCCESS, 1);
    record(A, UpstreamOutcome.FAULT, 2);
    assertThat(detector.avoids(A)).isFalse();
  }

  @Test
  void clientCancelsAndRequestErrorsNeverEject() {
    record(A, UpstreamOutcome.NOT_COUNTED, 100);
    assertThat(detector.avoids(A)).isFalse();
    assertThat(detector.ejections()).isZero();
    // Nor do they break a run of faults: they say nothing either way.
    record(A, UpstreamOutcome.FAULT, 2);
    record(A, UpstreamOutcome.NOT_COUNTED, 5);
    record(A, UpstreamOutcome.FAULT, 1);
    assertThat(detector.isEjected(A)).isTrue();
  }

  @Test
  void aBusyUpstreamIsAvoidedBrieflyButNeverEjected() {
    record(A, UpstreamOutcome.BUSY, 50);
    assertThat(detector.avoids(A)).isTrue();
    assertThat(detector.isEjected(A)).isFalse();
    assertThat(detector.ejections()).isZero();
    advance(Duration.ofMillis(999));
    assertThat(detector.avoids(A)).isTrue();
    advance(Duration.ofMillis(1));
    assertThat(detector.avoids(A)).isFalse();
  }

  @Test
  void anEjectedUpstreamReturnsAfterItsEjectionTime() {
    record(A, UpstreamOutcome.FAULT, 3);
    advance(Duration.ofSeconds(9));
    assertThat(detector.avoids(A)).isTrue();
    advance(Duration.ofSeconds(1));
    assertThat(detector.avoids(A)).isFalse();
    assertThat(detector.ejectedCount()).isZero();
  }

  @Test
  void faultsOfCallsStillInFlightDuringAnEjectionDoNotExtendIt() {
    record(A, UpstreamOutcome.FAULT, 3);
    advance(Duration.ofSeconds(5));
    record(A, UpstreamOutcome.FAULT, 10);
    advance(Duration.ofSeconds(5));
    assertThat(detector.avoids(A)).isFalse();
    assertThat(detector.ejections()).isEqualTo(1);
  }

  @Test
  void ejectionTimeDoublesForAnUpstreamThatFailsAgainSoonUpToTheMaximum() {
    long[] expectedSeconds = {10, 20, 40, 60, 60};
    for (long seconds : expectedSeconds) {
      record(B, UpstreamOutcome.SUCCESS, 1); // the others keep serving, so they count for the limit
      record(C, UpstreamOutcome.SUCCESS, 1);
      record(A, UpstreamOutcome.FAULT, 3);
      advance(Duration.ofSeconds(seconds).minusMillis(1));
      assertThat(detector.avoids(A)).as("ejected for %d s", seconds).isTrue();
      advance(Duration.ofMillis(1));
      assertThat(detector.avoids(A)).as("back after %d s", seconds).isFalse();
    }
  }

  @Test
  void anUpstreamHealthyForLongStartsOverAtTheBaseEjectionTime() {
    record(A, UpstreamOutcome.FAULT, 3);
    advance(Duration.ofSeconds(10));
    record(A, UpstreamOutcome.FAULT, 3); // again soon: 20 s
    advance(Duration.ofSeconds(20));
    advance(Duration.ofSeconds(61)); // healthy for longer than max_ejection_time
    record(B, UpstreamOutcome.SUCCESS, 1);
    record(C, UpstreamOutcome.SUCCESS, 1);
    record(A, UpstreamOutcome.FAULT, 3);
    assertThat(detector.isEjected(A)).isTrue();
    advance(Duration.ofSeconds(10));
    assertThat(detector.avoids(A)).isFalse();
  }

  @Test
  void neverEjectsMoreThanTheMaximumShareOfUpstreams() {
    record(A, UpstreamOutcome.FAULT, 3);
    record(B, UpstreamOutcome.FAULT, 3); // 50% of 3: one at a time
    assertThat(detector.isEjected(A)).isTrue();
    assertThat(detector.isEjected(B)).isFalse();
    assertThat(detector.ejectedCount()).isEqualTo(1);
    // When A returns, B's run of faults goes on and the next one ejects it.
    advance(Duration.ofSeconds(10));
    record(B, UpstreamOutcome.FAULT, 1);
    assertThat(detector.isEjected(B)).isTrue();
  }

  @Test
  void upstreamsSilentForLongerThanTheMaximumEjectionTimeNoLongerCountForTheLimit() {
    advance(Duration.ofSeconds(61));
    record(A, UpstreamOutcome.FAULT, 3); // B and C may have left the fleet: A is all we know
    assertThat(detector.isEjected(A)).isFalse();
  }

  @Test
  void neverEjectsTheOnlyUpstream() {
    ConsecutiveFailureOutlierDetector single = new ConsecutiveFailureOutlierDetector(CONFIG, now::get);
    for (int i = 0; i < 10; i++) {
      single.record(A, UpstreamOutcome.FAULT);
    }
    assertThat(single.avoids(A)).isFalse();
  }

  @Test
  void zeroConsecutiveFailuresTurnsEjectionOffButKeepsBusyAvoidance() {
    ConsecutiveFailureOutlierDetector off = new ConsecutiveFailureOutlierDetector(
        new OutlierDetection(0, Duration.ofSeconds(10), Duration.ofSeconds(60), 50, Duration.ofSeconds(1)), now::get);
    off.record(B, UpstreamOutcome.SUCCESS);
    for (int i = 0; i < 10; i++) {
      off.record(A, UpstreamOutcome.FAULT);
    }
    assertThat(off.avoids(A)).isFalse();
    off.record(A, UpstreamOutcome.BUSY);
    assertThat(off.avoids(A)).isTrue();
  }

  @Test
  void anUnknownAddressIsIgnored() {
    detector.record(null, UpstreamOutcome.FAULT);
    assertThat(detector.ejections()).isZero();
  }
}
