package dev.llmproxy.server.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.shed.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The stall clock on a manual scheduler: time moves only when the test says so. */
class StallWatchdogTest {
  private static final long FIRST = Duration.ofSeconds(5).toNanos();
  private static final long BETWEEN = Duration.ofSeconds(1).toNanos();

  private final ManualScheduler scheduler = new ManualScheduler();
  private final List<Boolean> stalls = new ArrayList<>();

  private StallWatchdog watchdog(long first, long between, boolean singleMessage) {
    return new StallWatchdog(scheduler::nanoTime, scheduler, first, between, singleMessage, stalls::add);
  }

  @Test
  void noFirstMessageWithinTheFirstLimitIsAStallBeforeTheFirstMessage() {
    StallWatchdog w = watchdog(FIRST, BETWEEN, false);
    w.awaiting();
    w.start();
    scheduler.advance(Duration.ofMillis(4_999));
    assertThat(stalls).isEmpty();
    scheduler.advance(Duration.ofMillis(1));
    assertThat(stalls).containsExactly(true);
    assertThat(scheduler.pending()).isZero();
  }

  @Test
  void aGapLongerThanTheBetweenLimitAfterTheFirstMessageIsAStall() {
    StallWatchdog w = watchdog(FIRST, BETWEEN, false);
    w.awaiting();
    w.start();
    scheduler.advance(Duration.ofMillis(300));
    w.received(false);
    w.awaiting();
    scheduler.advance(Duration.ofMillis(999));
    assertThat(stalls).isEmpty();
    scheduler.advance(Duration.ofMillis(1));
    assertThat(stalls).containsExactly(false);
  }

  @Test
  void steadyMessagesNeverStallAndCostNoTimerEach() {
    StallWatchdog w = watchdog(FIRST, BETWEEN, false);
    w.awaiting();
    w.start();
    for (int i = 0; i < 100; i++) {
      scheduler.advance(Duration.ofMillis(900));
      w.received(false);
      w.awaiting();
      assertThat(scheduler.pending()).isEqualTo(1);
    }
    assertThat(stalls).isEmpty();
  }

  @Test
  void aClientThatReadsSlowlyNeverMakesItsUpstreamLookStalled() {
    StallWatchdog w = watchdog(FIRST, BETWEEN, false);
    w.awaiting();
    w.start();
    scheduler.advance(Duration.ofMillis(100));
    w.received(false); // nothing asked for until the client reads again
    scheduler.advance(Duration.ofMinutes(10));
    assertThat(stalls).isEmpty();
    w.awaiting();
    scheduler.advance(Duration.ofMillis(1_000));
    assertThat(stalls).containsExactly(false);
  }

  @Test
  void messagesAskedForInAdvanceRestartTheClockWhenOneComes() {
    StallWatchdog w = watchdog(FIRST, BETWEEN, false);
    w.awaiting();
    w.start();
    scheduler.advance(Duration.ofMillis(800));
    w.received(true);
    scheduler.advance(Duration.ofMillis(800));
    w.received(true);
    scheduler.advance(Duration.ofMillis(999));
    assertThat(stalls).isEmpty();
    scheduler.advance(Duration.ofMillis(1));
    assertThat(stalls).containsExactly(false);
  }

  @Test
  void aSingleMessageCallHasOnlyTheFirstLimit() {
    StallWatchdog w = watchdog(FIRST, BETWEEN, true);
    w.awaiting();
    w.start();
    scheduler.advance(Duration.ofMillis(4_999));
    assertThat(stalls).isEmpty();
    scheduler.advance(Duration.ofMillis(1));
    assertThat(stalls).containsExactly(true);
  }

  @Test
  void withoutAFirstLimitTheBetweenLimitStillAppliesOnceTheFirstMessageCame() {
    StallWatchdog w = watchdog(0, BETWEEN, false);
    w.awaiting();
    w.start();
    scheduler.advance(Duration.ofMinutes(5));
    assertThat(stalls).isEmpty();
    w.received(false);
    w.awaiting();
    scheduler.advance(Duration.ofMillis(2_000));
    assertThat(stalls).containsExactly(false);
  }

  @Test
  void noLimitsMeansNoTimer() {
    StallWatchdog w = watchdog(0, 0, false);
    w.awaiting();
    w.start();
    assertThat(scheduler.pending()).isZero();
  }

  @Test
  void aStoppedWatchdogNeverReportsAndLeavesNoTimer() {
    StallWatchdog w = watchdog(FIRST, BETWEEN, false);
    w.awaiting();
    w.start();
    w.stop();
    scheduler.advance(Duration.ofMinutes(1));
    assertThat(stalls).isEmpty();
    assertThat(scheduler.pending()).isZero();
  }
}
