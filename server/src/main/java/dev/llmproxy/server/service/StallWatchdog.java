package dev.llmproxy.server.service;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Tells when one upstream call has stalled: the message the relay asked the upstream for did not
 * come within {@code firstLimitNanos} (the first message) or {@code betweenLimitNanos} (any later
 * one). A limit of 0 means none.
 *
 * <p>The clock runs only while a request to the upstream is outstanding ({@link #awaiting}), so a
 * client that reads slowly never makes its upstream look stalled. One timer per call, re-armed
 * lazily: a message costs a clock read and two volatile writes, never a timer. The timer, when it
 * fires, either finds a stall or sets itself for the earliest moment one could be. Before the
 * first message it also runs at least every {@code betweenLimitNanos}, so that once the first
 * message has come the pending check is never later than the earliest moment a between-messages
 * stall could be due.
 *
 * <p>Threads: {@link #awaiting} and {@link #received} come from the relay's event thread, the
 * check from the scheduler's, {@link #stop} from either.
 */
final class StallWatchdog implements Runnable {
  /** What to do about a stall; runs once, on the scheduler's thread. */
  @FunctionalInterface
  interface Stalled {
    void stalled(boolean beforeFirstMessage);
  }

  private final LongSupplier nanoTime;
  private final ScheduledExecutorService scheduler;
  private final long firstLimitNanos;
  private final long betweenLimitNanos;
  private final boolean singleMessage;
  private final Stalled onStall;

  private volatile boolean awaiting;
  private volatile long awaitingSince;
  private volatile boolean gotFirst;
  private volatile boolean stopped;
  private volatile ScheduledFuture<?> timer;

  /**
   * @param singleMessage the call answers with one message ({@code Complete}): only the first
   *     limit applies
   */
  StallWatchdog(LongSupplier nanoTime, ScheduledExecutorService scheduler, long firstLimitNanos,
      long betweenLimitNanos, boolean singleMessage, Stalled onStall) {
    this.nanoTime = nanoTime;
    this.scheduler = scheduler;
    this.firstLimitNanos = firstLimitNanos;
    this.betweenLimitNanos = singleMessage ? 0 : betweenLimitNanos;
    this.singleMessage = singleMessage;
    this.onStall = onStall;
  }

  /** Starts watching; call once, after the first request to the upstream. */
  void start() {
    long period = earliest(firstLimitNanos, betweenLimitNanos);
    if (period > 0) {
      schedule(period);
    }
  }

  /** The relay asked the upstream for a message: the clock runs from now. */
  void awaiting() {
    awaitingSince = nanoTime.getAsLong();
    awaiting = true;
  }

  /**
   * A message came. {@code stillAwaiting}: more were asked for, so the clock restarts now rather
   * than stopping until the next request.
   */
  void received(boolean stillAwaiting) {
    gotFirst = true;
    if (stillAwaiting) {
      awaitingSince = nanoTime.getAsLong();
    } else {
      awaiting = false;
    }
  }

  /** Stops watching: the call is over. */
  void stop() {
    stopped = true;
    ScheduledFuture<?> t = timer;
    if (t != null) {
      t.cancel(false);
    }
  }

  @Override
  public void run() {
    if (stopped) {
      return;
    }
    boolean first = !gotFirst;
    long limit = first ? firstLimitNanos : betweenLimitNanos;
    long recheck = first && !singleMessage ? betweenLimitNanos : 0;
    if (limit == 0) {
      if (recheck > 0) {
        schedule(recheck); // no first-message limit: look again for the between-messages one
      }
      return;
    }
    if (!awaiting) {
      schedule(earliest(limit, recheck)); // waiting for the client to read, not for the upstream
      return;
    }
    long waited = nanoTime.getAsLong() - awaitingSince;
    if (waited < limit) {
      schedule(earliest(limit - waited, recheck));
      return;
    }
    stopped = true;
    onStall.stalled(first);
  }

  private void schedule(long delayNanos) {
    try {
      timer = scheduler.schedule(this, delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // Shutting down: the call is being cancelled anyway.
    }
  }

  /** The smaller of two limits, where 0 means none. */
  static long earliest(long a, long b) {
    return a == 0 ? b : b == 0 ? a : Math.min(a, b);
  }
}
