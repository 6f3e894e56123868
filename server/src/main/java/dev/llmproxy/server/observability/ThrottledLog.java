package dev.llmproxy.server.observability;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Logs a recurring problem at most once per interval, with how often it happened meanwhile, so an
 * outage that touches every call writes a line every few seconds, not one per call.
 */
public final class ThrottledLog {
  private final Logger logger;
  private final long intervalNanos;
  private final LongSupplier nanoTime;
  private final AtomicLong nextNanos;
  private final AtomicLong suppressed = new AtomicLong();

  public ThrottledLog(Logger logger, Duration interval, LongSupplier nanoTime) {
    this.logger = logger;
    this.intervalNanos = interval.toNanos();
    this.nanoTime = nanoTime;
    this.nextNanos = new AtomicLong(nanoTime.getAsLong());
  }

  /** Logs {@code message} unless a line was logged within the interval; returns whether it logged. */
  public boolean warn(String message) {
    long now = nanoTime.getAsLong();
    long next = nextNanos.get();
    if (now - next < 0 || !nextNanos.compareAndSet(next, now + intervalNanos)) {
      suppressed.incrementAndGet();
      return false;
    }
    long more = suppressed.getAndSet(0);
    logger.log(Level.WARNING, more == 0 ? message : message + " (and " + more + " more since the last report)");
    return true;
  }
}
