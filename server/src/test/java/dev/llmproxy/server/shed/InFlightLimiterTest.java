package dev.llmproxy.server.shed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.config.LoadShedding;
import dev.llmproxy.server.shed.InFlightLimiter.Admission;
import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class InFlightLimiterTest {
  private final ManualScheduler scheduler = new ManualScheduler();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

  private InFlightLimiter limiter(int max, int queue, Duration timeout) {
    return new InFlightLimiter("chat", new LoadShedding(max, queue, timeout), scheduler, meters);
  }

  /** Records what the limiter told it. */
  private static final class Call implements InFlightLimiter.Waiter {
    final List<String> events = new ArrayList<>();
    Status rejectedWith;

    @Override
    public void admitted() {
      events.add("admitted");
    }

    @Override
    public void rejected(Status status) {
      events.add("rejected");
      rejectedWith = status;
    }
  }

  @Test
  void admitsUpToTheCapThenShedsWithoutAQueue() {
    InFlightLimiter limiter = limiter(2, 0, Duration.ZERO);
    assertThat(limiter.enter(new Call())).isEqualTo(Admission.ADMITTED);
    assertThat(limiter.enter(new Call())).isEqualTo(Admission.ADMITTED);
    assertThat(limiter.enter(new Call())).isEqualTo(Admission.REJECTED);
    assertThat(limiter.inFlight()).isEqualTo(2);
    assertThat(meters.get("llmproxy.shed.rejected").tag("reason", "full").counter().count()).isEqualTo(1);

    limiter.release();
    assertThat(limiter.enter(new Call())).isEqualTo(Admission.ADMITTED);
  }

  @Test
  void aCallMovingInFromAnotherRouteTakesAFreeSlotButNeverWaits() {
    InFlightLimiter limiter = limiter(1, 4, Duration.ofSeconds(1));
    assertThat(limiter.tryEnter()).isTrue();
    assertThat(limiter.tryEnter()).isFalse();
    assertThat(limiter.queued()).isZero();

    limiter.release();
    assertThat(limiter.inFlight()).isZero();
    assertThat(limiter.tryEnter()).isTrue();
  }

  @Test
  void theOverloadStatusIsUnavailableNamingTheRouteAndItsLimits() {
    Status status = limiter(64, 8, Duration.ofMillis(500)).overloaded();
    assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(status.getDescription()).contains("route 'chat'").contains("max_in_flight: 64")
        .contains("queue.size: 8");
  }

  @Test
  void aReleasedSlotGoesToTheLongestWaitingCall() {
    InFlightLimiter limiter = limiter(1, 2, Duration.ofSeconds(1));
    limiter.enter(new Call());
    Call first = new Call();
    Call second = new Call();
    assertThat(limiter.enter(first)).isEqualTo(Admission.QUEUED);
    assertThat(limiter.enter(second)).isEqualTo(Admission.QUEUED);
    assertThat(limiter.enter(new Call())).isEqualTo(Admission.REJECTED);

    limiter.release();
    assertThat(first.events).containsExactly("admitted");
    assertThat(second.events).isEmpty();
    assertThat(limiter.inFlight()).isEqualTo(1);
    assertThat(limiter.queued()).isEqualTo(1);

    // A new arrival cannot overtake the call still waiting.
    assertThat(limiter.enter(new Call())).isEqualTo(Admission.QUEUED);
    limiter.release();
    assertThat(second.events).containsExactly("admitted");
  }

  @Test
  void aCallThatWaitsLongerThanTheQueueTimeoutIsRejected() {
    InFlightLimiter limiter = limiter(1, 1, Duration.ofMillis(200));
    limiter.enter(new Call());
    Call waiting = new Call();
    limiter.enter(waiting);

    scheduler.advance(Duration.ofMillis(199));
    assertThat(waiting.events).isEmpty();
    scheduler.advance(Duration.ofMillis(1));
    assertThat(waiting.events).containsExactly("rejected");
    assertThat(waiting.rejectedWith.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(waiting.rejectedWith.getDescription()).contains("route 'chat'").contains("waited 200ms");
    assertThat(limiter.queued()).isZero();
    assertThat(meters.get("llmproxy.shed.rejected").tag("reason", "timeout").counter().count()).isEqualTo(1);

    // Its slot never was its own: the holder's release frees it.
    limiter.release();
    assertThat(limiter.inFlight()).isZero();
  }

  @Test
  void anAdmittedCallsTimerIsCancelled() {
    InFlightLimiter limiter = limiter(1, 1, Duration.ofMillis(200));
    limiter.enter(new Call());
    Call waiting = new Call();
    limiter.enter(waiting);
    limiter.release();
    scheduler.advance(Duration.ofSeconds(1));
    assertThat(waiting.events).containsExactly("admitted");
    assertThat(scheduler.pending()).isZero();
  }

  @Test
  void aCallWhoseClientLeavesTheQueueGetsNoSlot() {
    InFlightLimiter limiter = limiter(1, 2, Duration.ofSeconds(1));
    limiter.enter(new Call());
    Call gone = new Call();
    Call next = new Call();
    limiter.enter(gone);
    limiter.enter(next);

    assertThat(limiter.leave(gone)).isTrue();
    assertThat(limiter.leave(gone)).isFalse();
    limiter.release();
    assertThat(gone.events).isEmpty();
    assertThat(next.events).containsExactly("admitted");
    scheduler.advance(Duration.ofSeconds(2));
    assertThat(gone.events).isEmpty();
  }

  @Test
  void gaugesShowSlotsInUseAndCallsWaiting() {
    InFlightLimiter limiter = limiter(1, 1, Duration.ofSeconds(1));
    limiter.enter(new Call());
    limiter.enter(new Call());
    assertThat(meters.get("llmproxy.shed.in_flight").tag("route", "chat").gauge().value()).isEqualTo(1);
    assertThat(meters.get("llmproxy.shed.queued").tag("route", "chat").gauge().value()).isEqualTo(1);
  }

  @Test
  void aLimiterNeedsACap() {
    assertThatThrownBy(() -> limiter(0, 0, Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("max_in_flight: 0");
  }
}
