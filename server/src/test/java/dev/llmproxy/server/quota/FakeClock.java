package dev.llmproxy.server.quota;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/** A clock that moves only when told to, so bucket arithmetic is tested without sleeping. */
public final class FakeClock implements java.time.InstantSource {
  private final AtomicLong millis;

  public FakeClock() {
    this(1_800_000_000_000L);
  }

  public FakeClock(long startMillis) {
    this.millis = new AtomicLong(startMillis);
  }

  public void advance(Duration by) {
    millis.addAndGet(by.toMillis());
  }

  @Override
  public long millis() {
    return millis.get();
  }

  @Override
  public Instant instant() {
    return Instant.ofEpochMilli(millis.get());
  }
}
